"""Charts and tables from bench/results/bench.json.

    python -m bench.chart [--results bench/results/bench.json] [--png bench/results/bench.png] [--markdown]

The chart shows posts/s and peak RSS against N for the archiver and the baseline (and the
sequential script), one line per (tool, delay, workers); ``--markdown`` prints the table of
every run for the README.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
LABELS = {
    "archiver": "archiver",
    "baseline": "minimal Scrapy",
    "baseline_tuned": "minimal Scrapy, CONCURRENT_ITEMS=1",
    "sequential": "sequential requests+lxml",
}
STYLE = {"archiver": ("tab:blue", "o"), "baseline": ("tab:orange", "s"), "sequential": ("tab:gray", "^")}


def load(path: Path) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["runs"]
    return runs


def _series(runs: list[dict[str, Any]]) -> dict[tuple[str, float, int | None], list[dict[str, Any]]]:
    # One point per series and N, the newest: a one-process crawl is either an entry of its own
    # (--workers 1) or the "single" run beside a --workers run.
    latest: dict[tuple[str, float, int | None], dict[int, dict[str, Any]]] = {}
    for run in sorted(runs, key=lambda r: str(r.get("date", ""))):
        for tool in ("archiver", "single", "baseline", "sequential"):
            if tool in run["tools"] and run["tools"][tool].get("posts_per_s"):
                workers = None if tool == "single" else run["workers"] if tool == "archiver" else None
                key = ("archiver" if tool == "single" else tool, run["delay"], workers)
                latest.setdefault(key, {})[run["n"]] = {"n": run["n"], **run["tools"][tool]}
    return {key: list(points.values()) for key, points in latest.items()}


def draw(results: Path, png: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = _series([r for r in load(results) if r["delay"] == 0])
    fig, (rate_ax, rss_ax) = plt.subplots(1, 2, figsize=(10, 4), dpi=90)
    all_ns: set[int] = set()
    for (tool, _delay, workers), points in sorted(series.items(), key=lambda kv: str(kv[0])):
        points.sort(key=lambda p: p["n"])
        color, marker = STYLE[tool]
        label = LABELS[tool] + (
            f" (--workers {workers})" if workers else (", one process" if tool == "archiver" else "")
        )
        style = {
            "marker": marker,
            "color": color,
            "label": label,
            "linestyle": "--" if tool == "archiver" and not workers else "-",
        }
        ns = [p["n"] for p in points]
        rate_ax.plot(ns, [p["posts_per_s"] for p in points], **style)
        if tool != "sequential":
            rss_ax.plot(ns, [p["peak_rss_mb"] for p in points], **style)
        all_ns.update(ns)
    for ax, title, unit in ((rate_ax, "Full crawl throughput", "posts/s"), (rss_ax, "Peak RSS", "MB")):
        ax.set_xscale("log")
        ax.set_xticks(sorted(all_ns), [f"{n:,}" for n in sorted(all_ns)])
        ax.minorticks_off()
        ax.set_xlabel("posts in the site (N)")
        ax.set_ylabel(unit)
        ax.set_title(title + " (loopback, nginx)")
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png)
    plt.close(fig)
    return png


def markdown(runs: list[dict[str, Any]]) -> str:
    lines = [
        "| N | delay | tool | wall s | posts/s | CPU s | ms CPU/post | peak RSS MB |",
        "|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        delay = f"{run['delay'] * 1000:.0f} ms" if run["delay"] else "—"
        for tool, row in run["tools"].items():
            name = {"rerun": "archiver re-run (one process)"}.get(tool, LABELS.get(tool, tool))
            if tool == "archiver":
                name += f" (--workers {run['workers']})" if run.get("workers") else " (one process)"
            rate = "—" if row["posts_per_s"] is None else f"{row['posts_per_s']:.0f}"
            per = "—" if row["cpu_ms_per_post"] is None else f"{row['cpu_ms_per_post']:.2f}"
            lines.append(
                f"| {run['n']:,} | {delay} | {name} | {row['wall_s']:.1f} | {rate} | {row['cpu_s']:.1f} | {per} "
                f"| {row['peak_rss_mb']:.0f} |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.chart", description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--results", type=Path, default=RESULTS / "bench.json")
    ap.add_argument("--png", type=Path, default=RESULTS / "bench.png")
    ap.add_argument("--markdown", action="store_true", help="print the table of every run as Markdown")
    args = ap.parse_args(argv)
    if args.markdown:
        print(markdown(load(args.results)))
        return 0
    print(draw(args.results, args.png))
    return 0


if __name__ == "__main__":
    sys.exit(main())

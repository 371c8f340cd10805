"""Crawl benchmarks: the archiver against a minimal Scrapy spider and the seed's sequential script.

    python -m bench --n 3000 [--n 10000] [--delay 0.05] [--workers 2] [--tools archiver,rerun,baseline,sequential]

For each N: generate (or reuse) a synthetic site of N posts, serve it on 127.0.0.1 with proxy
semantics (nginx when installed, else archiver.siteserver; ``--delay`` seconds per answer), then
run, one after the other, each in a fresh process measured from outside (bench/measure.py):

1. ``archiver``   -- ``archiver crawl finews --concurrency 16 [--workers N]`` into an empty folder, as a
                     user runs a backfill;
2. ``rerun``      -- ``archiver crawl finews`` again over the unchanged site, as cron runs it (one
                     process unless ``--rerun-workers``); files written are counted;
3. ``single``     -- the backfill of 1. in one process (no ``--workers``), into another empty folder;
4. ``baseline``   -- bench/baseline_spider.py, a minimal Scrapy CrawlSpider;
5. ``sequential`` -- bench/sequential.py, one thread of requests + lxml.

Prints a table, merges the results into bench/results/bench.json (one entry per N, delay and
workers) and redraws bench/results/bench.png. Output folders get fresh names and are deleted
only after every run of the invocation: creating many files right after deleting many is
several times slower on some disks, and would be timed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import measure
from bench.serve import Server, crawl_env, serve
from bench.site import REPO, START_URL, ensure_site
from bench.targets import ratios, targets

RESULTS = REPO / "bench" / "results"
TOOLS = ("archiver", "rerun", "single", "baseline", "sequential")
# Not run unless named: the baseline with CONCURRENT_ITEMS=1, the one setting that spares Scrapy
# most of its per-callback task handling (the archiver has it), to show what it alone is worth.
EXTRA_TOOLS = ("baseline_tuned",)


@functools.lru_cache(maxsize=1)
def archiver_options() -> str:
    """``archiver crawl --help``: which options this checkout's CLI has (``--workers`` comes later)."""
    result = subprocess.run(
        [sys.executable, "-m", "archiver", "crawl", "--help"], capture_output=True, text=True, cwd=REPO, check=False
    )
    return result.stdout


def command(tool: str, out: Path, log: Path, args: argparse.Namespace) -> list[str]:
    if tool in ("archiver", "rerun", "single"):
        cmd = [
            sys.executable, "-m", "archiver", "crawl", "finews", "--start-url", START_URL, "--output", str(out),
            "--concurrency", str(args.concurrency), "--log-file", str(log),
        ]  # fmt: skip
        # The backfill scales out; the re-run is what cron runs every few minutes, one process
        # (worker start-up and the shared queue's idle timeout cost seconds a re-run need not pay).
        workers = args.workers if tool == "archiver" or (tool == "rerun" and args.rerun_workers) else None
        if workers and workers > 1 and "--workers" in archiver_options():
            cmd += ["--workers", str(workers)]
        return cmd
    if tool in ("baseline", "baseline_tuned"):
        cmd = [
            sys.executable, "-m", "bench.baseline_spider", "--start-url", START_URL, "--output", str(out),
            "--concurrency", str(args.concurrency), "--log-file", str(log),
        ]  # fmt: skip
        return cmd + (["-s", "CONCURRENT_ITEMS=1"] if tool == "baseline_tuned" else [])
    if tool == "sequential":
        return [sys.executable, "-m", "bench.sequential", "--start-url", START_URL, "--output", str(out)]
    raise ValueError(tool)


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every file under ``root``: (inode, mtime_ns, size); an atomic rewrite changes the inode."""
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            st = os.stat(path)
            files[os.path.relpath(path, root)] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return files


def count_posts(tool: str, out: Path) -> int:
    if tool in ("archiver", "rerun", "single"):
        return sum(
            1 for folder in ("_posts", "old_post") if (out / folder).is_dir() for _ in (out / folder).glob("*.md")
        )
    return sum(1 for _ in out.glob("*.txt"))


def pages_fetched(tool: str, text: str) -> int | None:
    pattern = {
        "archiver": r"pages: (\d+) fetched",
        "single": r"pages: (\d+) fetched",
        "rerun": r"pages: (\d+) fetched",
        "baseline": r"baseline: (\d+) pages",
        "baseline_tuned": r"baseline: (\d+) pages",
        "sequential": r"sequential: (\d+) pages",
    }[tool]
    match = re.search(pattern, text)
    return int(match.group(1)) if match else None


def system_busy_seconds() -> float:
    """CPU seconds every process of the machine has used (to see whether a run had company)."""
    with open("/proc/stat") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def warm_page_cache(root: Path) -> None:
    for folder, _, names in os.walk(root):
        for name in names:
            with open(os.path.join(folder, name), "rb") as handle:
                while handle.read(1 << 20):
                    pass


def run_tool(tool: str, out: Path, logs: Path, args: argparse.Namespace, server: Server, n: int) -> dict[str, Any]:
    log = logs / f"{tool}.log"
    stdout = logs / f"{tool}.out"
    before = snapshot(out) if tool == "rerun" else {}
    os.sync()  # the previous run's dirty pages are written now, not during this run
    time.sleep(args.settle)
    load = os.getloadavg()[0]
    busy, served = system_busy_seconds(), server.cpu_seconds()
    cmd = command(tool, out, log, args)
    m = measure.run(cmd, env=crawl_env(server.proxy_url), cwd=REPO, stdout=stdout, timeout=args.timeout)
    server_cpu = server.cpu_seconds() - served
    others = system_busy_seconds() - busy - m.cpu_s - server_cpu
    text = stdout.read_text(errors="replace")
    posts = count_posts(tool, out)
    row: dict[str, Any] = {
        **m.as_dict(),
        "posts": posts,
        "pages": pages_fetched(tool, text),
        "posts_per_s": round(posts / m.wall_s, 1) if tool != "rerun" else None,
        "cpu_ms_per_post": round(1000 * m.cpu_s / posts, 2) if posts and tool != "rerun" else None,
        "loadavg_before": round(load, 2),
        "server_cpu_s": round(server_cpu, 2),
        # CPU used meanwhile by other processes of the machine: a busy machine slows a run down.
        "others_cpu_s": round(others, 2),
        "command": " ".join(cmd).replace(str(REPO) + "/", ""),
    }
    if tool == "rerun":
        after = snapshot(out)
        changed = sorted(p for p, st in after.items() if before.get(p) != st)
        row["files_written"] = len(changed)
        row["archive_files_written"] = sum(
            1 for p in changed if p.split(os.sep)[0] in ("_posts", "old_post", "category")
        )
        row["files_written_sample"] = changed[:5]
    if m.returncode != 0:
        row["error"] = text[-1500:]
    summary_line = next((line for line in text.splitlines() if line.startswith("posts:")), "")
    if summary_line:
        row["summary"] = summary_line
    workers_line = next((line for line in text.splitlines() if line.startswith("workers:")), "")
    if workers_line:
        row["workers"] = workers_line
    if tool in ("archiver", "rerun", "single") or posts != n:
        row["expected_posts"] = n
    return row


def table(entry: dict[str, Any]) -> str:
    head = f"N={entry['n']}  delay={entry['delay']}s  server={entry['server']}  workers={entry['workers']}"
    lines = [
        head,
        f"{'':12}{'wall s':>9}{'posts':>8}{'posts/s':>9}{'pages':>8}{'CPU s':>8}{'ms CPU/post':>12}{'peak RSS MB':>12}",
    ]
    for tool, row in entry["tools"].items():
        rate = "" if row["posts_per_s"] is None else f"{row['posts_per_s']:.1f}"
        per = "" if row["cpu_ms_per_post"] is None else f"{row['cpu_ms_per_post']:.2f}"
        lines.append(
            f"{tool:12}{row['wall_s']:9.2f}{row['posts']:8d}{rate:>9}{row['pages'] or '':>8}{row['cpu_s']:8.2f}"
            f"{per:>12}{row['peak_rss_mb']:12.1f}"
        )
    lines += [f"  {k}: {v}" for k, v in entry["ratios"].items()]
    lines += [f"  [{'ok' if v else 'MISSED'}] {k}" for k, v in entry["targets"].items()]
    return "\n".join(lines)


def merge_results(path: Path, entries: list[dict[str, Any]]) -> None:
    """Merge ``entries`` into the results file: one entry per N, delay and ``--workers``.

    A run that measured fewer tools than the entry it would replace is not merged (it is printed
    only): a re-run-only check must not erase the baseline and sequential runs of the same N.
    """
    data: dict[str, Any] = {"runs": []}
    if path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))

    def key(entry: dict[str, Any]) -> tuple[Any, ...]:
        return entry["n"], entry["delay"], entry["workers"]

    old_runs = {key(old): old for old in data.get("runs", [])}
    for entry in list(entries):
        old = old_runs.get(key(entry))
        if old is not None and not set(old["tools"]) <= set(entry["tools"]):
            missing = sorted(set(old["tools"]) - set(entry["tools"]))
            print(f"not merged into {path}: its N={entry['n']} entry also has {', '.join(missing)}")
            entries.remove(entry)
    keep = [old for old in data.get("runs", []) if not any(key(old) == key(e) for e in entries)]
    data["runs"] = sorted(keep + entries, key=lambda e: (e["delay"], e["workers"] or 0, e["n"]))
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def source_hash() -> str:
    """A hash of the code under test (archiver/, spiders/, pipelines/): results name what they measured."""
    digest = hashlib.sha1()
    for folder in ("archiver", "spiders", "pipelines"):
        for path in sorted((REPO / folder).glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def git_head() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO, check=False
    )
    return result.stdout.strip()


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "scrapy": _version("scrapy"),
    }


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def bench_one(n: int, args: argparse.Namespace, run_dir: Path) -> dict[str, Any]:
    root, site_info = ensure_site(args.workdir, n, args.seed)
    warm_page_cache(root)
    workers = args.workers if (args.workers and args.workers > 1 and "--workers" in archiver_options()) else None
    entry: dict[str, Any] = {
        "n": n,
        "delay": args.delay,
        "workers": workers,
        "workers_requested": args.workers,
        "rerun_workers": args.rerun_workers,
        "concurrency": args.concurrency,
        "repeat": args.repeat,
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "git_head": git_head(),
        "source_hash": source_hash(),
        "site": site_info,
        "machine": machine(),
        "tools": {},
    }
    with serve(root, args.server, args.delay) as server:
        entry["server"] = server.kind
        for round_ in range(1, args.repeat + 1):
            tag = f"n{n}-r{round_}"
            logs = run_dir / f"{tag}-logs"
            logs.mkdir(parents=True, exist_ok=True)
            for tool in args.tools:
                out = run_dir / f"{tag}-{'archiver' if tool == 'rerun' else tool}"
                print(f"  N={n} round {round_}/{args.repeat}: {tool} ...", file=sys.stderr, flush=True)
                row = run_tool(tool, out, logs, args, server, n)
                best = entry["tools"].get(tool)
                walls = [*(best["walls_s"] if best else []), row["wall_s"]]
                # Best of the rounds: the machine is shared, and interference only ever slows a run down.
                if best is None or row["wall_s"] < best["wall_s"]:
                    best = row
                best["walls_s"] = walls
                entry["tools"][tool] = best
    entry["ratios"] = ratios(entry["tools"])
    entry["targets"] = targets(n, args.delay, entry["tools"], entry["ratios"])
    return entry


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--n", type=int, action="append", help="posts in the site (repeatable; default 3000)")
    ap.add_argument("--delay", type=float, default=0.0, help="seconds the server waits before every answer")
    ap.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count(),
        help="archiver --workers N when the CLI has it (default: cores; 1: one process)",
    )
    ap.add_argument(
        "--rerun-workers", action="store_true", help="run the re-run with --workers too (default: one process)"
    )
    ap.add_argument("--concurrency", type=int, default=16, help="concurrent requests (archiver and baseline)")
    ap.add_argument("--tools", default=",".join(TOOLS), help=f"comma-separated subset of {','.join(TOOLS)}")
    ap.add_argument("--server", default="auto", choices=("auto", "nginx", "siteserver"))
    ap.add_argument("--seed", type=int, default=0, help="seed of the synthetic site")
    ap.add_argument("--workdir", type=Path, default=RESULTS / "tmp", help="generated sites and run outputs")
    ap.add_argument("--results", type=Path, default=RESULTS / "bench.json", help="JSON file the results merge into")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of every run; the fastest of each is kept")
    ap.add_argument("--settle", type=float, default=2.0, help="seconds of quiet before each timed run")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds before a run is killed")
    ap.add_argument("--keep-outputs", action="store_true", help="keep the crawl outputs (deleted by default)")
    ap.add_argument("--no-save", action="store_true", help="print only; do not touch bench/results")
    args = ap.parse_args(argv)
    args.n = args.n or [3000]
    args.tools = [t for t in args.tools.split(",") if t]
    unknown = set(args.tools) - set(TOOLS) - set(EXTRA_TOOLS)
    if unknown:
        ap.error(f"unknown tools {sorted(unknown)}; choose from {TOOLS + EXTRA_TOOLS}")
    if "rerun" in args.tools and "archiver" not in args.tools:
        ap.error("rerun needs archiver (it re-crawls the archiver's output)")
    args.workdir = args.workdir.resolve()
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = args.workdir / f"run-{stamp}-{os.getpid()}"
    entries = []
    try:
        for n in args.n:
            entry = bench_one(n, args, run_dir)
            entries.append(entry)
            print(table(entry), flush=True)
            print(flush=True)
    finally:
        if not args.keep_outputs and run_dir.exists():
            # Only now: deleting a large output right before a timed run would slow that run down.
            for child in run_dir.iterdir():
                if child.name.endswith("-logs"):
                    continue
                shutil.rmtree(child, ignore_errors=True)
    if entries and not args.no_save:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        merge_results(args.results, entries)
        print(f"results merged into {args.results}", file=sys.stderr)
        try:
            from bench import chart

            chart.draw(args.results, args.results.with_suffix(".png"))
        except ImportError as exc:
            print(f"no chart ({exc}); pip install -e '.[bench]'", file=sys.stderr)
    missed = [k for e in entries for k, v in e["targets"].items() if not v]
    return 1 if any("archived all" in k for k in missed) else 0


if __name__ == "__main__":
    sys.exit(main())

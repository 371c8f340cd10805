"""What a benchmark entry is judged by: the ratios between the tools, and the performance issues' targets.

``ratios`` compares the tools of one entry (posts/s, CPU per post, peak RSS); ``targets`` checks
them against the targets below, and ``python -m bench`` records both with the entry.
"""

from __future__ import annotations

from typing import Any

# Targets of the performance issues, checked on every run and recorded with it.
ARCHIVER_OVER_BASELINE = 2.5  # --workers N (N = cores), loopback
ARCHIVER_OVER_SEQUENTIAL = 1.0  # --workers N, loopback
SINGLE_OVER_BASELINE = 2.0  # one process, loopback
ARCHIVER_OVER_SEQUENTIAL_DELAYED = 10.0
RERUN_SHARE_OF_SINGLE = 0.05  # the cron re-run against a one-process full crawl
RERUN_SECONDS_AT_50000 = 1.5


def ratios(tools: dict[str, dict[str, Any]]) -> dict[str, float]:
    def rate(name: str) -> float | None:
        return tools.get(name, {}).get("posts_per_s")

    out: dict[str, float] = {}
    a, b, s = rate("archiver"), rate("baseline"), rate("sequential")
    if a and b:
        out["archiver_over_baseline"] = round(a / b, 2)
    if a and s:
        out["archiver_over_sequential"] = round(a / s, 2)
    if (one := rate("single")) and b:
        out["single_over_baseline"] = round(one / b, 2)
    if a and (t := rate("baseline_tuned")):
        out["archiver_over_baseline_tuned"] = round(a / t, 2)
    if "archiver" in tools and "rerun" in tools:
        out["rerun_over_full_wall"] = round(tools["rerun"]["wall_s"] / tools["archiver"]["wall_s"], 4)
    if "single" in tools and "rerun" in tools:
        out["rerun_over_single_wall"] = round(tools["rerun"]["wall_s"] / tools["single"]["wall_s"], 4)
    for name in ("archiver", "single", "baseline"):
        if tools.get(name, {}).get("cpu_ms_per_post") and tools.get("sequential", {}).get("cpu_ms_per_post"):
            out[f"{name}_cpu_per_post_over_sequential"] = round(
                tools[name]["cpu_ms_per_post"] / tools["sequential"]["cpu_ms_per_post"], 2
            )
        if (
            name != "baseline"
            and tools.get(name, {}).get("peak_rss_mb")
            and tools.get("baseline", {}).get("peak_rss_mb")
        ):
            out[f"{name}_rss_over_baseline"] = round(tools[name]["peak_rss_mb"] / tools["baseline"]["peak_rss_mb"], 2)
    return out


def targets(n: int, delay: float, tools: dict[str, dict[str, Any]], r: dict[str, float]) -> dict[str, bool]:
    checks: dict[str, bool] = {}
    if delay == 0:
        if "archiver_over_baseline" in r:
            checks["--workers >= 2.5 x baseline (posts/s)"] = r["archiver_over_baseline"] >= ARCHIVER_OVER_BASELINE
        if "archiver_over_sequential" in r:
            over = r["archiver_over_sequential"]
            checks["--workers >= 1.0 x sequential (posts/s)"] = over >= ARCHIVER_OVER_SEQUENTIAL
        if "single_over_baseline" in r:
            checks["one process >= 2.0 x baseline (posts/s)"] = r["single_over_baseline"] >= SINGLE_OVER_BASELINE
        if "rerun_over_single_wall" in r:
            checks["rerun <= 5% of a one-process full crawl"] = r["rerun_over_single_wall"] <= RERUN_SHARE_OF_SINGLE
    elif "archiver_over_sequential" in r:
        checks["archiver >= 10 x sequential (delayed)"] = (
            r["archiver_over_sequential"] >= ARCHIVER_OVER_SEQUENTIAL_DELAYED
        )
    if "rerun" in tools:
        checks["rerun writes 0 archive files"] = tools["rerun"].get("archive_files_written") == 0
        if n >= 50000:
            checks["rerun < 1.5 s at 50,000 posts"] = tools["rerun"]["wall_s"] < RERUN_SECONDS_AT_50000
    if "single_rss_over_baseline" in r and n >= 50000:
        checks["peak RSS of one process <= baseline's"] = r["single_rss_over_baseline"] <= 1.0
    for name in ("archiver", "single", "baseline", "baseline_tuned", "sequential"):
        if name in tools:
            checks[f"{name} archived all {n} posts"] = tools[name]["posts"] == n and tools[name]["returncode"] == 0
    return checks

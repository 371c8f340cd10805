"""Wall time of ``archiver crawl --workers N`` on a synthetic site, all measured in one run.

    python -m bench.workers [--posts 3000] [--workers 1 2] [--concurrency 16] [--delay 0] [--warc]

Generates (once, cached under ``bench/results/tmp``) a site of ``--posts`` posts with
:func:`bench.site.ensure_site`, serves it with nginx (:mod:`bench.nginx`; else ``SiteServer``),
then crawls it into fresh folders: once in one plain process (Scrapy's own scheduler), then
with ``--workers N`` for each N given (N processes on one private redis-server). Every archive
must be byte-identical to the plain one. Prints one line per run: wall seconds, pages, pages/s.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.site import REPO, START_URL, ensure_site

WORKDIR = REPO / "bench" / "results" / "tmp"


def crawl(proxy: str, output: Path, *extra: str) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (the crawl's processes, workers included) and the crawl's standard error."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "no_proxy")}
    env.pop("ARCHIVER_REDIS_URL", None)
    env["http_proxy"] = proxy
    command = [sys.executable, "-m", "archiver", "crawl", "finews", "--start-url", START_URL]
    command += ["--output", str(output), "--progress", "off", "--log-level", "WARNING", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        raise SystemExit(f"crawl {' '.join(extra)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return seconds, cpu, result.stderr


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for folder in ("_posts", "category")
        for p in sorted((root / folder).iterdir())
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent requests per process")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds the server waits before each answer")
    parser.add_argument("--warc", action="store_true", help="capture WARC in every run")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of all runs, interleaved; the best of each counts"
    )
    parser.add_argument("--skip-plain", action="store_true", help="no plain crawl: only the --workers runs")
    args = parser.parse_args(argv)

    site, info = ensure_site(WORKDIR, args.posts)
    print(f"site: {info['posts']} posts, {info['site_pages']} site pages, {info['share_pages']} share pages")
    runs = WORKDIR / "workers"
    shutil.rmtree(runs, ignore_errors=True)
    extra = ["--concurrency", str(args.concurrency), *(["--warc"] if args.warc else [])]
    try:
        from bench.nginx import NginxProxy, available, can_delay

        use_nginx = available() and (args.delay == 0 or can_delay())
    except ImportError:
        use_nginx = False
    if use_nginx:
        server = NginxProxy(site, delay=args.delay, max_seconds=3600)
    else:
        from archiver.devserver.server import SiteServer

        server = SiteServer(site, delay=args.delay, max_seconds=3600)  # type: ignore[assignment]
    print(f"server: {'nginx' if use_nginx else 'archiver.siteserver'}; {os.cpu_count()} cores; {' '.join(extra)}")
    best: dict[str, float] = {}
    with server:
        plain: list[tuple[str, list[str]]] = [] if args.skip_plain else [("plain (1 process, no Redis)", [])]
        plan = plain + [(f"--workers {n}", ["--workers", str(n)]) for n in args.workers]
        reference: dict[str, bytes] | None = None
        for _round, (label, options) in ((r, entry) for r in range(args.repeat) for entry in plan):
            name = re.sub(r"\W+", "-", label).strip("-")
            output = runs / f"{name}-{_round}"  # a fresh folder: a known post would be skipped
            load = os.getloadavg()[0]
            seconds, cpu, log = crawl(server.proxy_url, output, *extra, *options)
            match = re.search(r"pages: (\d+) fetched", log)
            pages = int(match.group(1)) if match else 0
            archive = tree(output)
            if reference is None:
                reference = archive
            elif archive != reference:
                raise SystemExit(f"{label}: the archive differs from the plain crawl's")
            best[label] = min(best.get(label, seconds), seconds)
            workers = re.search(r"workers: (.*)", log)
            split = f"  [{workers.group(1)}]" if workers else ""
            print(
                f"{label:30s} {seconds:7.1f} s wall  {cpu:6.1f} s CPU  {pages} pages  {pages / seconds:5.0f} pages/s"
                f"  (load before {load:.1f}){split}",
                flush=True,
            )
    print("best wall times: " + ", ".join(f"{label}: {seconds:.1f} s" for label, seconds in best.items()))
    if "--workers 1" in best and "--workers 2" in best:
        print(f"speed-up of --workers 2 over --workers 1: {best['--workers 1'] / best['--workers 2']:.2f}x")
    print(f"all {len(plan) * args.repeat} archives byte-identical ({len(reference or {})} files)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

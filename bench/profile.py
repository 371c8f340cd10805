"""Profile a crawl of a synthetic site with py-spy, and say where the CPU goes per page.

    python -m bench.profile --n 3000 [--tool archiver|baseline] [--rate 200] [--workers N]
    python -m bench.profile --summarize bench/results/profile-archiver-3000.txt.gz

Records the crawl (all its processes) with ``py-spy record --format raw`` against nginx, saves
the collapsed stacks gzipped under bench/results/, and prints a breakdown: every sample is
charged to the innermost frame that belongs to a known part (link extraction, post and share
page parsing, pipelines, exporter, logging, middlewares, HTTP client, scheduler, reactor, ...);
library frames such as ``re`` or ``urllib.parse`` are charged to the code that called them.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from bench.serve import crawl_env, serve
from bench.site import REPO, START_URL, ensure_site

RESULTS = REPO / "bench" / "results"
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")

# (category, file pattern, function pattern); the first rule that matches a frame names it.
RULES: tuple[tuple[str, str, str], ...] = (
    ("logging", r"^logging/|scrapy/logformatter|scrapy/utils/log\.py", ""),
    (
        "--workers: shared queue on Redis (scrapy-redis, redis-py)",
        r"scrapy_redis/|^redis/|archiver/distributed/|archiver/running/workers\.py",
        "",
    ),
    ("spider: listing pages (link extraction)", r"spiders/finews\.py", r"parse_listing|_classify|_site_url"),
    ("spider: share pages", r"spiders/finews\.py", r"parse_share|apply_share_page|share_failed"),
    ("spider: post pages", r"spiders/finews\.py", ""),
    ("baseline: link extraction", r"scrapy/linkextractors|scrapy/spiders/crawl\.py", ""),
    ("parsel/lxml selectors (baseline)", r"parsel/|bench/baseline_spider\.py|lxml", ""),
    ("pipelines: validate + normalize", r"pipelines/(validate|normalize)\.py", ""),
    ("pipelines: sanitize", r"pipelines/sanitize\.py|archiver/format/sanitize", ""),
    (
        "exporter: render + compare + atomic write",
        r"pipelines/export\.py|archiver/store/",
        "",
    ),
    (
        "item pipeline manager (itemadapter, per-item deferreds)",
        r"scrapy/pipelines/|scrapy/middleware\.py|itemadapter/",
        "",
    ),
    ("Request objects + URL canonicalization", r"scrapy/http/request/|w3lib/url|scrapy/utils/url", ""),
    (
        "scheduler + dupefilter + fingerprints",
        r"scrapy/core/scheduler|scrapy/dupefilters|scrapy/utils/request|queuelib|scrapy/squeues|scrapy/pqueues",
        "",
    ),
    ("response decoding (TextResponse.text)", r"scrapy/http/response/|w3lib/encoding|^encodings/|w3lib/html", ""),
    ("spider middlewares", r"scrapy/spidermiddlewares/|scrapy/core/spidermw", ""),
    ("downloader middlewares", r"scrapy/downloadermiddlewares/|scrapy/core/downloader/middleware", ""),
    (
        "HTTP client (Twisted)",
        r"scrapy/core/downloader/handlers/|scrapy/core/downloader/contextfactory|twisted/web/|twisted/protocols/"
        r"|twisted/internet/(tcp|endpoints|abstract|protocol)|scrapy/core/http2|h2/",
        "",
    ),
    ("downloader slots", r"scrapy/core/downloader/__init__", ""),
    ("stats + signals", r"scrapy/statscollectors|scrapy/signalmanager|scrapy/utils/signal|pydispatch/", ""),
    ("engine + scraper", r"scrapy/core/engine|scrapy/core/scraper", ""),
    (
        "deferred/async plumbing",
        r"scrapy/utils/(defer|asyncio|asyncgen|python|decorators)|twisted/internet/defer|twisted/python/failure",
        "",
    ),
    ("reactor (asyncio loop)", r"^asyncio/|twisted/internet/asyncioreactor|^selectors|twisted/internet/base\.py", ""),
    (
        "start-up (imports, settings)",
        r"<frozen importlib|importlib|scrapy/settings|scrapy/utils/misc|scrapy/crawler\.py",
        "",
    ),
)
IDLE = "idle (waiting threads, excluded)"
_COMPILED = [(name, re.compile(files), re.compile(funcs) if funcs else None) for name, files, funcs in RULES]


# Threads blocked in a wait (Twisted's thread pool, the event loop's select) use no CPU; py-spy
# cannot always tell, so their samples are left out.
_IDLE = re.compile(
    r"^(Condition\.wait|Queue\.get|Event\.wait|Thread\.join|BaseSelector\.select|EpollSelector\.select) "
)


def categorize(stack: str) -> str:
    frames = stack.split(";")
    if _IDLE.match(frames[-1]):
        return IDLE
    for frame in reversed(frames):
        match = _FRAME.match(frame)
        if match is None:
            continue
        file, func = match.group("file"), match.group("func")
        for name, files, funcs in _COMPILED:
            if files.search(file) and (funcs is None or funcs.search(func)):
                return name
    return "other"


def read_raw(path: Path) -> Counter[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    samples: Counter[str] = Counter()
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if stack:
                samples[stack] += int(count)
    return samples


def breakdown(samples: Counter[str]) -> Counter[str]:
    shares: Counter[str] = Counter()
    for stack, count in samples.items():
        shares[categorize(stack)] += count
    return shares


def report(samples: Counter[str], rate: int, pages: int | None, posts: int | None) -> str:
    shares = breakdown(samples)
    idle = shares.pop(IDLE, 0)
    total = sum(shares.values())
    lines = [
        f"{total} samples at {rate} Hz = {total / rate:.1f} s of CPU"
        + (f"; {pages} pages, {posts} posts" if pages else "")
        + (f" ({idle} samples of waiting threads left out)" if idle else "")
    ]
    lines.append(f"{'part':58}{'share':>7}{'µs/page':>9}{'µs/post':>9}")
    for name, count in shares.most_common():
        seconds = count / rate
        per_page = f"{1e6 * seconds / pages:9.0f}" if pages else ""
        per_post = f"{1e6 * seconds / posts:9.0f}" if posts else ""
        lines.append(f"{name:58}{count / total:7.1%}{per_page}{per_post}")
    return "\n".join(lines)


def top_functions(samples: Counter[str], limit: int = 25) -> str:
    """Self time by function (the leaf frame), the usual flat profile."""
    leaf: Counter[str] = Counter()
    for stack, count in samples.items():
        if categorize(stack) != IDLE:
            leaf[stack.rsplit(";", 1)[-1]] += count
    total = sum(leaf.values())
    return "\n".join(f"{count / total:6.1%}  {frame}" for frame, count in leaf.most_common(limit))


def record(args: argparse.Namespace) -> int:
    root, _ = ensure_site(args.workdir, args.n)
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if py_spy is None:
        print("py-spy is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 1
    workers = f"-workers{args.workers}" if args.workers and args.workers > 1 else ""
    stem = RESULTS / f"profile-{args.tool}-{args.n}{workers}" if not args.out else args.out
    with tempfile.TemporaryDirectory(prefix="archiver-profile-", dir=args.workdir) as tmp, serve(root) as server:
        out, log, raw = Path(tmp) / "out", Path(tmp) / "crawl.log", Path(tmp) / "raw.txt"
        if args.tool == "archiver":
            cmd = [sys.executable, "-m", "archiver", "crawl", "finews", "--start-url", START_URL, "--output", str(out),
                   "--concurrency", "16", "--log-file", str(log)]  # fmt: skip
            if args.workers:
                cmd += ["--workers", str(args.workers)]
        else:
            cmd = [sys.executable, "-m", "bench.baseline_spider", "--start-url", START_URL, "--output", str(out),
                   "--log-file", str(log)]  # fmt: skip
        env = crawl_env(server.proxy_url)
        spy = [
            py_spy,
            "record",
            "--rate",
            str(args.rate),
            "--format",
            "raw",
            "--subprocesses",
            "-o",
            str(raw),
            "--",
            *cmd,
        ]
        result = subprocess.run(spy, env=env, cwd=REPO, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not raw.exists():
            print(result.stdout[-2000:], result.stderr[-2000:], file=sys.stderr)
            return 1
        text = result.stdout + result.stderr
        pages = re.search(r"pages: (\d+) fetched|baseline: (\d+) pages", text)
        page_count = int(next(g for g in pages.groups() if g)) if pages else None
        posts = len(list((out / "_posts").glob("*.md"))) if args.tool == "archiver" else len(list(out.glob("*.txt")))
        samples = read_raw(raw)
        with gzip.open(f"{stem}.txt.gz", "wt", encoding="utf-8", compresslevel=9) as handle:
            for stack, count in sorted(samples.items()):
                handle.write(f"{stack} {count}\n")
        summary = (
            report(samples, args.rate, page_count, posts) + "\n\nself time by function:\n" + top_functions(samples)
        )
        Path(f"{stem}.summary.txt").write_text(summary + "\n", encoding="utf-8")
        Path(f"{stem}.json").write_text(
            json.dumps({"rate": args.rate, "pages": page_count, "posts": posts, "command": cmd[1:]}) + "\n"
        )
        print(summary)
        print(f"\nsaved {stem}.txt.gz, {stem}.summary.txt", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.profile", description=__doc__.splitlines()[0] if __doc__ else None
    )
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--tool", choices=("archiver", "baseline"), default="archiver")
    ap.add_argument("--rate", type=int, default=200, help="samples per second")
    ap.add_argument("--workers", type=int, help="archiver --workers N (when the CLI has it)")
    ap.add_argument("--workdir", type=Path, default=RESULTS / "tmp")
    ap.add_argument("--out", type=Path, help="file stem for the results (default bench/results/profile-TOOL-N)")
    ap.add_argument("--summarize", type=Path, help="only print the breakdown of a saved raw profile")
    ap.add_argument("--pages", type=int, help="with --summarize: pages fetched, for per-page figures")
    ap.add_argument("--posts", type=int, help="with --summarize: posts archived")
    args = ap.parse_args(argv)
    if args.summarize:
        samples = read_raw(args.summarize)
        print(
            report(samples, args.rate, args.pages, args.posts) + "\n\nself time by function:\n" + top_functions(samples)
        )
        return 0
    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    return record(args)


if __name__ == "__main__":
    sys.exit(main())

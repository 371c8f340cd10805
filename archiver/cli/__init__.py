"""The ``archiver`` command line: crawl, demo, rotate, verify, rebuild.

``archiver crawl finews --output DIR`` runs the same crawl as
``scrapy crawl finews -s ARCHIVER_OUTPUT_DIR=DIR`` from the project root,
then prints a short summary built from the crawl's stats. Exit codes are
documented in ``ExitCode`` and the README.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from archiver import verify as verify_command
from archiver.lock import LockedError
from archiver.runner import ExitCode, UsageError, run_crawl, setting_getter, summary, take_lock

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_SITE = REPO_ROOT / "demo" / "site"
DEMO_START_URL = "http://finews.withounder.com/"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits 2 by default; 2 means "pages failed" here
        self.print_usage(sys.stderr)
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}\n")


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be at least 1")
    return number


def _setting(value: str) -> tuple[str, str]:
    name, sep, setting = value.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{value!r} is not NAME=VALUE")
    return name, setting


def _day(value: str) -> str:
    import datetime as dt

    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date: use YYYY-MM-DD (Beijing time)") from None


def _zero_or_more(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be at least 0")
    return number


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Cron-grade runs: incremental state, the lock, backfill windows, progress (archiver/incremental.py)."""
    parser.add_argument(
        "--recheck-days", type=_zero_or_more, help="revalidate archived posts of today and N days before (default 3)"
    )
    parser.add_argument("--jobdir", help="Scrapy JOBDIR: a long backfill stopped cleanly resumes its queue from here")
    parser.add_argument("--lock", help="the run lock file (default: OUTPUT/.archiver/lock)")
    parser.add_argument("--since", type=_day, help="backfill: only posts of this Beijing day (YYYY-MM-DD) or later")
    parser.add_argument("--until", type=_day, help="backfill: only posts of this Beijing day (YYYY-MM-DD) or earlier")
    parser.add_argument(
        "--category", action="append", default=[], metavar="SLUG", help="backfill: only this category (repeatable)"
    )
    parser.add_argument(
        "--share-urls", metavar="FILE", help="archive only these posts: share links or infoCodes, one a line"
    )
    parser.add_argument(
        "--progress", choices=("auto", "tty", "log", "off"), help="live line on a terminal, log lines otherwise (auto)"
    )


def add_crawl_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", help="archive folder (default: ARCHIVER_OUTPUT_DIR, 'output')")
    parser.add_argument("--start-url", help="the site's home page URL (default: the spider's)")
    parser.add_argument(
        "--concurrency", type=_positive, help="concurrent requests, overriding the polite defaults (backfills)"
    )
    add_log_and_setting_options(parser)
    add_run_options(parser)


def add_log_and_setting_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-file", help="write the log here instead of standard error")
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO (default), WARNING, ERROR")
    parser.add_argument(
        "-s",
        "--set",
        dest="settings",
        action="append",
        type=_setting,
        default=[],
        metavar="NAME=VALUE",
        help="any Scrapy or ARCHIVER_* setting (repeatable)",
    )


def add_scale_options(parser: argparse.ArgumentParser) -> None:
    """Distributed crawling and raw capture (archiver/distributed.py, archiver/warc.py)."""
    parser.add_argument(
        "--redis",
        metavar="URL",
        help="share one request queue with every worker started with this Redis URL (default: $ARCHIVER_REDIS_URL)",
    )
    parser.add_argument(
        "--workers",
        type=_positive,
        help="run N worker processes on one queue (on --redis, or on a redis-server started for the run)",
    )
    parser.add_argument("--warc", action="store_true", help="also keep every request and response as WARC files")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="archiver", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    crawl = sub.add_parser("crawl", help="crawl a site into the archive")
    crawl.add_argument("spider", help="spider name, e.g. finews")
    add_crawl_options(crawl)
    add_scale_options(crawl)
    demo = sub.add_parser("demo", help="serve the bundled demo site on 127.0.0.1 and crawl it (no internet)")
    demo.add_argument("--site", default=str(DEMO_SITE), help="folder of the site to serve (default: demo/site)")
    add_crawl_options(demo)
    rotate = sub.add_parser("rotate", help="move posts older than N days from _posts/ to old_post/")
    rotate.add_argument("--keep-days", type=_zero_or_more, required=True, help="keep today and the N days before")
    rotate.add_argument("--output", "-o", help="archive folder (default: ARCHIVER_OUTPUT_DIR, 'output')")
    rotate.add_argument("--lock", help="the run lock file (default: OUTPUT/.archiver/lock)")
    verify = sub.add_parser(
        "verify", help="lint an archive: names, YAML, duplicates, unsafe markup, Liquid, categories"
    )
    verify_command.add_arguments(verify)
    rebuild = sub.add_parser("rebuild", help="rebuild the posts from WARC files alone (archiver crawl --warc), offline")
    rebuild.add_argument("--from-warc", required=True, metavar="DIR", help="folder of WARC files, e.g. OUTPUT/warc")
    rebuild.add_argument("--output", "-o", required=True, help="archive folder to write (best: an empty one)")
    rebuild.add_argument("--spider", help="spider to replay through (default: the one the WARC files name)")
    rebuild.add_argument("--start-url", help="where the replayed crawl starts (default: the one the WARC files name)")
    add_log_and_setting_options(rebuild)
    return parser


def crawl_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Setting overrides named by the command line; later options win over earlier ones."""
    overrides: dict[str, Any] = {}
    if args.output:
        overrides["ARCHIVER_OUTPUT_DIR"] = args.output
    if args.concurrency:
        overrides["CONCURRENT_REQUESTS"] = args.concurrency
        overrides["CONCURRENT_REQUESTS_PER_DOMAIN"] = args.concurrency
        overrides["DOWNLOAD_DELAY"] = 0
        overrides["AUTOTHROTTLE_ENABLED"] = False
    if args.log_file:
        overrides["LOG_FILE"] = args.log_file
    if args.log_level:
        overrides["LOG_LEVEL"] = args.log_level.upper()
    run_options = {
        "ARCHIVER_RECHECK_DAYS": args.recheck_days,
        "JOBDIR": args.jobdir,
        "ARCHIVER_LOCK_FILE": args.lock,
        "ARCHIVER_SINCE": args.since,
        "ARCHIVER_UNTIL": args.until,
        "ARCHIVER_CATEGORIES": args.category or None,
        "ARCHIVER_PROGRESS": args.progress,
    }
    overrides.update({name: value for name, value in run_options.items() if value is not None})
    if getattr(args, "redis", None):
        overrides["ARCHIVER_REDIS_URL"] = args.redis
    if getattr(args, "warc", False):
        overrides["ARCHIVER_WARC_ENABLED"] = True
    overrides.update(dict(args.settings))
    return overrides


def spider_arguments(args: argparse.Namespace, start_url: str | None) -> dict[str, Any]:
    spider_args = {"start_url": start_url} if start_url else {}
    if args.share_urls:
        if not Path(args.share_urls).is_file():
            raise UsageError(f"--share-urls {args.share_urls}: no such file")
        spider_args["share_urls"] = args.share_urls
    return spider_args


def cmd_crawl(args: argparse.Namespace) -> ExitCode:
    spider_args = spider_arguments(args, args.start_url)
    if args.workers:
        code, stats = run_workers(args, spider_args)
    else:
        code, stats = run_crawl(args.spider, crawl_settings(args), spider_args)
    print(summary(stats), file=sys.stderr if args.log_file is None else sys.stdout)
    return code


def run_workers(args: argparse.Namespace, spider_args: dict[str, Any]) -> tuple[ExitCode, dict[str, Any]]:
    """``--workers N``: N worker processes on one Redis queue; this process holds the run lock for them all."""
    from archiver import distributed, lock

    overrides = crawl_settings(args)
    key = take_lock(overrides)
    try:
        code, stats = distributed.run_workers(args.spider, overrides, spider_args, workers=args.workers)
    finally:
        lock.release(key)
    workers = [
        f"{i}: exit {stats[f'archiver/workers/{i}/exit']}, {stats[f'archiver/workers/{i}/pages']} pages"
        for i in range(1, args.workers + 1)
        if f"archiver/workers/{i}/exit" in stats
    ]
    where = str(stats.get("archiver/workers/redis", ""))
    where = f"a redis-server started for the run ({where[6:]})" if where.startswith("local ") else where
    print(f"workers: {'; '.join(workers)}; on {where}", file=sys.stderr if args.log_file is None else sys.stdout)
    return ExitCode(code), stats


def cmd_demo(args: argparse.Namespace) -> ExitCode:
    from archiver.siteserver import SiteServer

    site = Path(args.site)
    if not site.is_dir():
        raise UsageError(f"no demo site at {site}: run from a clone of the repository, or pass --site")
    with SiteServer(site, max_seconds=3600) as server:
        # The crawl keeps the site's real host names: every request goes through the loopback proxy.
        os.environ["http_proxy"] = server.proxy_url
        os.environ.pop("no_proxy", None)
        os.environ.pop("NO_PROXY", None)
        spider_args = spider_arguments(args, args.start_url or DEMO_START_URL)
        code, stats = run_crawl("finews", crawl_settings(args), spider_args)
    output = args.output or "output"
    print(summary(stats))
    print(f"demo archive written to {output}/_posts ({server.count()} requests served from {site})")
    return code


def cmd_rotate(args: argparse.Namespace) -> ExitCode:
    from archiver.rotate import rotate_archive

    root = Path(args.output or setting_getter({})("ARCHIVER_OUTPUT_DIR") or "output")
    if not root.is_dir():
        raise UsageError(f"no archive at {root}: pass --output")
    result = rotate_archive(root, args.keep_days, lock_file=Path(args.lock) if args.lock else None)
    print(result.summary())
    for name in result.conflicts:
        print(f"archiver: rotate: _posts/{name} and old_post/{name} differ; both kept", file=sys.stderr)
    return ExitCode.ERROR if result.conflicts else ExitCode.OK


def cmd_rebuild(args: argparse.Namespace) -> ExitCode:
    """Replay a WARC capture through the spider and pipelines into ``--output``; no network is used."""
    from archiver import replay

    warc_dir = Path(args.from_warc)
    if not warc_dir.is_dir():
        raise UsageError(f"--from-warc {warc_dir}: no such folder")
    try:
        spider, start_url, files = replay.crawl_info(warc_dir)
    except ImportError:
        raise UsageError("rebuild needs warcio: pip install 'archiver[warc]'") from None
    if not files:
        raise UsageError(f"--from-warc {warc_dir}: no .warc.gz or .warc files")
    spider = args.spider or spider
    if not spider:
        raise UsageError("the WARC files name no spider: pass --spider")
    overrides = replay.rebuild_settings(warc_dir, Path(args.output))
    if args.log_file:
        overrides["LOG_FILE"] = args.log_file
    if args.log_level:
        overrides["LOG_LEVEL"] = args.log_level.upper()
    overrides.update(dict(args.settings))
    start = args.start_url or start_url
    code, stats = run_crawl(spider, overrides, {"start_url": start} if start else {})
    replayed, missing = stats.get("archiver/replay/responses", 0), stats.get("archiver/replay/missing", 0)
    print(
        f"{summary(stats)}; rebuilt from {files} WARC files ({replayed} responses replayed, {missing} not captured)",
        file=sys.stderr if args.log_file is None else sys.stdout,
    )
    return code


COMMANDS = {
    "crawl": cmd_crawl,
    "demo": cmd_demo,
    "rotate": cmd_rotate,
    "rebuild": cmd_rebuild,
    "verify": verify_command.run,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(COMMANDS[args.command](args))
    except UsageError as exc:
        print(f"archiver: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except LockedError as exc:
        print(f"archiver: {exc}", file=sys.stderr)
        return ExitCode.LOCKED
    except KeyboardInterrupt:
        print("archiver: interrupted", file=sys.stderr)
        return ExitCode.ERROR
    except Exception as exc:  # the one place where any failure becomes a one-line reason and an exit code
        print(f"archiver: {type(exc).__name__}: {exc}", file=sys.stderr)
        return ExitCode.ERROR


def run() -> NoReturn:
    """The ``archiver`` command: main(), then exit without the interpreter's last garbage collection.

    Everything a command writes is closed by then (close_spider, logging's flush at exit). The
    collection the interpreter runs on the way out would walk every object Scrapy, Twisted and
    the archive index made, only to free memory the process hands back anyway: 0.2 s of a
    one-second cron re-run.
    """
    code = main()
    gc.freeze()
    raise SystemExit(code)

"""Options shared by the subcommands, and how they become Scrapy settings and spider arguments."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any, NoReturn

from archiver.exceptions import UsageError
from archiver.running.exitcodes import ExitCode


class Parser(argparse.ArgumentParser):
    """argparse, with exit 64 for usage errors and descriptions and examples printed as written."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:  # argparse exits 2 by default; 2 means "pages failed" here
        self.print_usage(sys.stderr)
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}\n")


def positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be at least 1")
    return number


def setting_pair(value: str) -> tuple[str, str]:
    name, sep, setting = value.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{value!r} is not NAME=VALUE")
    return name, setting


def _day(value: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date: use YYYY-MM-DD (Beijing time)") from None


def zero_or_more(value: str) -> int:
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
        "--recheck-days",
        type=zero_or_more,
        metavar="N",
        help="revalidate archived posts of today and N days before (default 3)",
    )
    parser.add_argument(
        "--jobdir", metavar="DIR", help="Scrapy JOBDIR: a long backfill stopped cleanly resumes its queue from here"
    )
    parser.add_argument("--lock", metavar="FILE", help="the run lock file (default: OUTPUT/.archiver/lock)")
    parser.add_argument(
        "--since", type=_day, metavar="DAY", help="backfill: only posts of this Beijing day (YYYY-MM-DD) or later"
    )
    parser.add_argument(
        "--until", type=_day, metavar="DAY", help="backfill: only posts of this Beijing day (YYYY-MM-DD) or earlier"
    )
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
    parser.add_argument("--output", "-o", metavar="DIR", help="archive folder (default: ARCHIVER_OUTPUT_DIR, 'output')")
    parser.add_argument("--start-url", metavar="URL", help="the site's home page URL (default: the spider's)")
    parser.add_argument(
        "--concurrency",
        type=positive,
        metavar="N",
        help="concurrent requests, overriding the polite defaults (backfills)",
    )
    add_log_and_setting_options(parser)
    add_run_options(parser)


def add_log_and_setting_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-file", metavar="FILE", help="write the log here instead of standard error")
    parser.add_argument("--log-level", default=None, metavar="LEVEL", help="DEBUG, INFO (default), WARNING, ERROR")
    parser.add_argument(
        "-s",
        "--set",
        dest="settings",
        action="append",
        type=setting_pair,
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
        type=positive,
        metavar="N",
        help="run N worker processes on one queue (on --redis, or on a redis-server started for the run)",
    )
    parser.add_argument("--warc", action="store_true", help="also keep every request and response as WARC files")
    parser.add_argument(
        "--from-wayback",
        metavar="URL",
        help="read the past from a web archive instead of the live site: a pywb collection "
        "(http://host:8080/COLL) or https://web.archive.org",
    )


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
    if getattr(args, "from_wayback", None):
        overrides["ARCHIVER_WAYBACK_URL"] = args.from_wayback
    overrides.update(dict(args.settings))
    return overrides


def spider_arguments(args: argparse.Namespace, start_url: str | None) -> dict[str, Any]:
    spider_args = {"start_url": start_url} if start_url else {}
    if args.share_urls:
        if getattr(args, "from_wayback", None):
            raise UsageError("--share-urls and --from-wayback: a run from a web archive takes its posts from its CDX")
        if not Path(args.share_urls).is_file():
            raise UsageError(f"--share-urls {args.share_urls}: no such file")
        spider_args["share_urls"] = args.share_urls
    return spider_args

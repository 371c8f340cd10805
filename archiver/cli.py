"""The ``archiver`` command line: crawl, demo, rotate, verify, rebuild.

``archiver crawl finews --output DIR`` runs the same crawl as
``scrapy crawl finews -s ARCHIVER_OUTPUT_DIR=DIR`` from the project root,
then prints a short summary built from the crawl's stats. Exit codes are
documented in ``ExitCode`` and the README.
"""

from __future__ import annotations

import argparse
import enum
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_SITE = REPO_ROOT / "demo" / "site"
DEMO_START_URL = "http://finews.withounder.com/"


class ExitCode(enum.IntEnum):
    OK = 0
    ERROR = 1
    PAGES_FAILED = 2  # the run finished, but some pages failed permanently (listed in the run report)
    LOCKED = 3  # another run holds the lock
    USAGE = 64  # EX_USAGE


class UsageError(Exception):
    """A command line the archiver cannot run."""


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


def add_crawl_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", help="archive folder (default: ARCHIVER_OUTPUT_DIR, 'output')")
    parser.add_argument("--start-url", help="the site's home page URL (default: the spider's)")
    parser.add_argument(
        "--concurrency", type=_positive, help="concurrent requests, overriding the polite defaults (backfills)"
    )
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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="archiver", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    crawl = sub.add_parser("crawl", help="crawl a site into the archive")
    crawl.add_argument("spider", help="spider name, e.g. finews")
    add_crawl_options(crawl)
    demo = sub.add_parser("demo", help="serve the bundled demo site on 127.0.0.1 and crawl it (no internet)")
    demo.add_argument("--site", default=str(DEMO_SITE), help="folder of the site to serve (default: demo/site)")
    add_crawl_options(demo)
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
    overrides.update(dict(args.settings))
    return overrides


def run_crawl(spider: str, overrides: dict[str, Any], spider_args: dict[str, Any]) -> tuple[ExitCode, dict[str, Any]]:
    """Run one crawl in this process; returns the exit code and the crawl's stats."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "archiver.settings")
    from scrapy.crawler import CrawlerProcess
    from scrapy.exceptions import NotConfigured
    from scrapy.utils.project import get_project_settings
    from twisted.python.failure import Failure

    settings = get_project_settings()
    for name, value in overrides.items():
        settings.set(name, value, priority="cmdline")
    process = CrawlerProcess(settings)
    try:
        crawler = process.create_crawler(spider)
    except KeyError:
        raise UsageError(f"no spider named {spider!r}") from None
    failure: list[BaseException] = []

    def keep(reason: Failure) -> None:
        failure.append(reason.value if reason.value is not None else RuntimeError(reason.getErrorMessage()))

    process.crawl(crawler, **spider_args).addErrback(keep)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    if failure:
        error = failure[0]
        if isinstance(error, (NotConfigured, ValueError)):
            raise UsageError(str(error)) from None
        raise RuntimeError(f"{type(error).__name__}: {error}") from None
    if stats.get("finish_reason") not in ("finished", None):
        return ExitCode.ERROR, stats
    if stats.get("archiver/pages/failed", 0):
        return ExitCode.PAGES_FAILED, stats
    return ExitCode.OK, stats


def summary(stats: dict[str, Any]) -> str:
    def n(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    elapsed = float(stats.get("elapsed_time_seconds", 0) or 0)
    return (
        f"posts: {n('archiver/posts/new')} new, {n('archiver/posts/updated')} updated, "
        f"{n('archiver/posts/unchanged')} unchanged, {n('archiver/posts/skipped_known')} known (not fetched), "
        f"{n('archiver/items/dropped')} dropped; "
        f"pages: {n('downloader/response_count')} fetched, {n('downloader/response_status_count/304')} not modified, "
        f"{n('archiver/pages/failed')} failed; {elapsed:.1f} s"
    )


def cmd_crawl(args: argparse.Namespace) -> ExitCode:
    spider_args = {"start_url": args.start_url} if args.start_url else {}
    code, stats = run_crawl(args.spider, crawl_settings(args), spider_args)
    print(summary(stats), file=sys.stderr if args.log_file is None else sys.stdout)
    return code


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
        spider_args = {"start_url": args.start_url or DEMO_START_URL}
        code, stats = run_crawl("finews", crawl_settings(args), spider_args)
    output = args.output or "output"
    print(summary(stats))
    print(f"demo archive written to {output}/_posts ({server.count()} requests served from {site})")
    return code


COMMANDS = {"crawl": cmd_crawl, "demo": cmd_demo}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(COMMANDS[args.command](args))
    except UsageError as exc:
        print(f"archiver: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        print("archiver: interrupted", file=sys.stderr)
        return ExitCode.ERROR
    except Exception as exc:  # the one place where any failure becomes a one-line reason and an exit code
        print(f"archiver: {type(exc).__name__}: {exc}", file=sys.stderr)
        return ExitCode.ERROR

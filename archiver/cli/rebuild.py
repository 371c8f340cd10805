"""``archiver rebuild --from-warc DIR``: the posts rebuilt from a WARC capture alone, offline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from archiver.cli import extras
from archiver.cli.options import add_log_and_setting_options
from archiver.exceptions import UsageError
from archiver.running import startup
from archiver.running.exitcodes import ExitCode

DESCRIPTION = """\
Rebuild the posts from a WARC capture alone, offline: every request of the
replayed crawl is answered from the WARC files, never from the network.
Needs the warc extra (pip install 'archiver[warc]').
"""
EXAMPLES = """\
Examples:
  capture while crawling, then rebuild into a fresh folder and compare:
    archiver crawl finews --output /srv/finews-archive --warc
    archiver rebuild --from-warc /srv/finews-archive/warc --output /tmp/rebuilt
    diff -r /srv/finews-archive/_posts /tmp/rebuilt/_posts
"""


def add_parser(sub: Any) -> None:
    rebuild = sub.add_parser(
        "rebuild",
        help="rebuild the posts from WARC files alone (archiver crawl --warc), offline",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    rebuild.add_argument("--from-warc", required=True, metavar="DIR", help="folder of WARC files, e.g. OUTPUT/warc")
    rebuild.add_argument("--output", "-o", required=True, help="archive folder to write (best: an empty one)")
    rebuild.add_argument("--spider", help="spider to replay through (default: the one the WARC files name)")
    rebuild.add_argument("--start-url", help="where the replayed crawl starts (default: the one the WARC files name)")
    add_log_and_setting_options(rebuild)
    rebuild.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    """Replay a WARC capture through the spider and pipelines into ``--output``; no network is used."""
    from archiver.capture import replay  # imports warcio's readers only when they are used

    with startup.collector_paused():  # Scrapy's import, a crawl's start-up
        from archiver.running.runner import run_crawl, summary

    extras.require_extra("warc", "rebuild")
    warc_dir = Path(args.from_warc)
    if not warc_dir.is_dir():
        raise UsageError(f"--from-warc {warc_dir}: no such folder")
    spider, start_url, files = replay.crawl_info(warc_dir)
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

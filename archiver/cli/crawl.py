"""``archiver crawl SPIDER``: one incremental run of a spider into the archive (or N workers on one queue)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from archiver.cli import extras
from archiver.cli.options import add_crawl_options, add_scale_options, crawl_settings, spider_arguments
from archiver.running import startup
from archiver.running.exitcodes import ExitCode
from archiver.store import lock

DESCRIPTION = """\
One incremental run of a spider into the archive: known posts are not fetched
again, listings and recent posts are revalidated with conditional requests, and
a file is written only when its text changed. The run takes the archive's lock
and ends with a one-line summary.
"""
EXAMPLES = """\
Examples:
  one run, as cron starts it every five minutes (crontab line):
    */5 * * * * /srv/archiver/.venv/bin/archiver crawl finews -o /srv/finews-archive --log-file /var/log/finews.log

  a backfill of one quarter, resumable with the same --jobdir after Ctrl-C:
    archiver crawl finews --output /srv/finews-archive --since 2022-01-01 --until 2022-03-31 \\
        --jobdir /srv/finews-jobs/2022q1 --concurrency 16

  4 workers on one queue (pip install 'archiver[redis]'; Debian's redis-server):
    archiver crawl finews --output /srv/finews-archive --workers 4

  workers on several machines sharing one Redis and one output folder:
    ARCHIVER_REDIS_URL='redis://:PASSWORD@redis-host:6379/0' archiver crawl finews --output /mnt/archive

  with a contact for the site's operators in the User-Agent:
    archiver crawl finews --output /srv/finews-archive -s ARCHIVER_CONTACT=ops@example.org
"""


def add_parser(sub: Any) -> None:
    crawl = sub.add_parser("crawl", help="crawl a site into the archive", description=DESCRIPTION, epilog=EXAMPLES)
    crawl.add_argument("spider", help="spider name, e.g. finews")
    add_crawl_options(crawl)
    add_scale_options(crawl)
    crawl.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    with startup.collector_paused():  # Scrapy's import, a crawl's start-up
        from archiver.running.runner import run_crawl, setting_getter, summary

    extras.check_settings(setting_getter(crawl_settings(args)), workers=args.workers)
    spider_args = spider_arguments(args, args.start_url)
    if args.workers:
        code, stats = run_workers(args, spider_args)
    else:
        code, stats = run_crawl(args.spider, crawl_settings(args), spider_args)
    print(summary(stats), file=sys.stderr if args.log_file is None else sys.stdout)
    if message := stats.get("archiver/archive_unwritable"):  # archiver.crawl.unwritable.STAT
        print(f"archiver: {message}", file=sys.stderr)
    return code


def run_workers(args: argparse.Namespace, spider_args: dict[str, Any]) -> tuple[ExitCode, dict[str, Any]]:
    """``--workers N``: N worker processes on one Redis queue; this process holds the run lock for them all."""
    from archiver.running import workers  # only for --workers: it starts processes and a redis-server
    from archiver.running.runner import take_lock

    overrides = crawl_settings(args)
    key = take_lock(overrides)
    try:
        code, stats = workers.run_workers(args.spider, overrides, spider_args, workers=args.workers)
    finally:
        lock.release(key)
    lines = [
        f"{i}: exit {stats[f'archiver/workers/{i}/exit']}, {stats[f'archiver/workers/{i}/pages']} pages"
        for i in range(1, args.workers + 1)
        if f"archiver/workers/{i}/exit" in stats
    ]
    where = str(stats.get("archiver/workers/redis", ""))
    where = f"a redis-server started for the run ({where[6:]})" if where.startswith("local ") else where
    print(f"workers: {'; '.join(lines)}; on {where}", file=sys.stderr if args.log_file is None else sys.stdout)
    return ExitCode(code), stats

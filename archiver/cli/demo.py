"""``archiver demo``: serve the bundled demo site on 127.0.0.1 and crawl it into the archive (no internet)."""

from __future__ import annotations

import argparse
import importlib.resources
import os
from pathlib import Path
from typing import Any

from archiver.cli import extras
from archiver.cli.options import add_crawl_options, crawl_settings, spider_arguments
from archiver.exceptions import UsageError
from archiver.running import startup
from archiver.running.exitcodes import ExitCode

# The demo site is package data of the spiders (written by demo/generate.py in a clone): named by
# its data path only, so it is found in a wheel, a non-editable install or a clone alike.
DEMO_SITE_PACKAGE, DEMO_SITE_PATH = "spiders", ("demo", "site")
DEMO_START_URL = "http://finews.withounder.com/"


def default_site() -> Path | None:
    """The installed demo site's folder, or None when the package or its data is missing."""
    try:
        site = importlib.resources.files(DEMO_SITE_PACKAGE)
    except ModuleNotFoundError:
        return None
    for part in DEMO_SITE_PATH:
        site = site / part
    # Installed packages are folders on disk (setuptools' wheels are not zip-safe by default).
    return site if isinstance(site, Path) and site.is_dir() else None


DESCRIPTION = """\
Serve the bundled demo site (30 invented posts in the finews site's page
structure) on 127.0.0.1 and crawl it into the archive, as a real run would.
No internet is needed.
"""
EXAMPLES = """\
Examples:
  archiver demo                                  the archive goes to ./output
  archiver demo --output /tmp/demo && archiver verify /tmp/demo
  archiver demo --output /tmp/demo -s ARCHIVER_CONTACT=ops@example.org    a contact in the User-Agent
"""


def add_parser(sub: Any) -> None:
    demo = sub.add_parser(
        "demo",
        help="serve the bundled demo site on 127.0.0.1 and crawl it (no internet)",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    demo.add_argument("--site", metavar="DIR", help="folder of the site to serve (default: the bundled demo site)")
    add_crawl_options(demo)
    demo.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    from archiver.devserver.server import SiteServer

    with startup.collector_paused():  # Scrapy's import, a crawl's start-up
        from archiver.running.runner import run_crawl, setting_getter, summary

    extras.check_settings(setting_getter(crawl_settings(args)))
    site = Path(args.site) if args.site else default_site()
    if site is None:
        raise UsageError("the bundled demo site is missing from this install: reinstall archiver, or pass --site DIR")
    if not site.is_dir():
        raise UsageError(f"--site {site}: no such folder")
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

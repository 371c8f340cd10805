"""``archiver demo``: serve the bundled demo site on 127.0.0.1 and crawl it into the archive (no internet)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from archiver.cli.options import add_crawl_options, crawl_settings, spider_arguments
from archiver.devserver.server import SiteServer
from archiver.exceptions import UsageError
from archiver.running.runner import ExitCode, run_crawl, summary

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEMO_SITE = REPO_ROOT / "demo" / "site"
DEMO_START_URL = "http://finews.withounder.com/"


def add_parser(sub: Any) -> None:
    demo = sub.add_parser("demo", help="serve the bundled demo site on 127.0.0.1 and crawl it (no internet)")
    demo.add_argument("--site", default=str(DEMO_SITE), help="folder of the site to serve (default: demo/site)")
    add_crawl_options(demo)
    demo.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
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

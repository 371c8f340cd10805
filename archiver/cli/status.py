"""``archiver status OUTPUT``: the archive's health at a glance, for a person and for monitoring.

The health is computed by ``archiver.store.health`` (files only, no crawler) and printed by
``archiver.tools.status``. Exit codes are the monitoring plugins' (0 OK, 1 WARNING, 2 CRITICAL,
3 UNKNOWN), usage errors included: a mistyped threshold shows as UNKNOWN in Nagios or Icinga with
its reason, instead of an exit code they do not know.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any, NoReturn

from archiver.cli.options import Parser
from archiver.store import health
from archiver.tools import status


class PluginParser(Parser):
    """Usage errors as a monitoring plugin reports them: exit 3 (UNKNOWN) and a status line."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"ARCHIVER UNKNOWN - {message}")
        self.exit(int(health.Level.UNKNOWN))

    def parse_known_args(self, *args: Any, **kwargs: Any) -> Any:
        # A subparser hands what it does not know to the main parser, whose error exits 64.
        parsed, extras = super().parse_known_args(*args, **kwargs)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


def duration(value: str) -> dt.timedelta:
    try:
        return health.parse_duration(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "status",
        help="the archive's health: last runs, newest post, posts per day, retries, site changes (exit 0-3)",
        description="The archive's health at a glance. Exit codes as monitoring plugins use them: "
        "0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
    )
    # argparse builds every subparser with the main parser's class; this one reports as a plugin.
    parser.__class__ = PluginParser
    parser.add_argument("output", metavar="OUTPUT", help="the archive folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument(
        "--max-age",
        type=duration,
        metavar="DURATION",
        help="CRITICAL when no run succeeded within it, e.g. 30m (units s, m, h, d, w)",
    )
    parser.add_argument(
        "--max-quiet",
        type=duration,
        metavar="DURATION",
        help="WARNING when the newest archived post is dated longer ago than this, e.g. 12h",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    result = health.check(Path(args.output), max_age=args.max_age, max_quiet=args.max_quiet)
    sys.stdout.write(status.render_json(result) if args.json else status.render(result))
    return int(result.level)

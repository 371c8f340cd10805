"""The ``archiver`` command line: crawl, demo, rotate, verify, rebuild, status.

``archiver crawl finews --output DIR`` runs the same crawl as
``scrapy crawl finews -s ARCHIVER_OUTPUT_DIR=DIR`` from the project root,
then prints a short summary built from the crawl's stats. Exit codes are
documented in ``archiver.running.runner.ExitCode`` and the README.

One module per subcommand (``add_parser`` and ``run``), as Scrapy's ``commands/`` has;
``options`` holds what they share.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from typing import NoReturn

from archiver.cli import crawl, demo, rebuild, rotate, status, verify
from archiver.cli.options import Parser
from archiver.exceptions import LockedError, UsageError
from archiver.running.runner import ExitCode

SUBCOMMANDS = (crawl, demo, rotate, verify, rebuild, status)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="archiver", description="A Scrapy crawler and archiver for Jekyll news sites.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
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

"""The ``archiver`` command line: crawl, demo, rotate, verify, rebuild, status.

``archiver crawl finews --output DIR`` runs the same crawl as
``scrapy crawl finews -s ARCHIVER_OUTPUT_DIR=DIR`` from the project root,
then prints a short summary built from the crawl's stats. Exit codes are
documented in ``archiver.running.exitcodes`` and the README.

One module per subcommand (``add_parser`` and ``run``), as Scrapy's ``commands/`` has;
``options`` holds what they share. A subcommand module imports what its command runs (Scrapy,
for the crawls) in its ``run``: building the parser, ``--help`` and ``archiver status`` (a
monitoring check, every minute) do not pay a Scrapy import, and a crawl imports Scrapy with the
garbage collector paused for the start-up (``archiver.running.startup``).
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from typing import NoReturn

from archiver import __version__
from archiver.cli import crawl, demo, rebuild, rotate, status, verify
from archiver.cli import wacz as wacz_command
from archiver.cli.options import Parser
from archiver.exceptions import ArchiveUnwritable, LockedError, UsageError
from archiver.running.exitcodes import ExitCode

SUBCOMMANDS = (crawl, demo, rotate, verify, rebuild, status, wacz_command)

DESCRIPTION = """\
A Scrapy crawler and archiver for Jekyll news sites: it crawls a site and writes
every post back in the site's own Jekyll layout (_posts/, category/).
"""
EPILOG = """\
Start with:
  archiver demo                              serve the bundled demo site and crawl it (no internet)
  archiver crawl finews --output DIR         one incremental run; cron runs this every few minutes
  archiver COMMAND --help                    a command's options and examples

Exit codes: 0 done; 1 error (the reason is the last line on standard error);
2 some pages failed for good (the next run retries them); 3 another run holds
the lock; 4 the site changed (pages are not what the spider expects: nothing was
archived from them and no archived file changed); 64 a bad option or setting, or
a missing optional piece (nothing was fetched).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="archiver", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
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
    except ArchiveUnwritable as exc:  # "cannot write the archive: <path>: <OS error>"
        print(f"archiver: {exc}", file=sys.stderr)
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

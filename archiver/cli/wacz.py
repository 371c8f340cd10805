"""``archiver wacz OUT [--output FILE]``: the WARC capture of an archive as one WACZ file.

The package is built by ``archiver.capture.wacz``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from archiver.exceptions import UsageError
from archiver.running.exitcodes import ExitCode


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("wacz", help="package the WARC capture (archiver crawl --warc) as a WACZ file")
    parser.add_argument("archive", metavar="OUT", help="archive folder written with --warc (holds warc/)")
    parser.add_argument("--output", "-o", help="the WACZ file to write (default: OUT.wacz next to the folder)")
    parser.add_argument("--title", help="the package's title (default: the folder's name)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    """Write the WACZ; print what went in."""
    root = Path(args.archive)
    if not root.is_dir():
        raise UsageError(f"{root}: no such folder")
    output = Path(args.output) if args.output else root.resolve().with_name(root.resolve().name + ".wacz")
    from archiver.capture import wacz  # warcio, only for a WARC file that has no index of its own

    try:
        package = wacz.build(root, output, title=args.title)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    except ImportError:
        raise UsageError("archiver wacz needs warcio: pip install 'archiver[warc]'") from None
    print(
        f"{package.path}: {package.warcs} WARC files, {package.records} index lines, {package.pages} pages, "
        f"{package.bytes} bytes",
        file=sys.stdout,
    )
    return ExitCode.OK

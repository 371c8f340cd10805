"""``archiver verify DIR``: lint an archive (the checks live in ``archiver.tools.verify``)."""

from __future__ import annotations

import argparse
from typing import Any

from archiver.cli import extras
from archiver.tools import verify

DESCRIPTION = """\
Lint an archive: file names against front matter, YAML and required keys,
duplicate post ids across _posts/ and old_post/, unsafe markup, unescaped
Liquid, category pages. One line per problem; exit 0 only when clean.
"""
EXAMPLES = """\
Examples:
  archiver verify /srv/finews-archive
  archiver verify /srv/finews-archive --jekyll    also build it with Debian's jekyll
"""


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "verify",
        help="lint an archive: names, YAML, duplicates, unsafe markup, Liquid, categories",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    verify.add_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.jekyll:
        extras.require_program("jekyll", f"verify --jekyll builds the archive with Jekyll: {extras.JEKYLL_HINT}")
    return verify.run(args)

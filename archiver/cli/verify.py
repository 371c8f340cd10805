"""``archiver verify DIR``: lint an archive (the checks live in ``archiver.tools.verify``)."""

from __future__ import annotations

from typing import Any

from archiver.tools import verify


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "verify", help="lint an archive: names, YAML, duplicates, unsafe markup, Liquid, categories"
    )
    verify.add_arguments(parser)
    parser.set_defaults(handler=verify.run)

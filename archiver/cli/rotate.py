"""``archiver rotate``: the site's own practice, posts older than N days move from ``_posts/`` to ``old_post/``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from archiver.cli.options import zero_or_more
from archiver.exceptions import UsageError
from archiver.running.exitcodes import ExitCode

DESCRIPTION = """\
The site's own practice: posts older than N days move from _posts/ to old_post/.
Rotation takes the run lock, never overwrites a file and can be run again safely;
rotated posts still count as archived.
"""
EXAMPLES = """\
Examples:
  once a week, keeping 30 days in _posts/ (crontab line):
    30 3 * * 0 cd /srv/archiver && .venv/bin/archiver rotate --keep-days 30 --output /srv/finews-archive
"""


def add_parser(sub: Any) -> None:
    rotate = sub.add_parser(
        "rotate",
        help="move posts older than N days from _posts/ to old_post/",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    rotate.add_argument("--keep-days", type=zero_or_more, required=True, help="keep today and the N days before")
    rotate.add_argument("--output", "-o", help="archive folder (default: ARCHIVER_OUTPUT_DIR, 'output')")
    rotate.add_argument("--lock", help="the run lock file (default: OUTPUT/.archiver/lock)")
    rotate.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    from archiver.running.runner import setting_getter
    from archiver.tools.rotate import rotate_archive

    root = Path(args.output or setting_getter({})("ARCHIVER_OUTPUT_DIR") or "output")
    if not root.is_dir():
        raise UsageError(f"no archive at {root}: pass --output")
    result = rotate_archive(root, args.keep_days, lock_file=Path(args.lock) if args.lock else None)
    print(result.summary())
    for name in result.conflicts:
        print(f"archiver: rotate: _posts/{name} and old_post/{name} differ; both kept", file=sys.stderr)
    return ExitCode.ERROR if result.conflicts else ExitCode.OK

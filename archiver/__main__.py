"""``python -m archiver``: the command line."""

from archiver.cli import main

raise SystemExit(main())

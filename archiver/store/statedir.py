"""The archive's state folder, ``<output>/.archiver``: run log, lock, page store, retry list, WARC manifest."""

from __future__ import annotations

from pathlib import Path

STATE_FOLDER = ".archiver"


def state_path(root: Path) -> Path:
    """``root/.archiver``, created when missing."""
    path = root / STATE_FOLDER
    path.mkdir(exist_ok=True)
    return path

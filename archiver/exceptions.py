"""The archiver's exceptions, in one leaf module that imports nothing of the project.

Callers match them by class (``except SettingError``), never by name. Only ``SettingError`` and
``UsageError`` mean "the command line or a setting is wrong" (exit 64); anything else that escapes
a run is a failure (exit 1), however it is spelled.
"""

from __future__ import annotations

from pathlib import Path


class SettingError(ValueError):
    """An ``ARCHIVER_*`` setting holds a value the archiver cannot use."""


class UsageError(Exception):
    """A command line the archiver cannot run: a bad option, a missing file or extra."""


class LockedError(RuntimeError):
    """Another process holds the run lock."""

    def __init__(self, path: Path, holder: str) -> None:
        who = f" ({holder})" if holder else ""
        super().__init__(f"another run holds the lock {path}{who}; exiting")
        self.path = path
        self.holder = holder

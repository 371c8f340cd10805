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


class ArchiveUnwritable(OSError):
    """The archive (or its ``.archiver/`` state) cannot be written: disk full, read-only, no permission.

    No later write can be expected to succeed, so the run stops at once (exit 1) with this one line
    (``str()``): ``cannot write the archive: <path>: <OS error>``. An ``OSError`` still, so code
    that handles any ``OSError`` keeps doing so.
    """

    def __init__(self, path: Path | str, error: OSError) -> None:
        super().__init__(error.errno, error.strerror, str(path))
        self.path = Path(path)
        self.error = error

    def __str__(self) -> str:
        return f"cannot write the archive: {self.path}: {self.error.strerror or self.error}"

    def __reduce__(self) -> tuple[type[ArchiveUnwritable], tuple[Path, OSError]]:
        return (type(self), (self.path, self.error))

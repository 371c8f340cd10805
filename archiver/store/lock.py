"""One run at a time: the flock that keeps two runs from writing one archive.

Cron starts the archiver every few minutes; a long run must not be joined by a
second one writing the same files. The lock is ``fcntl.flock`` on
``<output>/.archiver/lock`` (``ARCHIVER_LOCK_FILE`` / ``--lock`` to move it):
the kernel releases it when the holding process dies, however it dies, so a
run killed with ``kill -9`` never leaves a stale lock behind. The file itself
stays (deleting a flock file would let two processes lock two different
inodes); it only holds the holder's pid and start time, for the message the
next run prints.

``archiver.extensions.lock.LockExtension`` takes the lock for every crawl,
``scrapy crawl`` included, before any component touches the archive.
``archiver crawl`` takes it even earlier (before Scrapy starts) and maps
``LockedError`` to exit code 3; locks are re-entrant within a process, so both
can ask for the same file.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archiver.exceptions import LockedError
from archiver.store import runlog
from archiver.store.statedir import STATE_FOLDER

LOCK_NAME = "lock"


def state_folder(get: Callable[[str], Any]) -> Path:
    """The state folder a setting getter names, ``<ARCHIVER_OUTPUT_DIR>/.archiver``; not created."""
    return Path(str(get("ARCHIVER_OUTPUT_DIR") or "output")).expanduser() / STATE_FOLDER


def lock_path(get: Callable[[str], Any]) -> Path:
    """Where the lock lives, from a setting getter: ``ARCHIVER_LOCK_FILE``, else ``<output>/.archiver/lock``."""
    explicit = get("ARCHIVER_LOCK_FILE")
    if explicit:
        return Path(str(explicit)).expanduser()
    return state_folder(get) / LOCK_NAME


def record_refused(get: Callable[[str], Any], error: LockedError) -> None:
    """A run the lock refused leaves its ``locked`` line in the run log of the archive it named."""
    runlog.record_locked(state_folder(get), error)


class RunLock:
    """An exclusive, non-blocking flock on one file, held until ``release`` or process exit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise ``LockedError`` at once; never waits."""
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_NOFOLLOW: a symlink put in the state folder must not make a run write outside the archive.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(fd)
            os.close(fd)
            raise LockedError(self.path, holder) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        # Who holds it, for the message a second run prints; in place, since the file must keep its inode.
        started = dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {started}\n".encode(), 0)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def read_holder(fd: int) -> str:
    """Who holds the lock on ``fd``, as the holder wrote it."""
    try:
        return os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError as exc:
        return f"holder unknown: {exc.strerror}"


# Locks this process holds, by resolved path, with how many users share each (re-entrant).
_HELD: dict[Path, tuple[RunLock, int]] = {}


def acquire(path: Path) -> Path:
    """Take (or share, within this process) the lock at ``path``; returns the key for ``release``."""
    key = Path(os.path.abspath(path))
    held = _HELD.get(key)
    if held is not None:
        _HELD[key] = (held[0], held[1] + 1)
        return key
    lock = RunLock(key)
    lock.acquire()
    _HELD[key] = (lock, 1)
    return key


def release(key: Path) -> None:
    held = _HELD.get(key)
    if held is None:
        return
    lock, users = held
    if users > 1:
        _HELD[key] = (lock, users - 1)
        return
    del _HELD[key]
    lock.release()

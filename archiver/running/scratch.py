"""Private scratch folders of one run in the system's temporary folder, and the sweep of those killed runs left.

``--workers`` keeps the workers' specs and stats there, and the run's own redis-server its
configuration (with the queue's password) and its log. A run removes its folders when it ends;
a run killed with SIGKILL (the OOM killer, ``timeout -s KILL``, a container stopped hard)
cannot, and cron would leave a pair behind for every such run, for ever.

Each folder holds a ``.owner`` file its run keeps locked (``flock``) while it lives: the kernel
releases the lock when the last process holding it dies, however it dies, and whatever PID
namespace it ran in. Before making a folder, a run removes the folders of the same kind whose
lock it can take. A folder without an owner file (one being made this instant, or not ours,
or on a file system without ``flock``) is left alone, and so is an owner file that is not a
regular file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import shutil
import stat
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

OWNER = ".owner"


class ScratchFolder:
    """A private (0700) folder ``archiver-<kind>-*`` in the temporary folder, locked by this process until removed."""

    def __init__(self, kind: str, *, root: Path | None = None) -> None:
        self.root = Path(root or tempfile.gettempdir())
        sweep(kind, self.root)
        self.path = Path(tempfile.mkdtemp(prefix=f"archiver-{kind}-", dir=self.root))
        try:
            self._fd: int | None = _locked_owner(self.path)
        except OSError:
            shutil.rmtree(self.path, ignore_errors=True)
            raise

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _locked_owner(folder: Path) -> int | None:
    """The owner file's descriptor, locked; None where the file system has no ``flock`` (never swept then).

    The file is locked under another name and renamed: a sweep that found ``.owner`` unlocked
    before this process had locked it would remove a live run's folder.
    """
    making = folder / (OWNER + ".new")
    fd = os.open(making, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # forked workers share it: the folder lives while any of them does
    except OSError as exc:
        os.close(fd)
        if exc.errno not in (errno.EOPNOTSUPP, errno.ENOLCK, errno.EINVAL):
            raise
        making.unlink()
        logger.debug("%s cannot be locked (%s): a next run will not sweep it if this one is killed", folder, exc)
        return None
    os.rename(making, folder / OWNER)
    return fd


def sweep(kind: str, root: Path) -> list[Path]:
    """Remove the ``archiver-<kind>-*`` folders of ``root`` that are ours and whose run is gone."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(f"archiver-{kind}-"):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or not _abandoned(Path(entry.path)):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(Path(entry.path))
        logger.info("removed %s, left by a run that was killed", entry.path)
    return removed


def _abandoned(folder: Path) -> bool:
    try:  # not blocking: a FIFO put there must not hang the run (which holds the archive's lock)
        fd = os.open(folder / OWNER, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:  # no owner file: being made now, or not a folder of this kind
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # held: its run is alive (or the file system cannot tell: keep it)
        return False
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
    return True

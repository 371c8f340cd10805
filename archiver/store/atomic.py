"""Atomic file writes: a temporary file in the same folder, then a rename over the target.

A reader (or a run after ``kill -9``) sees either the old file or the new one,
never a part. Temporary files are named ``.<name>.<host>-<pid>.tmp`` so a
later run can tell those a dead process left behind from those a live one is
writing, also when workers on several machines share one archive folder.

A write that fails because the archive cannot be written at all (disk full, quota, file size
limit, read-only, no permission: ``UNWRITABLE``) removes its temporary file and raises
``archiver.exceptions.ArchiveUnwritable``, an ``OSError`` naming the target, on which a run stops.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from archiver.exceptions import ArchiveUnwritable

# OS errors that say no write to this archive will succeed, as opposed to one bad path.
UNWRITABLE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO})

_TEMP = re.compile(r"^\..+\.(?:(?P<host>[A-Za-z0-9-]+)-)?(?P<pid>\d+)\.tmp$")
# A writer holds its temporary file for milliseconds: one of another machine this old is left over.
_FOREIGN_TEMP_SECONDS = 3600.0


@functools.lru_cache(maxsize=1)
def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname().split(".")[0]) or "host"


def atomic_write(path: Path, data: bytes, *, fsync: bool = False) -> None:
    """Write ``data`` to ``path`` atomically; the folder must exist.

    Raises ``ArchiveUnwritable`` (an ``OSError``) when the archive cannot be written at all.
    """
    with writing(path):
        _atomic_write(path, data, fsync=fsync)


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn an ``OSError`` of ``UNWRITABLE`` kind raised inside into ``ArchiveUnwritable(path, error)``."""
    try:
        yield
    except ArchiveUnwritable:
        raise
    except OSError as exc:
        if exc.errno in UNWRITABLE:
            raise ArchiveUnwritable(path, exc) from exc
        raise


def _atomic_write(path: Path, data: bytes, *, fsync: bool) -> None:
    tmp = path.with_name(f".{path.name}.{_host()}-{os.getpid()}.tmp")
    # O_NOFOLLOW: a symlink left at the temporary name must not make a run write outside the archive.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        # Also on a full disk: the unlink frees the part written, and no half file is left.
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if fsync:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Remove temporary files that dead processes left in ``folder``; returns what was removed."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for entry in os.scandir(folder):
        match = _TEMP.match(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False):
            continue
        host = match.group("host")
        if host is None or host == _host():
            stale = not _alive(int(match.group("pid")))
        else:
            stale = time.time() - entry.stat(follow_symlinks=False).st_mtime > _FOREIGN_TEMP_SECONDS
        if stale:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed

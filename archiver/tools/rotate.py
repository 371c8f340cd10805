"""Rotation, the site's own practice: posts older than N days move from ``_posts/`` to ``old_post/``.

Jekyll builds only ``_posts/``; the site keeps its older posts in ``old_post/``,
and the archive index treats both folders as archived. A move is
``os.link`` (which never replaces an existing file) then ``unlink`` of the
old name, so at every moment each post exists under at least one name, and
a run killed between the two steps is finished by the next: a post found in
both folders as the same file (or the same bytes) loses its ``_posts/`` name.
A post in both folders with *different* bytes is a conflict: both are kept and
reported, never overwritten. Rotation holds the run lock, so it never races a
crawl.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from archiver.exceptions import LockedError
from archiver.format import dates
from archiver.format.post import POST_FILE
from archiver.store import lock, runlog
from archiver.store.atomic import remove_stale_temp_files
from archiver.store.statedir import STATE_FOLDER

logger = logging.getLogger(__name__)

SOURCE = "_posts"
TARGET = "old_post"
# Filesystems without hard links: fall back to a rename after checking the name is free (under the lock).
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV}


@dataclass
class RotateResult:
    moved: list[str] = field(default_factory=list)
    kept: int = 0  # young enough to stay in _posts/
    finished: list[str] = field(default_factory=list)  # an interrupted move completed
    conflicts: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"rotate: {len(self.moved)} moved to {TARGET}/, {self.kept} kept in {SOURCE}/, "
            f"{len(self.finished)} interrupted moves finished, {len(self.conflicts)} conflicts"
        )


def cutoff_day(keep_days: int, today: dt.date) -> dt.date:
    """Posts dated before this day are rotated: today and the ``keep_days`` days before it stay."""
    return today - dt.timedelta(days=keep_days)


def rotate_archive(root: Path, keep_days: int, *, lock_file: Path | None = None) -> RotateResult:
    """``archiver rotate``: rotation under the run lock (``LockedError`` if taken), with a line in runs.jsonl."""
    state = root / STATE_FOLDER
    try:
        key = lock.acquire(lock_file or state / lock.LOCK_NAME)
    except LockedError as exc:
        runlog.record_locked(state, exc)
        raise
    try:
        started = runlog.now_iso()
        result = rotate(root, keep_days, dt.datetime.now(dates.BEIJING).date())
        record = {
            "command": "rotate",
            "start": started,
            "end": runlog.now_iso(),
            "keep_days": keep_days,
            "moved": len(result.moved),
            "finished": len(result.finished),
            "kept": result.kept,
            "conflicts": result.conflicts,
            "status": "error" if result.conflicts else "ok",
        }
        runlog.append_line(state / runlog.RUNS_FILE, record)
    finally:
        lock.release(key)
    return result


def rotate(root: Path, keep_days: int, today: dt.date, *, fsync: bool = False) -> RotateResult:
    """Move posts of ``root/_posts`` dated before ``cutoff_day(keep_days, today)`` into ``root/old_post``."""
    if keep_days < 0:
        raise ValueError("keep_days must be at least 0")
    result = RotateResult()
    source, target = root / SOURCE, root / TARGET
    if not source.is_dir():
        return result
    target.mkdir(exist_ok=True)
    for folder in (source, target):
        for path in remove_stale_temp_files(folder):
            logger.info("removed a temporary file a killed run left behind: %s", path)
    before = cutoff_day(keep_days, today)
    for name in sorted(os.listdir(source)):
        match = POST_FILE.match(name)
        if match is None:
            continue
        try:
            day = dt.date.fromisoformat(match.group("day"))
        except ValueError:
            continue
        if day >= before:
            result.kept += 1
            continue
        _move(source / name, target / name, result)
    if fsync and (result.moved or result.finished):
        for folder in (target, source):
            _fsync_dir(folder)
    return result


def _move(src: Path, dst: Path, result: RotateResult) -> None:
    try:
        os.link(src, dst, follow_symlinks=False)
    except FileExistsError:
        _already_there(src, dst, result)
        return
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        if dst.exists():
            _already_there(src, dst, result)
        else:
            os.rename(src, dst)
            result.moved.append(src.name)
        return
    src.unlink()
    result.moved.append(src.name)


def _already_there(src: Path, dst: Path, result: RotateResult) -> None:
    if _same(src, dst):
        src.unlink()
        result.finished.append(src.name)
    else:
        logger.warning("rotate: %s and %s differ; both kept", src, dst)
        result.conflicts.append(src.name)


def _same(a: Path, b: Path) -> bool:
    try:
        if os.path.samefile(a, b):
            return True
        return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
    except FileNotFoundError:
        return False


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

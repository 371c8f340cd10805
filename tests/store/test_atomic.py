"""Atomic writes and the cleanup of temporary files that dead writers left."""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from archiver.exceptions import ArchiveUnwritable
from archiver.store import atomic as fsutil


def dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(child.stdout)


def test_atomic_write_leaves_only_the_file(tmp_path: Path) -> None:
    target = tmp_path / "a.md"
    fsutil.atomic_write(target, b"one")
    fsutil.atomic_write(target, b"two", fsync=True)
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]


def test_stale_temp_files_of_dead_writers_go_live_and_foreign_ones_stay(tmp_path: Path) -> None:
    host = fsutil._host()
    dead, live = dead_pid(), os.getpid()
    names = {
        "dead_here": f".a.md.{host}-{dead}.tmp",
        "legacy_dead": f".b.md.{dead}.tmp",
        "live_here": f".c.md.{host}-{live}.tmp",
        "other_machine_fresh": f".d.md.otherhost-{dead}.tmp",
        "other_machine_old": f".e.md.otherhost-{dead}.tmp",
    }
    for name in names.values():
        (tmp_path / name).write_text("x")
    old = tmp_path / names["other_machine_old"]
    os.utime(old, (old.stat().st_atime - 7200, old.stat().st_mtime - 7200))
    removed = {p.name for p in fsutil.remove_stale_temp_files(tmp_path)}
    assert removed == {names["dead_here"], names["legacy_dead"], names["other_machine_old"]}


def test_a_write_the_archive_cannot_take_raises_archive_unwritable_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "a.md"
    target.write_bytes(b"old")
    # A real EFBIG: a file size limit for this process, SIGXFSZ ignored while it holds.
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, hard))
    try:
        with pytest.raises(ArchiveUnwritable) as caught:
            fsutil.atomic_write(target, b"x" * 5000)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert isinstance(caught.value, OSError) and caught.value.errno == errno.EFBIG
    assert caught.value.path == target
    assert str(caught.value) == f"cannot write the archive: {target}: File too large"
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]


def test_other_os_errors_stay_what_they_are(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        fsutil.atomic_write(tmp_path / "missing" / "a.md", b"x")
    assert not isinstance(caught.value, ArchiveUnwritable)

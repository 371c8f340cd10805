"""A symlink in the archive's state folder never makes a run write outside the archive.

The lock, ``runs.jsonl`` and the temporary file of an atomic write are opened with ``O_NOFOLLOW``:
a symlink at their path fails the open (ELOOP) and the file it points to is untouched.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from archiver.store import atomic, lock, runlog
from archiver.store.atomic import atomic_write


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    outside = tmp_path / "outside.txt"
    outside.write_text("not the archive's\n")
    return outside


def test_the_lock(tmp_path: Path, victim: Path) -> None:
    path = tmp_path / "archive" / ".archiver" / "lock"
    path.parent.mkdir(parents=True)
    path.symlink_to(victim)
    with pytest.raises(OSError) as raised:
        lock.acquire(path)
    assert raised.value.errno == errno.ELOOP
    assert victim.read_text() == "not the archive's\n"


def test_the_run_report(tmp_path: Path, victim: Path) -> None:
    path = tmp_path / "archive" / ".archiver" / "runs.jsonl"
    path.parent.mkdir(parents=True)
    path.symlink_to(victim)
    with pytest.raises(OSError) as raised:
        runlog.append_line(path, {"status": "ok"})
    assert raised.value.errno == errno.ELOOP
    assert victim.read_text() == "not the archive's\n"


def test_an_atomic_writes_temporary_file(tmp_path: Path, victim: Path) -> None:
    target = tmp_path / "post.md"
    atomic_write(target, b"first")
    # The temporary name a write of this process uses (archiver.store.atomic), taken by a symlink.
    target.with_name(f".{target.name}.{atomic._host()}-{os.getpid()}.tmp").symlink_to(victim)
    with pytest.raises(OSError) as raised:
        atomic_write(target, b"second")
    assert raised.value.errno == errno.ELOOP
    assert victim.read_text() == "not the archive's\n"
    assert target.read_bytes() == b"first"

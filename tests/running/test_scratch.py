"""Scratch folders: private, removed with their run, and swept by the next run when a kill -9 left them."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from archiver.devserver.server import SiteServer
from archiver.running import scratch
from archiver.running.scratch import OWNER, ScratchFolder, sweep
from tests.crawlrun import REPO, archiver_env, children, crawl, workers_run_under_way
from tests.processes import stop

# A run that makes a scratch folder, says where, and waits to be killed.
OWNER_PROCESS = """
import sys, time
from pathlib import Path
from archiver.running.scratch import ScratchFolder
folder = ScratchFolder(sys.argv[1], root=Path(sys.argv[2]))
print(folder.path, flush=True)
time.sleep(60)
"""


Owner = Callable[[str, Path], tuple[subprocess.Popen[str], Path]]


@pytest.fixture
def start_owner() -> Iterator[Owner]:
    """Starts owner processes; every one is stopped (and its pipe closed) after the test."""
    started: list[subprocess.Popen[str]] = []

    def start(kind: str, root: Path) -> tuple[subprocess.Popen[str], Path]:
        process = subprocess.Popen(
            [sys.executable, "-c", OWNER_PROCESS, kind, str(root)],
            cwd=REPO,
            env=archiver_env(None),
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        return process, Path(process.stdout.readline().strip())

    yield start
    for process in started:
        stop(process)
        assert process.stdout is not None
        process.stdout.close()


def kill(process: subprocess.Popen[str]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)


def test_a_folder_is_private_and_goes_with_its_run(tmp_path: Path) -> None:
    folder = ScratchFolder("workers", root=tmp_path)
    assert folder.path.parent == tmp_path and folder.path.name.startswith("archiver-workers-")
    assert stat.S_IMODE(folder.path.stat().st_mode) == 0o700
    (folder.path / "worker-1.stats.json").write_text("{}")
    folder.remove()
    assert not folder.path.exists()
    folder.remove()  # twice is harmless


def test_the_next_run_removes_what_a_killed_run_left_and_keeps_a_live_runs(tmp_path: Path, start_owner: Owner) -> None:
    killed, left = start_owner("workers", tmp_path)
    _live, kept = start_owner("workers", tmp_path)
    (left / "redis.conf").write_text("requirepass secret\n")
    kill(killed)
    assert left.is_dir()  # nothing removes it by itself
    mine = ScratchFolder("workers", root=tmp_path)
    assert not left.exists()
    assert kept.is_dir() and (kept / OWNER).exists()
    mine.remove()


def test_the_sweep_leaves_other_kinds_folders_without_an_owner_file_and_links_alone(
    tmp_path: Path, start_owner: Owner
) -> None:
    killed, other_kind = start_owner("redis", tmp_path)
    kill(killed)
    being_made = tmp_path / "archiver-workers-abc123"
    being_made.mkdir()
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / OWNER).touch()
    (tmp_path / "archiver-workers-link").symlink_to(target)
    (tmp_path / "archiver-workers-file").write_text("")
    assert sweep("workers", tmp_path) == []
    assert other_kind.is_dir() and being_made.is_dir() and target.is_dir()
    assert sweep("redis", tmp_path) == [other_kind]


def test_a_missing_temporary_folder_sweeps_nothing(tmp_path: Path) -> None:
    assert sweep("workers", tmp_path / "absent") == []


@pytest.mark.skipif(os.getuid() != 0, reason="needs to chown a folder to another user")
def test_another_users_folder_is_left_alone(tmp_path: Path, start_owner: Owner) -> None:
    killed, theirs = start_owner("workers", tmp_path)
    kill(killed)
    os.chown(theirs, 65534, 65534)
    assert sweep("workers", tmp_path) == []
    assert theirs.is_dir()


def test_a_sweep_while_a_folder_is_being_made_leaves_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another run's sweep lands between the owner file's creation and its lock.
    real_flock = scratch.fcntl.flock
    swept: list[list[Path]] = []

    def flock_after_a_sweep(fd: int, operation: int) -> None:
        if operation == scratch.fcntl.LOCK_EX and not swept:
            swept.append(sweep("workers", tmp_path))
        real_flock(fd, operation)

    monkeypatch.setattr(scratch.fcntl, "flock", flock_after_a_sweep)
    folder = ScratchFolder("workers", root=tmp_path)
    assert swept == [[]] and folder.path.is_dir() and (folder.path / OWNER).is_file()
    assert sweep("workers", tmp_path) == []  # locked, under its own name
    folder.remove()


def test_an_owner_file_that_is_a_fifo_does_not_hang_the_sweep(tmp_path: Path) -> None:
    folder = tmp_path / "archiver-workers-fifo"
    folder.mkdir()
    os.mkfifo(folder / OWNER)
    assert sweep("workers", tmp_path) == []
    assert folder.is_dir()


def test_without_flock_a_run_still_gets_its_folder_and_no_sweep_removes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_flock(fd: int, operation: int) -> None:
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(scratch.fcntl, "flock", no_flock)
    folder = ScratchFolder("workers", root=tmp_path)
    assert folder.path.is_dir() and list(folder.path.iterdir()) == []
    assert sweep("workers", tmp_path) == []
    folder.remove()
    assert not folder.path.exists()


@pytest.mark.slow
def test_the_scratch_folders_a_killed_run_left_are_removed_by_the_next_run(tmp_path: Path, demo_site: Path) -> None:
    # kill -9 of the command: its workers and redis-server die with it, its folders cannot.
    pytest.importorskip("scrapy_redis", reason="needs scrapy-redis: pip install -e '.[test]'")
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server (Debian: apt-get install redis-server)")
    out, scratch_root = tmp_path / "out", tmp_path / "tmp"
    scratch_root.mkdir()
    with SiteServer(demo_site, delay=0.3, max_seconds=300) as server:
        env = {**archiver_env(server.proxy_url), "TMPDIR": str(scratch_root)}
        main = workers_run_under_way(out, env, server.count)
        try:
            left = sorted(p.name.rsplit("-", 1)[0] for p in scratch_root.iterdir())
            assert left == ["archiver-redis", "archiver-workers"], left
            started = list(children(main.pid))
        finally:
            main.kill()
            main.communicate()
        # The workers and the redis-server get SIGTERM from the kernel as their parent dies.
        deadline = time.monotonic() + 60
        while any(running(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(list(scratch_root.iterdir())) == 2
        again = crawl(out, server.proxy_url, "--workers", "2", env={"TMPDIR": str(scratch_root)}, timeout=240)
    assert again.returncode == 0, again.stderr[-3000:]
    assert list(scratch_root.iterdir()) == []


def running(pid: int) -> bool:
    """Whether a process (not ours to reap) still runs: a zombie holds no files any more."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False

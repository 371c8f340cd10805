"""One run at a time: the flock-based run lock, its exit code 3, and stale locks of killed runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archiver.exceptions import LockedError
from archiver.running.runner import ExitCode
from archiver.store import lock
from archiver.store.runlog import read_runs
from tests.crawlrun import REPO, SITE_URL, archiver_env, crawl, run_archiver
from tests.incsite import archive_files, build, dated_articles

CRAWL = (sys.executable, "-m", "archiver", "crawl", "finews", "--start-url", SITE_URL)
HOLD = """
import sys, time
from pathlib import Path
from archiver.store import lock
lock.acquire(Path(sys.argv[1]))
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def hold_lock(path: Path, seconds: float = 60) -> subprocess.Popen[str]:
    """Another process holding the lock at ``path``; returns once it holds it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        env=archiver_env(None),
        cwd=REPO,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()


def test_lock_is_exclusive_between_processes_and_reentrant_within_one(tmp_path):
    path = tmp_path / "state" / "lock"
    holder = hold_lock(path)
    try:
        with pytest.raises(LockedError) as caught:
            lock.acquire(path)
        assert f"pid {holder.pid}" in str(caught.value)
    finally:
        stop(holder)
    key = lock.acquire(path)
    assert lock.acquire(path) == key  # re-entrant: the CLI and the extension share it
    lock.release(key)
    lock.release(key)
    # Released for good: another process can take it.
    stop(hold_lock(path))


def test_killed_holder_leaves_no_stale_lock(tmp_path):
    path = tmp_path / "lock"
    holder = hold_lock(path)
    os.kill(holder.pid, signal.SIGKILL)
    stop(holder)
    assert path.read_text().startswith(f"pid {holder.pid}")  # the dead holder's note is still there...
    key = lock.acquire(path)  # ...but the lock is not
    lock.release(key)


@pytest.mark.slow
def test_crawl_exits_3_at_once_while_the_lock_is_held(tmp_path, site_server):
    site, _ = build(dated_articles(old=2, young=2), tmp_path / "v1")
    out = tmp_path / "out"
    holder = hold_lock(out / ".archiver" / "lock")
    try:
        server = site_server(site)
        started = time.monotonic()
        result = crawl(out, server.proxy_url, timeout=60)
        elapsed = time.monotonic() - started
        assert result.returncode == ExitCode.LOCKED, result.stderr
        assert "another run holds the lock" in result.stderr
        assert server.count() == 0
        assert archive_files(out) == {}
        rotated = run_archiver("rotate", "--keep-days", "3", "--output", str(out))
        assert rotated.returncode == ExitCode.LOCKED
        # Plain `scrapy crawl` is held off by the lock extension, with the same exit code.
        scrapy = subprocess.run(
            [sys.executable, "-m", "scrapy", "crawl", "finews", "-s", f"ARCHIVER_OUTPUT_DIR={out}"],
            cwd=REPO,
            env=archiver_env(server.proxy_url),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert scrapy.returncode == ExitCode.LOCKED, scrapy.stderr[-3000:]
        assert "another run holds the lock" in scrapy.stderr
        assert server.count() == 0
    finally:
        stop(holder)
    assert elapsed < 30  # not a timing benchmark: it must not wait for the holder (60 s)
    runs = read_runs(out / ".archiver" / "runs.jsonl")
    assert [r["status"] for r in runs] == ["locked", "locked", "locked"]


@pytest.mark.slow
def test_second_run_exits_3_while_the_first_crawls(tmp_path, site_server):
    site, _ = build(dated_articles(old=2, young=2), tmp_path / "v1")
    out = tmp_path / "out"
    server = site_server(site, delay=0.3)
    first = subprocess.Popen(
        [*CRAWL, "--output", str(out), "--concurrency", "1"],
        cwd=REPO,
        env=archiver_env(server.proxy_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while server.count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        second = crawl(out, server.proxy_url, "--lock", str(out / ".archiver" / "lock"), timeout=60)
        assert first.poll() is None, "the first run must still be running"
        assert second.returncode == ExitCode.LOCKED, second.stderr
        assert first.wait(timeout=120) == ExitCode.OK
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    runs = read_runs(out / ".archiver" / "runs.jsonl")
    assert [r["status"] for r in runs] == ["locked", "ok"]


@pytest.mark.slow
def test_custom_lock_path(tmp_path, site_server):
    site, _ = build(dated_articles(old=1, young=1), tmp_path / "v1")
    out, custom = tmp_path / "out", tmp_path / "locks" / "finews.lock"
    holder = hold_lock(custom)
    try:
        result = crawl(out, site_server(site).proxy_url, "--lock", str(custom))
        assert result.returncode == ExitCode.LOCKED
    finally:
        stop(holder)
    result = crawl(out, site_server(site).proxy_url, "--lock", str(custom))
    assert result.returncode == ExitCode.OK, result.stderr
    assert not (out / ".archiver" / "lock").exists()

"""A run that cannot write its archive stops at once: exit 1, one line, nothing half-written.

The OS errors are real: tests run as root (file permissions do not stop root), so the crawl runs
under a file size limit (``RLIMIT_FSIZE``, with ``SIGXFSZ`` ignored: writes past it fail with
EFBIG), or into a small tmpfs (ENOSPC) where mounting one is allowed. Each time the next run,
with room, completes the archive exactly.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from archiver.devserver.server import SiteServer
from tests.crawlrun import REPO, SITE_URL, archiver_env, crawl
from tests.incsite import archive_files, temp_files

pytestmark = pytest.mark.slow

DEMO = Path(__file__).resolve().parents[2] / "spiders" / "demo"  # the demo site: DEMO / "site"
RECHECK = ("--recheck-days", "100000")
# Runs the archiver under a file size limit; SIGXFSZ ignored, so a write past it fails with EFBIG.
LIMITED = """
import resource, runpy, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
sys.argv = ["archiver", *sys.argv[2:]]
runpy.run_module("archiver", run_name="__main__", alter_sys=True)
"""
LINE = re.compile(r"^archiver: cannot write the archive: (?P<path>\S+): (?P<error>.+)$")


# A page is stored once the spider has read it (a changed page never replaces a stored one), and a
# stopping crawl finishes the downloads under way: with two at a time, "stops at once" is measurable.
STOPPING = ("--concurrency", "2")


def crawl_limited(output: Path, proxy: str, limit: int, *extra: str) -> subprocess.CompletedProcess[str]:
    args = ["crawl", "finews", "--start-url", SITE_URL, "--output", str(output), *RECHECK, *STOPPING, *extra]
    env = {**archiver_env(proxy), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-c", LIMITED, str(limit), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def fetched(stderr: str) -> int:
    match = re.search(r"pages: (\d+) fetched", stderr)
    assert match is not None, stderr[-2000:]
    return int(match.group(1))


def last_run(output: Path) -> dict:
    lines = (output / ".archiver" / "runs.jsonl").read_text("utf-8").splitlines()
    return json.loads(lines[-1])


@pytest.fixture(scope="module")
def exact(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], int]:
    """The demo's archive from a run with room, and the number of pages that run fetched."""
    output = tmp_path_factory.mktemp("exact") / "archive"
    with SiteServer(DEMO / "site", max_seconds=300) as server:
        result = crawl(output, server.proxy_url, *RECHECK)
    assert result.returncode == 0, result.stderr[-2000:]
    return archive_files(output), fetched(result.stderr)


def assert_stopped_in_one_line(result: subprocess.CompletedProcess[str], output: Path, most: float) -> Path:
    assert result.returncode == 1, result.stderr[-3000:]
    last = result.stderr.rstrip("\n").splitlines()[-1]
    match = LINE.match(last)
    assert match is not None, last
    assert Path(match["path"]).is_relative_to(output)
    # One error line in the log (plus the last line), no traceback, no item dumped. On a full disk
    # the run report cannot be appended either, which is one line more.
    assert "Traceback" not in result.stderr
    assert "Error processing" not in result.stderr
    errors = [
        line for line in result.stderr.splitlines() if "] ERROR: " in line and "cannot write the run report" not in line
    ]
    assert len(errors) == 1 and "cannot write the archive" in errors[0], errors
    assert fetched(result.stderr) < most
    assert temp_files(output) == []
    return Path(match["path"])


@pytest.mark.parametrize(
    ("limit", "extra", "where", "share"),
    [
        # The page store's first page (the home page) is past the limit: the run stops at once.
        (3000, (), ".archiver/pages", 0.25),
        # No page store: the first post past the limit stops the run, the pages after it are not fetched.
        (1200, ("-s", "ARCHIVER_INCREMENTAL=False"), "_posts", 1.0),
    ],
)
def test_a_file_size_limit_stops_the_run_and_the_next_run_completes(
    exact: tuple[dict[str, bytes], int],
    tmp_path: Path,
    limit: int,
    extra: tuple[str, ...],
    where: str,
    share: float,
) -> None:
    files, total = exact
    output = tmp_path / "archive"
    with SiteServer(DEMO / "site", max_seconds=300) as server:
        result = crawl_limited(output, server.proxy_url, limit, *extra)
        path = assert_stopped_in_one_line(result, output, total * share)
        assert where in str(path.relative_to(output))
        assert "File too large" in result.stderr.splitlines()[-1]
        run = last_run(output)
        assert run["status"] == "error"
        assert run["finish_reason"] == "archive_unwritable"
        assert run["error"].startswith("cannot write the archive: ")
        # Whatever was written is whole: every archived post is the exact file.
        for name, data in archive_files(output).items():
            assert data == files[name], name
        again = crawl(output, server.proxy_url, *RECHECK, *extra)
    assert again.returncode == 0, again.stderr[-2000:]
    assert archive_files(output) == files
    assert temp_files(output) == []


def test_a_full_disk_stops_the_run_and_the_next_run_completes(
    exact: tuple[dict[str, bytes], int], tmp_path: Path
) -> None:
    files, total = exact
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        output = mount / "archive"
        with SiteServer(DEMO / "site", max_seconds=300) as server:
            result = crawl(output, server.proxy_url, *RECHECK, *STOPPING)
            assert_stopped_in_one_line(result, output, total * 0.5)
            assert "No space left on device" in result.stderr.splitlines()[-1]
            for name, data in archive_files(output).items():
                assert data == files[name], name
            moved = tmp_path / "archive"
            shutil.copytree(output, moved, symlinks=True)
            again = crawl(moved, server.proxy_url, *RECHECK)
    finally:
        subprocess.run(["umount", str(mount)], check=True)
    assert again.returncode == 0, again.stderr[-2000:]
    assert archive_files(moved) == files
    assert temp_files(moved) == []


def test_a_read_only_archive_fails_in_one_line_and_is_completed_once_writable(
    exact: tuple[dict[str, bytes], int], tmp_path: Path
) -> None:
    files, _ = exact
    mount = tmp_path / "ro"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        output = mount / "archive"
        with SiteServer(DEMO / "site", max_seconds=300) as server:
            assert crawl(output, server.proxy_url, *RECHECK).returncode == 0
            missing = output / "_posts" / "2023-03-02-NW202303021645000505.md"
            missing.unlink()
            subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
            # The run lock is the first write: refused at once.
            locked = crawl(output, server.proxy_url, *RECHECK)
            assert locked.returncode == 1, locked.stderr[-2000:]
            lock = output / ".archiver" / "lock"
            assert (
                locked.stderr.splitlines()[-1] == f"archiver: cannot write the archive: {lock}: Read-only file system"
            )
            # With the lock elsewhere, the missing post is the first write.
            result = crawl(output, server.proxy_url, *RECHECK, "--lock", str(tmp_path / "lock"))
            assert result.returncode == 1, result.stderr[-2000:]
            assert (
                result.stderr.splitlines()[-1]
                == f"archiver: cannot write the archive: {missing}: Read-only file system"
            )
            assert "Traceback" not in result.stderr
            subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=True)
            again = crawl(output, server.proxy_url, *RECHECK)
            assert again.returncode == 0, again.stderr[-2000:]
            assert archive_files(output) == files
    finally:
        subprocess.run(["umount", str(mount)], check=True)

"""Faults: 5xx answers, dropped connections, truncated bodies, pages that keep failing, and no open port.

Crawls of the hostile fixture site (``tests/fixtures/hostile``) through a fault-injecting
``SiteServer`` must end, within two runs, with the same archive as a crawl without faults; a
truncated body is never archived; a page that still fails is reported (exit 2, run report) and
archived by the next run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archiver.devserver.server import SiteServer
from tests.crawlrun import REPO, SITE_URL, archiver_env, crawl

SITE = Path(__file__).resolve().parents[1] / "fixtures" / "hostile" / "site"
# Small pages, short waits: the backoff is exercised, the test stays fast.
FAST = (
    "-s",
    "ARCHIVER_MAX_PAGE_BYTES=40000",
    "-s",
    "ARCHIVER_RETRY_BACKOFF=0.02",
    "-s",
    "ARCHIVER_RETRY_BACKOFF_MAX=0.1",
)


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for folder in ("_posts", "category")
        for p in sorted((root / folder).glob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    output = tmp_path_factory.mktemp("clean") / "archive"
    with SiteServer(SITE, max_seconds=300) as server:
        result = crawl(output, server.proxy_url, *FAST)
    assert result.returncode == 0, result.stderr[-2000:]
    files = snapshot(output)
    assert len([name for name in files if name.startswith("_posts/")]) == 32
    return files


@pytest.mark.parametrize("seed", [1, 2])
def test_faults_leave_the_archive_complete_and_exact_within_two_runs(
    expected: dict[str, bytes], tmp_path: Path, seed: int
) -> None:
    output = tmp_path / "archive"
    with SiteServer(SITE, fail=0.2, drop=0.05, truncate=0.05, seed=seed, max_seconds=300) as server:
        codes = []
        for _ in range(2):
            result = crawl(output, server.proxy_url, *FAST)
            codes.append(result.returncode)
            assert result.returncode in (0, 2), result.stderr[-2000:]
            if snapshot(output) == expected:
                break
        faults = server.stats()
    assert snapshot(output) == expected, f"exit codes {codes}"
    assert faults.get("fail", 0) and faults.get("truncate", 0) and faults.get("drop", 0), faults


def test_truncated_bodies_are_never_archived(expected: dict[str, bytes], tmp_path: Path) -> None:
    output = tmp_path / "archive"
    with SiteServer(SITE, truncate=0.5, seed=3, max_seconds=300) as server:
        result = crawl(output, server.proxy_url, *FAST, "-s", "ARCHIVER_INCREMENTAL=False")
        truncated = server.stats().get("truncate", 0)
    assert truncated > 10
    assert result.returncode in (0, 2), result.stderr[-2000:]
    archived = snapshot(output)
    assert len(archived) > 10
    for name, data in archived.items():
        if name.startswith("_posts/"):
            assert data == expected[name], f"{name} differs from the complete page's post"
    report = json.loads((output / ".archiver" / "runs.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    failures = {error["error"] for error in report["errors"] if error["error"].startswith("failed")}
    assert failures <= {"failed: truncated"}
    assert bool(failures) == (result.returncode == 2)


def test_a_page_that_keeps_failing_is_reported_and_archived_by_the_next_run(
    expected: dict[str, bytes], tmp_path: Path
) -> None:
    output = tmp_path / "archive"
    broken = {"infoCode=B05safe": 503, "T01quote.html": 500}
    with SiteServer(SITE, fail_paths=broken, max_seconds=300) as server:
        first = crawl(output, server.proxy_url, *FAST)
        tries = server.count(path_contains="infoCode=B05safe")
    assert first.returncode == 2, first.stderr[-2000:]
    assert tries == 6  # the first try and RETRY_TIMES=5 retries
    assert "2 failed" in first.stderr
    names = set(snapshot(output))
    assert "_posts/2022-05-01-B05safe.md" not in names  # never from its post page: the next run makes it exact
    assert "_posts/2022-05-01-T01quote.md" not in names
    report = json.loads((output / ".archiver" / "runs.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    failed = {(e["url"], e["error"]) for e in report["errors"] if e["error"].startswith("failed")}
    assert failed == {
        ("http://finews.zning.xyz/html_News/NewsShare.html?infoCode=B05safe", "failed: http_503"),
        ("http://finews.withounder.com/liuzhouwanbao/2022/05/01/T01quote.html", "failed: http_500"),
    }
    with SiteServer(SITE, max_seconds=300) as server:
        second = crawl(output, server.proxy_url, *FAST)
    assert second.returncode == 0, second.stderr[-2000:]
    assert snapshot(output) == expected


def test_a_listing_that_failed_is_requested_again_by_the_next_run(expected: dict[str, bytes], tmp_path: Path) -> None:
    output = tmp_path / "archive"
    with SiteServer(SITE, fail_paths={"/category/tagtest.html": 503}, max_seconds=300) as server:
        first = crawl(output, server.proxy_url, *FAST)
    assert first.returncode == 2
    retry = json.loads((output / ".archiver" / "retry.json").read_text(encoding="utf-8"))
    assert [(entry["url"], entry["callback"]) for entry in retry] == [
        ("http://finews.withounder.com/category/tagtest.html", "parse_listing")
    ]
    # The next run knows every post and no longer reaches the listing through them: the retry list does.
    with SiteServer(SITE, max_seconds=300) as server:
        second = crawl(output, server.proxy_url, *FAST)
        again = server.count(status=200, path_contains="/category/tagtest.html")
    assert second.returncode == 0, second.stderr[-2000:]
    assert again == 1
    assert not (output / ".archiver" / "retry.json").exists()
    assert snapshot(output) == expected


def _listening_sockets(pid: int) -> set[str]:
    """Local addresses of the TCP sockets in LISTEN state that process ``pid`` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.add(f"{table} {fields[1]}")
    return found


@pytest.mark.skipif(not Path("/proc/self/net/tcp").exists(), reason="needs Linux /proc")
def test_a_crawl_opens_no_listening_socket(tmp_path: Path) -> None:
    with SiteServer(SITE, delay=0.1, max_seconds=300) as server:
        command = [sys.executable, "-m", "archiver", "crawl", "finews", "--start-url", SITE_URL]
        command += ["--output", str(tmp_path / "archive"), "--log-file", str(tmp_path / "crawl.log"), *FAST]
        process = subprocess.Popen(command, cwd=REPO, env=archiver_env(server.proxy_url))
        listening: set[str] = set()
        polls = 0
        try:
            while process.poll() is None:
                try:
                    listening |= _listening_sockets(process.pid)
                    polls += 1
                except FileNotFoundError:
                    break  # it just ended
                time.sleep(0.05)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=60)
        fetched = server.count(status=200)
    assert process.returncode == 0
    assert polls >= 10 and fetched > 10
    assert not listening

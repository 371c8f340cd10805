"""kill -9 at any moment: only whole files at every instant, and the next run completes the archive exactly."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from archiver.store.pagestore import _decode
from tests.crawlrun import REPO, SITE_URL, archiver_env, crawl
from tests.incsite import archive_files, build, dated_articles, temp_files

pytestmark = pytest.mark.slow
CRAWL = (sys.executable, "-m", "archiver", "crawl", "finews", "--start-url", SITE_URL)


class Watcher(threading.Thread):
    """Looks at the archive every few milliseconds: every visible file must be whole at every look."""

    def __init__(self, output: Path, reference: dict[str, bytes]) -> None:
        super().__init__(daemon=True)
        self.output = output
        self.reference = reference
        self.problems: list[str] = []
        self.looks = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.look()
            time.sleep(0.005)

    def look(self) -> None:
        self.looks += 1
        try:
            files = archive_files(self.output)
        except FileNotFoundError:
            return  # a file renamed away between listing and reading: look again
        for name, data in files.items():
            if self.reference.get(name) != data:
                self.problems.append(f"{name}: not the whole file ({len(data)} bytes)")
        for page in (self.output / ".archiver" / "pages").rglob("*.page"):
            try:
                data = page.read_bytes()
            except FileNotFoundError:
                continue
            if _decode(data) is None:
                self.problems.append(f"{page}: a partial page store file")


def start_crawl(output: Path, proxy: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CRAWL, "--output", str(output), "--concurrency", "2"],
        cwd=REPO,
        env=archiver_env(proxy),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def posts_written(output: Path) -> int:
    folder = output / "_posts"
    return sum(1 for p in folder.iterdir() if not p.name.startswith(".")) if folder.is_dir() else 0


def test_kill_9_at_several_moments_then_one_run_completes_the_archive(tmp_path, site_server):
    articles = dated_articles(old=8, young=8)
    site, _ = build(articles, tmp_path / "v1")
    server = site_server(site, delay=0.1)
    reference_dir = tmp_path / "reference"
    assert crawl(reference_dir, server.proxy_url).returncode == 0
    reference = archive_files(reference_dir)
    assert len([n for n in reference if n.startswith("_posts/")]) == len(articles)

    out = tmp_path / "out"
    watcher = Watcher(out, reference)
    watcher.start()
    rng = random.Random(20240601)
    # Moments: during start-up, early in the crawl, in its middle; each after a random extra delay.
    moments = [("start-up", 0), ("early", 2), ("middle", len(articles) // 2)]
    killed_at = []
    try:
        for label, posts in moments:
            proc = start_crawl(out, server.proxy_url)
            deadline = time.monotonic() + 60
            while posts and posts_written(out) < posts and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.05, 0.4))
            assert proc.poll() is None, f"the crawl ended before the {label} kill"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            killed_at.append((label, posts_written(out)))
            watcher.look()
        assert killed_at[-1][1] < len(articles), f"every kill must interrupt the crawl: {killed_at}"
        final = crawl(out, server.proxy_url)
        assert final.returncode == 0, final.stderr[-2000:]
    finally:
        watcher.done.set()
        watcher.join(timeout=5)
    assert watcher.problems == []
    assert watcher.looks > 50
    assert archive_files(out) == reference
    assert temp_files(out) == []

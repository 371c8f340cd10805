"""``scrapy crawl finews`` exits with the codes ``archiver crawl`` documents, not always 0.

Each case is a real ``scrapy crawl`` in a subprocess, from the project root, against the demo
site on loopback: a plain run 0, failed pages 2, a held lock 3, a changed site 4, a bad setting
and an unknown spider 64. The run report in ``runs.jsonl`` says the same.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from archiver.devserver.server import SiteServer
from archiver.running.runner import ExitCode
from tests import sitechanges
from tests.crawlrun import REPO, SITE_URL, archiver_env

DEMO = REPO / "spiders" / "demo" / "site"
FAST = ("-s", "ARCHIVER_RETRY_BACKOFF=0.02", "-s", "ARCHIVER_RETRY_BACKOFF_MAX=0.1")


def scrapy_crawl(
    output: Path, proxy: str | None, *extra: str, spider: str = "finews"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", spider, "-a", f"start_url={SITE_URL}",
         "-s", f"ARCHIVER_OUTPUT_DIR={output}", *extra],
        cwd=REPO,
        env=archiver_env(proxy),
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip


def last_run(output: Path) -> dict[str, Any]:
    return json.loads((output / ".archiver" / "runs.jsonl").read_text(encoding="utf-8").splitlines()[-1])


def test_a_run_that_archived_everything_exits_0(tmp_path: Path) -> None:
    output = tmp_path / "archive"
    with SiteServer(DEMO, max_seconds=120) as server:
        result = scrapy_crawl(output, server.proxy_url)
    assert result.returncode == ExitCode.OK, result.stderr[-3000:]
    assert last_run(output)["status"] == "ok"
    posts = len(list((output / "_posts").glob("*.md")))
    assert posts
    assert f"[archiver.commands.crawl] INFO: posts: {posts} new," in result.stderr


def test_a_changed_site_exits_4(tmp_path: Path) -> None:
    site = sitechanges.changed_copy(DEMO, "title_out_of_h1", tmp_path / "site")
    output = tmp_path / "archive"
    with SiteServer(site, max_seconds=120) as server:
        result = scrapy_crawl(output, server.proxy_url)
    assert result.returncode == ExitCode.SITE_CHANGED, result.stderr[-3000:]
    assert last_run(output)["status"] == "site_changed"
    assert "the spider needs updating" in result.stderr


def test_pages_that_failed_for_good_exit_2(tmp_path: Path) -> None:
    output = tmp_path / "archive"
    with SiteServer(DEMO, fail_paths={"NewsShare": 503}, max_seconds=120) as server:
        result = scrapy_crawl(output, server.proxy_url, *FAST)
    assert result.returncode == ExitCode.PAGES_FAILED, result.stderr[-3000:]
    assert any(e["error"] == "failed: http_503" for e in last_run(output)["errors"])


def test_a_held_lock_exits_3_with_one_line(tmp_path: Path) -> None:
    output = tmp_path / "archive"
    (output / ".archiver").mkdir(parents=True)
    with open(output / ".archiver" / "lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = scrapy_crawl(output, None)
    assert result.returncode == ExitCode.LOCKED, result.stderr[-3000:]
    assert "the crawl could not start: another run holds the lock" in result.stderr
    assert "Traceback" not in result.stderr
    assert last_run(output)["status"] == "locked"


@pytest.mark.parametrize(
    ("extra", "spider", "said"),
    [
        (("-s", "ARCHIVER_RECHECK_DAYS=abc"), "finews", "ARCHIVER_RECHECK_DAYS='abc' is not a whole number"),
        (
            ("-s", "ARCHIVER_RECHECK_DAYS=abc", "-s", "FORCE_CRAWLER_PROCESS=True"),  # a Deferred, not a Task
            "finews",
            "ARCHIVER_RECHECK_DAYS='abc' is not a whole number",
        ),
        ((), "nosuch", "no spider named 'nosuch'"),
    ],
    ids=["bad-setting", "bad-setting-crawlerprocess", "unknown-spider"],
)
def test_a_bad_setting_or_spider_exits_64_before_any_request(
    extra: tuple[str, ...], spider: str, said: str, tmp_path: Path
) -> None:
    with SiteServer(DEMO, max_seconds=120) as server:
        result = scrapy_crawl(tmp_path / "archive", server.proxy_url, *extra, spider=spider)
        assert server.count() == 0
    assert result.returncode == ExitCode.USAGE, result.stderr[-3000:]
    assert said in result.stderr
    assert "Traceback" not in result.stderr


def test_scrapy_usage_errors_stay_scrapy_s(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl"],
        cwd=REPO,
        env=archiver_env(None),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    help_text = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "-h"],
        cwd=REPO,
        env=archiver_env(None),
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "4 the site" in " ".join(help_text.split())

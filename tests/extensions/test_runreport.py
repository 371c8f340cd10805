"""The run report (runs.jsonl) and progress output for people."""

from __future__ import annotations

import datetime as dt
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from archiver.extensions.progress import progress_line
from archiver.running.runner import ExitCode
from archiver.store.runlog import append_line, read_runs, status_of, summarize
from tests.crawlrun import REPO, SITE_URL, archiver_env, crawl
from tests.incsite import build, dated_articles

CRAWL = (sys.executable, "-m", "archiver", "crawl", "finews", "--start-url", SITE_URL)
TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def runs(output: Path) -> list[dict]:
    return read_runs(output / ".archiver" / "runs.jsonl")


@pytest.mark.slow
def test_report_lines_count_what_each_run_did(tmp_path, site_server):
    articles = dated_articles(old=3, young=3)
    site, _ = build(articles, tmp_path / "v1")
    server = site_server(site)
    out = tmp_path / "out"
    assert crawl(out, server.proxy_url).returncode == 0
    assert crawl(out, server.proxy_url).returncode == 0
    first, second = runs(out)
    for run in (first, second):
        start, end = dt.datetime.fromisoformat(run["start"]), dt.datetime.fromisoformat(run["end"])
        assert start <= end and run["duration"] >= 0
        assert run["status"] == "ok" and run["finish_reason"] == "finished"
        assert run["failed"] == 0 and run["errors"] == [] and run["dropped"] == {}
    assert first["posts"] == {"new": 6, "updated": 0, "unchanged": 0, "skipped_known": 0}
    assert first["pages"] == server.count() - second["pages"] and first["not_modified"] == 0
    assert second["posts"] == {"new": 0, "updated": 0, "unchanged": 3, "skipped_known": 3}
    assert second["not_modified"] == second["pages"] > 0


@pytest.mark.slow
def test_failed_pages_and_drops_are_reported_with_their_urls(tmp_path, site_server):
    articles = dated_articles(old=3, young=3, seed=2)
    emnews = next(a for a in articles if a.is_emnews)
    missing = next(a for a in articles if not a.is_emnews)
    site, _ = build(articles, tmp_path / "v1")
    host = site / "finews.withounder.com"
    (host / missing.url.lstrip("/")).unlink()
    page = host / emnews.url.lstrip("/")
    page.write_text(TIME.sub("some day", page.read_text(encoding="utf-8"), count=1), encoding="utf-8")
    out = tmp_path / "out"
    result = crawl(out, site_server(site).proxy_url)
    assert result.returncode == ExitCode.PAGES_FAILED, result.stderr[-2000:]
    (run,) = runs(out)
    assert run["status"] == "pages_failed" and run["failed"] == 1
    assert run["dropped"] == {"no_date": 1}
    assert run["posts"]["new"] == len(articles) - 2
    errors = {e["url"]: e["error"] for e in run["errors"]}
    assert any(url.endswith(missing.url) and "404" in error for url, error in errors.items()), errors
    assert any(url.endswith(emnews.url) and "no_date" in error for url, error in errors.items()), errors
    assert run["error_count"] == len(run["errors"]) == 2


@pytest.mark.slow
def test_progress_lines_in_the_log_when_not_on_a_terminal(tmp_path, site_server):
    site, _ = build(dated_articles(old=2, young=2), tmp_path / "v1")
    server = site_server(site, delay=0.2)
    log = tmp_path / "crawl.log"
    result = crawl(
        tmp_path / "out", server.proxy_url, "--concurrency", "1", "--log-file", str(log),
        "-s", "ARCHIVER_PROGRESS_INTERVAL=0.5",
    )  # fmt: skip
    assert result.returncode == 0
    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if "progress: pages" in line]
    assert lines and "[archiver.extensions.progress] INFO" in lines[0]
    assert re.search(r"pages \d+ \(\d+ not modified\), queue \d+ \| posts \d+ new", lines[-1])


@pytest.mark.slow
def test_live_line_on_a_terminal(tmp_path, site_server):
    site, _ = build(dated_articles(old=2, young=2), tmp_path / "v1")
    server = site_server(site, delay=0.3)
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.Popen(
            [*CRAWL, "--output", str(tmp_path / "out"), "--concurrency", "1", "--log-level", "WARNING"],
            cwd=REPO,
            env=archiver_env(server.proxy_url),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=terminal,
        )
        os.close(terminal)
        output = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            output += chunk
        assert proc.wait(timeout=60) == 0
    finally:
        os.close(controller)
    text = output.decode("utf-8", "replace")
    assert "\r\x1b[K" in text
    assert re.search(r"pages \d+ \(\d+ not modified\), queue \d+ \| posts \d+ new, \d+ updated", text)


# --- units ------------------------------------------------------------------------------------------------


def test_append_line_keeps_lines_whole_after_a_torn_one(tmp_path):
    path = tmp_path / "runs.jsonl"
    append_line(path, {"a": 1})
    with open(path, "ab") as handle:
        handle.write(b'{"torn": ')  # what a disk could leave of a line
    append_line(path, {"b": "二"})
    assert read_runs(path) == [{"a": 1}, {"b": "二"}]
    assert path.read_text(encoding="utf-8").endswith('{"b": "二"}\n')


def test_summary_and_status_of_stats():
    stats = {
        "downloader/response_count": 10,
        "downloader/response_status_count/304": 4,
        "archiver/posts/new": 2,
        "archiver/posts/skipped_known": 7,
        "archiver/items/dropped/no_title": 1,
        "archiver/items/dropped": 1,
        "archiver/requests/skipped/out_of_window": 3,
        "finish_reason": "finished",
    }
    summary = summarize(stats)
    assert summary["pages"] == 10 and summary["not_modified"] == 4
    assert summary["posts"] == {"new": 2, "updated": 0, "unchanged": 0, "skipped_known": 7}
    assert summary["dropped"] == {"no_title": 1}
    assert summary["skipped_requests"] == {"out_of_window": 3}
    assert status_of(stats) == "ok"
    assert status_of({**stats, "archiver/pages/failed": 1}) == "pages_failed"
    assert status_of({**stats, "finish_reason": "shutdown"}) == "error"
    line = progress_line(stats, queued=5, elapsed=125)
    assert line.startswith("pages 10 (4 not modified), queue 5 | posts 2 new, 0 updated, 0 unchanged, 7 known")
    assert line.endswith("0:02:05")

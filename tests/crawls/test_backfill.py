"""Backfills: --since/--until, --category, --share-urls, and --jobdir queues that resume."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archiver.running.runner import ExitCode
from archiver.store.runlog import read_runs
from tests.crawlrun import REPO, SITE_URL, archiver_env, crawl
from tests.incsite import archive_files, build, dated_articles, requested, temp_files

pytestmark = pytest.mark.slow
CRAWL = (sys.executable, "-m", "archiver", "crawl", "finews", "--start-url", SITE_URL)


def posts_of(files: dict[str, bytes]) -> set[str]:
    return {name.split("/", 1)[1] for name in files if name.startswith(("_posts/", "old_post/"))}


def test_since_until_neither_fetches_nor_writes_posts_outside(tmp_path, site_server):
    articles = dated_articles(old=8, young=2)
    since, until = articles[2].time.date(), articles[5].time.date()
    site, _ = build(articles, tmp_path / "v1")
    server = site_server(site)
    out = tmp_path / "out"
    result = crawl(out, server.proxy_url, "--since", since.isoformat(), "--until", until.isoformat())
    assert result.returncode == 0, result.stderr
    inside = [a for a in articles if since <= a.time.date() <= until]
    assert len(inside) == 4
    assert posts_of(archive_files(out)) == {a.filename for a in inside}
    for article in articles:
        if article not in inside:
            assert requested(server, article.url) == 0, article.url
            assert requested(server, article.code) == 0
    run = read_runs(out / ".archiver" / "runs.jsonl")[-1]
    assert run["window"]["since"] == since.isoformat()
    assert run["skipped_requests"]["out_of_window"] >= 1
    assert run["posts"]["new"] == 4
    # A later run without a window completes the archive.
    assert crawl(out, server.proxy_url).returncode == 0
    assert posts_of(archive_files(out)) == {a.filename for a in articles}


def test_bad_dates_are_usage_errors(tmp_path):
    from tests.crawlrun import run_archiver

    result = run_archiver("crawl", "finews", "--output", str(tmp_path), "--since", "2024-13-01")
    assert result.returncode == ExitCode.USAGE
    result = run_archiver("crawl", "finews", "--output", str(tmp_path), "-s", "ARCHIVER_UNTIL=soon")
    assert result.returncode == ExitCode.USAGE, result.stderr[-500:]


def test_category_limits_fetching_and_writing(tmp_path, site_server):
    articles = dated_articles(old=10, young=4, seed=3)
    chosen = "liuzhouwanbao"
    assert any(a.slug == chosen for a in articles) and any(a.slug != chosen for a in articles)
    site, _ = build(articles, tmp_path / "v1")
    server = site_server(site)
    out = tmp_path / "out"
    result = crawl(out, server.proxy_url, "--category", chosen)
    assert result.returncode == 0, result.stderr
    assert posts_of(archive_files(out)) == {a.filename for a in articles if a.slug == chosen}
    assert set(archive_files(out)) >= {f"category/{chosen}.html"}
    for article in articles:
        if article.slug != chosen:
            assert requested(server, article.url) == 0
            assert requested(server, article.category_path) == 0


def test_share_urls_build_posts_whose_post_pages_are_gone(tmp_path, site_server):
    articles = dated_articles(old=6, young=2, seed=4)
    media = [a for a in articles if not a.is_emnews]
    gone, kept = media[:2], media[2]
    site, expected = build(articles, tmp_path / "v1")
    for article in gone:
        (site / "finews.withounder.com" / article.url.lstrip("/")).unlink()
    share_list = tmp_path / "share-urls.txt"
    share_list.write_text(
        f"# backfill\n{gone[0].share_url}\n\n{gone[1].code}\n{kept.share_url}\n{gone[0].share_url}\n", encoding="utf-8"
    )
    server = site_server(site)
    out = tmp_path / "out"
    result = crawl(out, server.proxy_url, "--share-urls", str(share_list))
    assert result.returncode == 0, result.stderr
    files = archive_files(out)
    assert posts_of(files) == {a.filename for a in (*gone, kept)}
    for article in (*gone, kept):
        name = f"_posts/{article.filename}"
        assert files[name] == (expected / name).read_bytes(), name
    assert requested(server, "/index.html") == 0 and server.count(path_contains="/category/") == 0
    assert not any(r.path == "/" for r in server.requests)
    # Known posts are not fetched again.
    server.reset_log()
    assert crawl(out, server.proxy_url, "--share-urls", str(share_list)).returncode == 0
    assert server.count() == 0


def test_share_urls_file_must_be_readable_and_well_formed(tmp_path):
    from tests.crawlrun import run_archiver

    bad = tmp_path / "bad.txt"
    bad.write_text("http://example.com/not-a-share-link\n", encoding="utf-8")
    for path in (bad, tmp_path / "missing.txt"):
        result = run_archiver("crawl", "finews", "--output", str(tmp_path / "out"), "--share-urls", str(path))
        assert result.returncode == ExitCode.USAGE, result.stderr[-500:]


def start_crawl(output: Path, proxy: str, jobdir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CRAWL, "--output", str(output), "--concurrency", "1", "--jobdir", str(jobdir)],
        cwd=REPO,
        env=archiver_env(proxy),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for_posts(output: Path, count: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        folder = output / "_posts"
        if folder.is_dir() and sum(1 for p in folder.iterdir() if not p.name.startswith(".")) >= count:
            return
        time.sleep(0.01)
    raise AssertionError("the crawl did not get far enough")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["clean-stop", "kill-9"])
def test_jobdir_resumes_after_a_clean_stop_and_survives_a_kill(tmp_path, site_server, stop):
    articles = dated_articles(old=8, young=2, seed=6)
    site, _ = build(articles, tmp_path / "v1")
    server = site_server(site, delay=0.06)
    reference = tmp_path / "reference"
    assert crawl(reference, server.proxy_url).returncode == 0
    out, jobdir = tmp_path / "out", tmp_path / "job"
    proc = start_crawl(out, server.proxy_url, jobdir)
    wait_for_posts(out, 3, proc)
    proc.send_signal(stop)
    proc.wait(timeout=60)
    marker = jobdir / "archiver-running"
    if stop == signal.SIGINT:
        assert (jobdir / "requests.queue").is_dir() and not marker.exists()
    else:
        assert marker.exists()
    server.reset_log()
    result = crawl(out, server.proxy_url, "--jobdir", str(jobdir), "--concurrency", "1")
    assert result.returncode == 0, result.stderr[-2000:]
    home = sum(1 for r in server.requests if r.path == "/")
    if stop == signal.SIGINT:
        assert home == 0, "a resumed job does not start over"
    else:
        assert home == 1, "after a kill, the job's queue is discarded and the crawl starts from the site"
        assert "did not stop cleanly" in result.stderr
    assert archive_files(out) == archive_files(reference)
    # The job is done: its state is cleared, so the folder serves the next backfill.
    assert not (jobdir / "requests.seen").exists() and not marker.exists()
    assert temp_files(out) == [] and temp_files(jobdir) == []

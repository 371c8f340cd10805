"""Settled listings: a re-run does not read again a listing answered 304 whose posts are all settled."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from archiver.store.pagestore import PageStore
from archiver.store.runlog import read_runs
from demo.generate import synthetic_articles
from tests.crawlrun import crawl
from tests.incsite import archive_files, build, dated_articles, full_fetches, requested, snapshot

pytestmark = pytest.mark.slow


def stat(result: subprocess.CompletedProcess[str], name: str) -> int:
    """A stat of the run, from the stats Scrapy logs at its end (0 when absent)."""
    assert result.returncode == 0, result.stderr
    match = re.search(rf"'{re.escape(name)}': (\d+)", result.stderr)
    return int(match.group(1)) if match else 0


def old_articles(n: int, seed: int = 3) -> list:
    """``n`` posts of long ago: outside any recheck window."""
    return synthetic_articles(n, seed)


def marks(out: Path) -> dict[str, dict]:
    store = PageStore(out / ".archiver" / "pages")
    return {page.url: page.extra["settled"] for page in store.listings() if "settled" in page.extra}


def test_second_rerun_over_an_unchanged_site_reads_no_listing(tmp_path, site_server):
    articles = old_articles(60)
    site, _ = build(articles, tmp_path / "v1")
    out = tmp_path / "out"
    server = site_server(site)
    first = crawl(out, server.proxy_url)
    assert stat(first, "archiver/listings/marked_settled") == 0  # every post was wanted
    second = crawl(out, server.proxy_url)
    listings = stat(second, "archiver/listings/remembered")
    assert listings > 2
    # Read once more, found settled: every listing is marked, with every post it links.
    assert stat(second, "archiver/listings/marked_settled") == listings
    assert stat(second, "archiver/listings/settled") == 0
    linked = set().union(*(set(mark["posts"]) for mark in marks(out).values()))
    assert linked == {a.code for a in articles}

    server.reset_log()
    before = snapshot(out)
    third = crawl(out, server.proxy_url)
    # Every listing was answered 304 and none was handed to the spider's parsing.
    assert stat(third, "archiver/listings/settled") == listings == server.count(status=304) == server.count()
    assert stat(third, "archiver/listings/marked_settled") == 0
    assert snapshot(out) == before, "a settled re-run writes nothing, not even the page store"
    run = read_runs(out / ".archiver" / "runs.jsonl")[-1]
    # Its posts are counted as known, as when the listings were read.
    assert run["posts"] == {"new": 0, "updated": 0, "unchanged": 0, "skipped_known": len(articles)}


def test_new_post_changes_its_listings_and_is_found(tmp_path, site_server):
    articles = old_articles(30)
    site, _ = build(articles[:-1], tmp_path / "v1")
    out = tmp_path / "out"
    server = site_server(site)
    crawl(out, server.proxy_url)
    assert stat(crawl(out, server.proxy_url), "archiver/listings/marked_settled") > 0
    assert stat(crawl(out, server.proxy_url), "archiver/listings/settled") > 0

    site2, expected2 = build(articles, tmp_path / "v2")
    server2 = site_server(site2)
    result = crawl(out, server2.proxy_url)
    new = articles[-1]
    name = f"_posts/{new.filename}"
    assert (out / name).read_bytes() == (expected2 / name).read_bytes()
    assert read_runs(out / ".archiver" / "runs.jsonl")[-1]["posts"]["new"] == 1
    # Its listings changed (answered 200, read); the others are still settled.
    assert stat(result, "archiver/listings/settled") < stat(result, "archiver/listings/remembered")
    assert archive_files(out).keys() == archive_files(expected2).keys()


def test_post_inside_the_recheck_window_keeps_its_listings_unsettled(tmp_path, site_server):
    articles = dated_articles(old=6, young=2)
    young = articles[6:]
    site, _ = build(articles, tmp_path / "v1")
    out = tmp_path / "out"
    server = site_server(site)
    crawl(out, server.proxy_url)
    crawl(out, server.proxy_url)
    server.reset_log()
    third = crawl(out, server.proxy_url)
    # The home page links the young posts: it is read on every run, and they are revalidated.
    assert stat(third, "archiver/listings/settled") < stat(third, "archiver/listings/remembered")
    for article in young:
        assert requested(server, article.url) == 1
    assert server.count(status=304) == server.count()
    home = "http://finews.withounder.com/"
    assert home not in marks(out)


def test_a_post_removed_from_the_archive_is_fetched_again(tmp_path, site_server):
    articles = old_articles(20)
    site, expected = build(articles, tmp_path / "v1")
    out = tmp_path / "out"
    server = site_server(site)
    for _ in range(3):
        crawl(out, server.proxy_url)
    gone = next(iter(sorted((out / "_posts").glob("*.md"))))
    gone.unlink()
    server.reset_log()
    result = crawl(out, server.proxy_url)
    assert gone.read_bytes() == (expected / "_posts" / gone.name).read_bytes()
    assert full_fetches(server, "post") == 1
    assert stat(result, "archiver/listings/settled") < stat(result, "archiver/listings/remembered")


def test_a_backfill_window_marks_only_listings_of_window_posts_and_a_later_run_finds_the_rest(tmp_path, site_server):
    articles = old_articles(30)
    days = sorted({a.time.date() for a in articles})
    middle = days[len(days) // 2]
    site, expected = build(articles, tmp_path / "v1")
    out = tmp_path / "out"
    server = site_server(site)
    crawl(out, server.proxy_url, "--since", middle.isoformat())
    windowed = crawl(out, server.proxy_url, "--since", middle.isoformat())
    # A listing that links a post before the window dismissed it for this run's window alone:
    # not settled. Only listings of archived posts are.
    in_window = {a.code for a in articles if a.time.date() >= middle}
    assert stat(windowed, "archiver/listings/marked_settled") < stat(windowed, "archiver/listings/remembered")
    assert all(set(mark["posts"]) <= in_window for mark in marks(out).values())
    full = crawl(out, server.proxy_url)
    assert archive_files(out).keys() == archive_files(expected).keys()
    assert read_runs(out / ".archiver" / "runs.jsonl")[-1]["posts"]["new"] == len(articles) - len(in_window)
    assert stat(full, "archiver/listings/settled") <= stat(windowed, "archiver/listings/marked_settled")


def test_incremental_off_reads_every_listing(tmp_path, site_server):
    articles = old_articles(20)
    site, _ = build(articles, tmp_path / "v1")
    out = tmp_path / "out"
    server = site_server(site)
    for _ in range(2):
        crawl(out, server.proxy_url)
    assert marks(out)
    server.reset_log()
    result = crawl(out, server.proxy_url, "-s", "ARCHIVER_INCREMENTAL=0")
    assert stat(result, "archiver/listings/settled") == 0
    assert full_fetches(server, "post") == len(articles)

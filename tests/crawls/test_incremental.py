"""Incremental, change-aware re-runs against the counting, 304-answering SiteServer."""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver.crawl.window import Window
from archiver.format.post import POST_FILE
from archiver.store.index import ArchiveIndex
from archiver.store.pagestore import PageStore, StoredPage
from archiver.store.runlog import read_runs
from demo.generate import synthetic_articles
from tests.crawlrun import crawl
from tests.incsite import (
    archive_files,
    beijing_now,
    build,
    dated_articles,
    edited,
    full_fetches,
    requested,
    snapshot,
    temp_files,
)

pytestmark = pytest.mark.slow


def last_run(output: Path) -> dict:
    return read_runs(output / ".archiver" / "runs.jsonl")[-1]


def test_unchanged_rerun_writes_nothing_and_fetches_no_post_or_share_page(tmp_path, site_server):
    articles = dated_articles(old=6, young=6)
    site, _ = build(articles, tmp_path / "v1")
    out = tmp_path / "out"
    server = site_server(site)
    first = crawl(out, server.proxy_url)
    assert first.returncode == 0, first.stderr
    assert last_run(out)["posts"]["new"] == len(articles)

    server.reset_log()
    before = snapshot(out)
    second = crawl(out, server.proxy_url)
    assert second.returncode == 0, second.stderr
    # Nothing but the page store's listings, found settled now (tests/crawls/test_settled_listings.py).
    assert not_listings(snapshot(out)) == not_listings(before), "an unchanged re-run must not write any file"
    assert full_fetches(server, "post") == 0
    assert full_fetches(server, "share") == 0
    run = last_run(out)
    assert run["posts"] == {"new": 0, "updated": 0, "unchanged": 6, "skipped_known": 6}
    # Every request that was made was revalidated: the young posts, their share pages, the listings.
    assert server.count() == server.count(status=304) == run["not_modified"] > 0
    # Old posts are not requested at all.
    for article in articles[:6]:
        assert requested(server, article.url) == 0
    assert temp_files(out) == []
    settled = snapshot(out)
    assert crawl(out, server.proxy_url).returncode == 0
    assert snapshot(out) == settled, "a second unchanged re-run writes no file at all"


def not_listings(files: dict[str, tuple]) -> dict[str, tuple]:
    return {path: st for path, st in files.items() if not path.startswith(".archiver/pages/listing/")}


def test_edit_inside_recheck_window_is_rewritten_outside_is_not_requested(tmp_path, site_server):
    articles = dated_articles(old=6, young=6)
    old_post = next(a for a in articles[:6] if not a.is_emnews)
    young_post = next(a for a in articles[6:] if not a.is_emnews)
    site, _ = build(articles, tmp_path / "v1")
    out = tmp_path / "out"
    assert crawl(out, site_server(site).proxy_url).returncode == 0
    before = archive_files(out)

    changed = edited(articles, {old_post.code, young_post.code})
    site2, expected2 = build(changed, tmp_path / "v2")
    server = site_server(site2)
    result = crawl(out, server.proxy_url)
    assert result.returncode == 0, result.stderr
    after = archive_files(out)
    young_file = f"_posts/{young_post.filename}"
    assert after[young_file] != before[young_file]
    assert after[young_file] == (expected2 / young_file).read_bytes()
    assert requested(server, old_post.url) == 0
    assert requested(server, old_post.code) == 0  # nor its share page
    assert after[f"_posts/{old_post.filename}"] == before[f"_posts/{old_post.filename}"]
    assert {k for k in after if after[k] != before.get(k)} == {young_file}
    run = last_run(out)
    assert run["posts"]["updated"] == 1
    assert run["posts"]["unchanged"] == 5
    assert run["posts"]["skipped_known"] == 6


def test_recheck_days_widens_the_window(tmp_path, site_server):
    articles = dated_articles(old=4, young=2, old_days=6)
    today = beijing_now().date()
    old_post = next(a for a in articles[:4] if not a.is_emnews and 3 < (today - a.time.date()).days <= 10)
    site, _ = build(articles, tmp_path / "v1")
    out = tmp_path / "out"
    assert crawl(out, site_server(site).proxy_url).returncode == 0
    site2, expected2 = build(edited(articles, {old_post.code}), tmp_path / "v2")
    server = site_server(site2)
    assert crawl(out, server.proxy_url, "--recheck-days", "10").returncode == 0
    name = f"_posts/{old_post.filename}"
    assert (out / name).read_bytes() == (expected2 / name).read_bytes()
    assert last_run(out)["posts"]["skipped_known"] == 0


def test_listing_pages_are_revalidated_and_new_posts_found_beyond_the_home_page(tmp_path, site_server):
    pool = [a for a in synthetic_articles(20, seed=5) if not a.is_emnews]
    now = dated_articles(old=0, young=1)[0].time
    paper = {"media": "柳州晚报", "slug": "liuzhouwanbao"}
    first = [replace(a, time=now - dt.timedelta(days=30 - i), **paper) for i, a in enumerate(pool[:4])]
    site, _ = build(first, tmp_path / "v1")
    out = tmp_path / "out"
    assert crawl(out, site_server(site).proxy_url).returncode == 0
    # Seven new posts of the same paper: the home page links only the newest five.
    later = [replace(a, time=now - dt.timedelta(days=10 - i), **paper) for i, a in enumerate(pool[4:11])]
    site2, _ = build(first + later, tmp_path / "v2")
    server = site_server(site2)
    assert crawl(out, server.proxy_url).returncode == 0
    assert requested(server, "/category/liuzhouwanbao.html") == 1
    names = set(archive_files(out))
    assert {f"_posts/{a.filename}" for a in first + later} <= names
    run = last_run(out)
    assert run["posts"]["new"] == 7
    assert run["posts"]["skipped_known"] == 4


def test_damaged_page_store_costs_a_fetch_never_a_missed_change(tmp_path, site_server):
    articles = dated_articles(old=2, young=4)
    young_post = next(a for a in articles[2:] if not a.is_emnews)
    site, _ = build(articles, tmp_path / "v1")
    out = tmp_path / "out"
    assert crawl(out, site_server(site).proxy_url).returncode == 0
    stored = sorted((out / ".archiver" / "pages").rglob("*.page"))
    assert stored
    for path in stored:  # truncate every stored page: its checksum no longer matches
        data = path.read_bytes()
        path.write_bytes(data[: len(data) - 5])
    site2, expected2 = build(edited(articles, {young_post.code}), tmp_path / "v2")
    server = site_server(site2)
    result = crawl(out, server.proxy_url)
    assert result.returncode == 0, result.stderr
    name = f"_posts/{young_post.filename}"
    assert (out / name).read_bytes() == (expected2 / name).read_bytes()
    assert server.count(status=304) == 0
    assert last_run(out)["posts"]["updated"] == 1


def test_incremental_off_fetches_everything(tmp_path, site_server):
    articles = dated_articles(old=3, young=1)
    site, _ = build(articles, tmp_path / "v1")
    out = tmp_path / "out"
    server = site_server(site)
    assert crawl(out, server.proxy_url).returncode == 0
    server.reset_log()
    assert crawl(out, server.proxy_url, "-s", "ARCHIVER_INCREMENTAL=0").returncode == 0
    assert full_fetches(server, "post") == len(articles)
    assert last_run(out)["posts"]["unchanged"] == len(articles)


# --- units ------------------------------------------------------------------------------------------------


def test_page_store_verifies_and_removes_damaged_pages(tmp_path):
    store = PageStore(tmp_path / "pages")
    store.open()
    page = StoredPage("http://x/a.html", 200, {"ETag": ['"abc"'], "Content-Type": ["text/html"]}, b"<p>hi</p>")
    store.save("2024-01-02", page)
    loaded = store.load("2024-01-02", page.url)
    assert loaded is not None and loaded.body == page.body
    assert loaded.conditional_headers() == {"If-None-Match": '"abc"'}
    path = store.path("2024-01-02", page.url)
    path.write_bytes(path.read_bytes().replace(b"hi", b"ho"))
    assert store.load("2024-01-02", page.url) is None
    assert not path.exists()
    assert temp_files(tmp_path) == []


def test_page_store_prunes_old_days_and_keeps_listings(tmp_path):
    store = PageStore(tmp_path / "pages")
    store.open()
    for bucket in ("2024-01-01", "2024-01-05", "listing"):
        store.save(bucket, StoredPage(f"http://x/{bucket}", 200, {"ETag": ['"1"']}, b"x"))
    assert store.prune(dt.date(2024, 1, 3)) == 1
    assert store.load("2024-01-05", "http://x/2024-01-05") is not None
    assert [p.url for p in store.listings()] == ["http://x/listing"]


def test_weak_last_modified_is_not_used_as_a_validator():
    same_second = {"Last-Modified": ["Mon, 01 Jan 2024 00:00:00 GMT"], "Date": ["Mon, 01 Jan 2024 00:00:00 GMT"]}
    assert StoredPage("u", 200, same_second).conditional_headers() == {}
    later = {"Last-Modified": ["Mon, 01 Jan 2024 00:00:00 GMT"], "Date": ["Mon, 01 Jan 2024 00:10:00 GMT"]}
    assert StoredPage("u", 200, later).conditional_headers() == {"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"}


def test_window_from_settings():
    from scrapy.settings import Settings

    from archiver.exceptions import SettingError

    window = Window.from_settings(
        Settings({"ARCHIVER_SINCE": "2024-01-02", "ARCHIVER_UNTIL": "2024-01-03", "ARCHIVER_CATEGORIES": "a,b"})
    )
    assert window.day_ok(dt.date(2024, 1, 2)) and window.day_ok(dt.date(2024, 1, 3))
    assert not window.day_ok(dt.date(2024, 1, 4))
    assert window.category_ok("a") and not window.category_ok("c") and window.category_ok(None)
    with pytest.raises(SettingError):
        Window.from_settings(Settings({"ARCHIVER_SINCE": "yesterday"}))
    with pytest.raises(SettingError):
        Window.from_settings(Settings({"ARCHIVER_SINCE": "2024-02-01", "ARCHIVER_UNTIL": "2024-01-01"}))


def test_index_treats_both_folders_as_archived(tmp_path):
    (tmp_path / "_posts").mkdir()
    (tmp_path / "old_post").mkdir()
    (tmp_path / "_posts" / "2024-01-02-NW1.md").write_text("x")
    (tmp_path / "old_post" / "2023-01-02-NW2.md").write_text("x")
    (tmp_path / "old_post" / ".2023-01-02-NW3.md.123.tmp").write_text("x")
    index = ArchiveIndex.scan(tmp_path)
    assert set(index.entries) == {"NW1", "NW2"}


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}-[A-Za-z0-9]{1,6}\.md", fullmatch=True),
            st.text(st.characters(exclude_categories=("Cs",), exclude_characters="/\x00"), min_size=1, max_size=20),
        ),
        max_size=12,
        unique=True,
    )
)
def test_index_scan_agrees_with_the_post_file_name_rule(names):
    names = [n for n in names if n not in (".", "..")]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "_posts").mkdir()
        for name in names:
            (root / "_posts" / name).write_bytes(b"")
        expected = {}
        for name in names:
            match = POST_FILE.match(name)
            if match and match.group("day").isascii():
                try:
                    day = dt.date.fromisoformat(match.group("day"))
                except ValueError:
                    continue
                # The same id on two days: the index keeps the newest.
                expected[match.group("post_id")] = max(day, expected.get(match.group("post_id"), day))
        index = ArchiveIndex.scan(root)
        assert {k: e.day for k, e in index.entries.items()} == expected

"""SiteHealth: pages checked and found changed are counted, signalled, marked; runlog reads them back."""

from __future__ import annotations

from typing import Any

from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from archiver import signals as archiver_signals
from archiver.crawl.sitehealth import META_SITE_CHANGED, META_UNLINKED, Expectation, SiteHealth
from archiver.running.workers import merge_codes, merge_stats
from archiver.store.runlog import site_change_sentence, site_changes, status_of

NO_TITLE = Expectation("post", "no_title", "have no title (no <h1> inside <section>)")
WALL = Expectation("home", "not_site_page", "answer 200 without the site's layout")


def health() -> tuple[SiteHealth, list[dict[str, Any]]]:
    crawler = get_crawler()
    crawler.stats.open_spider()  # type: ignore[union-attr]
    sent: list[dict[str, Any]] = []
    crawler.signals.connect(lambda **kw: sent.append(kw), signal=archiver_signals.site_changed, weak=False)
    return SiteHealth(crawler), sent


def page(url: str) -> HtmlResponse:
    return HtmlResponse(url=url, body=b"<html></html>", encoding="utf-8", request=Request(url))


def test_pages_are_counted_per_class_and_finding_with_the_first_example() -> None:
    site, sent = health()
    good, bad1, bad2 = page("http://s/a.html"), page("http://s/b.html"), page("http://s/c.html")
    assert site.check("post", good, good.url, [])
    assert not site.check("post", bad1, bad1.url, [NO_TITLE])
    assert not site.check("post", bad2, bad2.url, [NO_TITLE])
    stats = site.stats.get_stats()
    assert stats["archiver/site/checked/post"] == 3
    assert stats["archiver/site/changed/post/no_title"] == 2
    assert stats["archiver/site/changed"] == 1
    assert META_SITE_CHANGED not in good.meta and bad1.meta[META_SITE_CHANGED] and bad2.meta[META_SITE_CHANGED]
    assert [s["url"] for s in sent] == ["http://s/b.html", "http://s/c.html"]
    assert sent[0]["page_class"] == "post" and sent[0]["finding"] == "no_title"
    assert sent[0]["description"] == "post pages have no title (no <h1> inside <section>)"
    assert site_changes(stats) == [
        {
            "page_class": "post",
            "finding": "no_title",
            "description": "post pages have no title (no <h1> inside <section>)",
            "pages": 2,
            "of": 3,
            "example": "http://s/b.html",
        }
    ]
    assert status_of(stats) == "site_changed"


def test_the_sentence_says_what_changed_and_that_nothing_was_written() -> None:
    site, _ = health()
    site.check("home", None, "http://s/", [WALL])
    site.check("post", None, "http://s/p.html", [NO_TITLE])
    sentence = site_change_sentence(site.stats.get_stats())
    assert sentence is not None
    assert sentence.startswith(
        "the site changed: 1 of 1 home pages answer 200 without the site's layout (e.g. http://s/)"
    )
    assert "1 of 1 post pages have no title" in sentence
    assert sentence.endswith(
        "nothing was archived from them and no archived file was changed — the spider needs updating"
    )
    assert site_change_sentence({}) is None


def test_status_precedence_error_then_site_changed_then_pages_failed() -> None:
    changed = {"archiver/site/changed/post/no_title": 1, "archiver/site/checked/post": 1}
    assert status_of({**changed, "archiver/pages/failed": 3, "finish_reason": "finished"}) == "site_changed"
    assert status_of({**changed, "finish_reason": "shutdown"}) == "error"
    assert status_of({"archiver/pages/failed": 3}) == "pages_failed"
    assert status_of({"archiver/site/checked/post": 5}) == "ok"


def test_workers_merge_the_findings_and_exit_codes() -> None:
    one = {"archiver/site/changed/post/no_title": 2, "archiver/site/changed": 1, "archiver/site/checked/post": 3}
    two = {"archiver/site/changed/home/not_site_page": 1, "archiver/site/changed": 1, "archiver/site/checked/post": 1}
    merged = merge_stats([one, two, {"archiver/site/changed/post/no_title": 1, "archiver/site/changed": 1}])
    assert merged["archiver/site/changed"] == 2  # distinct kinds, not a sum
    assert merged["archiver/site/changed/post/no_title"] == 3
    assert merge_codes([0, 4, 2]) == 4
    assert merge_codes([4, 1]) == 1


def test_a_foreign_page_no_link_led_to_is_dropped_not_a_change() -> None:
    """A web archive's CDX lists URLs no page links (soft 404s, files the generator broke)."""
    site, sent = health()
    foreign = Expectation("post", "not_site_page", "answer 200 without the site's layout", foreign=True)
    unlinked = page("http://s/2021/12/08/x.html")
    unlinked.meta[META_UNLINKED] = True
    assert not site.check("post", unlinked, unlinked.url, [foreign])
    stats = site.stats.get_stats()
    assert stats["archiver/site/unlinked_foreign/post"] == 1
    assert "archiver/site/changed" not in stats and sent == []
    # The same page reached by a link, or an unlinked page of the site's layout without its title: changes.
    linked = page("http://s/2021/12/08/y.html")
    assert not site.check("post", linked, linked.url, [foreign])
    titled = page("http://s/2021/12/08/z.html")
    titled.meta[META_UNLINKED] = True
    assert not site.check("post", titled, titled.url, [NO_TITLE])
    assert site.stats.get_value("archiver/site/changed") == 2

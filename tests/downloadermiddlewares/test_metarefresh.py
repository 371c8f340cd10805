"""The meta refresh middleware passes on at once only pages that cannot refresh; any other gets Scrapy's check."""

from __future__ import annotations

import random

import pytest
from scrapy import Request, Spider
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as ScrapyMetaRefresh
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.utils.test import get_crawler

from archiver import settings as project_settings
from archiver.downloadermiddlewares.metarefresh import MetaRefreshMiddleware, may_refresh

URL = "http://finews.withounder.com/a/2022/03/02/NW1.html"


def page(head: str, body: str = "<p>text</p>", encoding: str = "utf-8") -> HtmlResponse:
    html = f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"
    return HtmlResponse(URL, body=html.encode(encoding), encoding=encoding, request=Request(URL))


def outcome(mw: ScrapyMetaRefresh, response: Response) -> str | None:
    result = mw.process_response(Request(URL), response)
    return result.url if isinstance(result, Request) else None


def middlewares() -> tuple[MetaRefreshMiddleware, ScrapyMetaRefresh]:
    crawler = get_crawler(Spider, {"METAREFRESH_MAXDELAY": 100})
    crawler.spider = Spider("s")
    return MetaRefreshMiddleware.from_crawler(crawler), ScrapyMetaRefresh.from_crawler(crawler)


@pytest.mark.parametrize(
    ("head", "refreshes"),
    [
        ('<meta http-equiv="refresh" content="0; url=/moved.html">', True),
        ('<META HTTP-EQUIV="REFRESH" CONTENT="5;URL=http://finews.withounder.com/new/">', True),
        # Whether character references or a Unicode case fold spell "refresh" depends on w3lib's
        # version: such pages always get Scrapy's check, and whatever it says.
        ('<meta http-equiv="&#82;efresh" content="0; url=/moved.html">', None),
        ('<meta http-equiv="re&#x66;resh" content="0; url=/moved.html">', None),
        ('<meta http-equiv="refre\u017fh" content="0; url=/moved.html">', None),
    ],
)
def test_a_page_that_may_refresh_gets_scrapys_check(head: str, refreshes: bool | None) -> None:
    ours, scrapys = middlewares()
    response = page(head)
    assert may_refresh(response)
    assert outcome(ours, response) == outcome(scrapys, response)
    if refreshes:
        assert outcome(ours, response) is not None


def test_a_page_without_refresh_is_passed_on_unchanged() -> None:
    ours, _ = middlewares()
    response = page('<meta charset="utf-8"><title>A &amp; B</title>')
    assert not may_refresh(response)
    assert ours.process_response(Request(URL), response) is response


def test_only_the_first_4096_characters_count_as_for_scrapy() -> None:
    ours, scrapys = middlewares()
    late = page("<title>x</title>", body="é" * 5000 + '<meta http-equiv="refresh" content="0; url=/late.html">')
    assert not may_refresh(late)
    assert outcome(ours, late) is None and outcome(scrapys, late) is None


def test_other_encodings_and_non_html_answers() -> None:
    ours, scrapys = middlewares()
    utf16 = page('<meta http-equiv="refresh" content="0; url=/moved.html">', encoding="utf-16")
    assert outcome(ours, utf16) == outcome(scrapys, utf16) is not None
    text = TextResponse(URL, body=b'<meta http-equiv="refresh" content="0; url=/x">', request=Request(URL))
    assert ours.process_response(Request(URL), text) is text


def test_agrees_with_scrapy_on_random_heads() -> None:
    ours, scrapys = middlewares()
    pieces = [
        "<meta ", 'http-equiv="', "refresh", "Refresh", "&#114;", "&#x52;", "efresh", '" ', 'content="',
        "0", "3.5", "; url=", "/next.html", '">', "<!-- ", " -->", "<script>", "</script>", "<noscript>",
        "</noscript>", "&amp;", "&", "#", "x", " ",
    ]  # fmt: skip
    rng = random.Random(15)
    for _ in range(3000):
        head = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 25)))
        response = page(head)
        assert outcome(ours, response) == outcome(scrapys, response), head


def test_the_project_lists_it_in_place_of_scrapys() -> None:
    base = project_settings.DOWNLOADER_MIDDLEWARES_BASE
    assert "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware" not in base
    assert base["archiver.downloadermiddlewares.metarefresh.MetaRefreshMiddleware"] == 580

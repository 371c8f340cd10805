"""The meta refresh middleware follows only a refresh of the head, as a redirect; it passes on at once pages that cannot refresh."""

from __future__ import annotations

import random

import pytest
from scrapy import Request, Spider
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as ScrapyMetaRefresh
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.utils.test import get_crawler

from archiver import settings as project_settings
from archiver.crawl.failures import FailureLog
from archiver.downloadermiddlewares.metarefresh import MetaRefreshMiddleware, may_refresh
from archiver.downloadermiddlewares.redirect import RedirectFailed

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
        if not may_refresh(response):
            assert outcome(scrapys, response) is None, head  # the quick look never misses a refresh
        assert outcome(ours, response) in (None, outcome(scrapys, response)), head


# --- only a refresh of the document's head is followed ------------------------------------------

REFRESH = '<meta http-equiv="refresh" content="0; url=//finews.withounder.com/">'
HOME = "http://finews.withounder.com/"
# jekyll-redirect-from's page, as its 0.16 template and its current one write it: no <head>, no <body>.
REDIRECT_FROM_OLD = """<!DOCTYPE html>
<html lang="en-US">
  <meta charset="utf-8">
  <title>Redirecting&hellip;</title>
  <link rel="canonical" href="http://finews.withounder.com/new.html">
  <script>location="http://finews.withounder.com/new.html"</script>
  <meta http-equiv="refresh" content="0; url=http://finews.withounder.com/new.html">
  <meta name="robots" content="noindex">
  <h1>Redirecting&hellip;</h1>
  <a href="http://finews.withounder.com/new.html">Click here if you are not redirected.</a>
</html>
"""
REDIRECT_FROM_NEW = """<!DOCTYPE html>
<html lang="en-US">
  <meta charset="utf-8">
  <title>Redirecting&hellip;</title>
  <link rel="canonical" href="/new.html">
  <script>
    const urlSuffix = "" + (location.hash ? location.hash : "") + (location.search ? location.search : "");
    if (urlSuffix.length < 2) location="/new.html" + urlSuffix
  </script>
  <meta id="refresh-meta" http-equiv="refresh" content="0; url=/new.html">
  <meta name="robots" content="noindex">
  <h1>Redirecting&hellip;</h1>
  <a id="redirect-link" href="/new.html">Click here if you are not redirected.</a>
  <script>
    let refreshMeta = document.getElementById("refresh-meta");
  </script>
</html>
"""


def raw_page(html: str, url: str = URL) -> HtmlResponse:
    return HtmlResponse(url, body=html.encode(), encoding="utf-8", request=Request(url))


@pytest.mark.parametrize("html", [REDIRECT_FROM_OLD, REDIRECT_FROM_NEW], ids=["0.16", "current"])
def test_a_redirect_page_of_jekyll_redirect_from_is_followed(html: str) -> None:
    ours, scrapys = middlewares()
    response = raw_page(html)
    assert outcome(ours, response) == outcome(scrapys, response) == "http://finews.withounder.com/new.html"


@pytest.mark.parametrize(
    "body",
    [
        f"<p>正文 {REFRESH}</p>",  # in an article paragraph, as an upstream body may hold it
        f"{REFRESH}<p>正文</p>",  # the body's first element
        f"<div><!-- --></div>{REFRESH}",
    ],
)
def test_a_refresh_in_the_body_is_ignored_and_the_page_is_itself(body: str) -> None:
    ours, scrapys = middlewares()
    response = page("<title>x</title>", body=body)
    assert outcome(scrapys, response) == HOME  # what lost such posts
    assert ours.process_response(Request(URL), response) is response


@pytest.mark.parametrize(
    ("html", "refreshes"),
    [
        # A parser puts a <meta> between </head> and <body> back in the head.
        (f"<html><head><title>x</title></head>\n{REFRESH}\n<body><p>x</p>", True),
        (f"<html><head>\n<!-- <body> -->\n<script>if (a<b) document.write('<body>')</script>{REFRESH}", True),
        (f'<html><head><link rel="x" href="/a>b.css"><style>p > a {{}}</style>{REFRESH}</head>', True),
        (f"<HTML><HEAD><TITLE>a <p> b</TITLE>{REFRESH.upper()}", True),
        # No <body> tag: the body starts at its first content, text or element.
        (f"<html><head><title>x</title>柳州{REFRESH}", False),
        (f"<html><head>&amp;{REFRESH}", False),
        (f"<html><header>{REFRESH}", False),
        (f"<html><head><br>{REFRESH}", False),
        (f"<html><head></html>{REFRESH}", False),
        (f"<html><head><body>{REFRESH}", False),
        # Inside a comment, a script or a noscript it is no tag at all, as for Scrapy.
        (f"<html><head><!-- {REFRESH} -->", False),
        (f"<html><head><noscript>{REFRESH}</noscript>", False),
    ],
)
def test_the_head_ends_where_an_html_parser_ends_it(html: str, refreshes: bool) -> None:
    ours, _ = middlewares()
    assert outcome(ours, raw_page(html)) == (HOME if refreshes else None)


# Whole elements of a head, and what opens a body (an element of content, text, <body>).
HEAD_PIECES = [
    REFRESH,
    '<META HTTP-EQUIV="Refresh" CONTENT="5;URL=/five.html">',
    "<meta http-equiv=refresh content='3.5; url=/bare.html'>",
    '<meta http-equiv="&#82;efresh" content="0; url=/entity.html">',
    '<meta http-equiv="refresh" content="200; url=/too-late.html">',
    '<meta charset="utf-8">',
    "<title>a <p> &amp; b</title>",
    "<script>if (a<b) x = '<body>';</script>",
    '<noscript><meta http-equiv="refresh" content="0; url=/noscript.html"></noscript>',
    '<!-- <body><meta http-equiv="refresh" content="0; url=/comment.html"> -->',
    '<link rel="stylesheet" href="/a>b.css">',
    "<style>p > a { color: red }</style>",
    "\n  ",
    "</head>",
    "<head>",
]
BODY_OPENERS = ["<body>", "<p>正文</p>", "x", "&amp;", "<h1>t</h1>", '<div class="wrapper">', "</html>", "<br>"]


def test_only_the_head_counts_on_random_documents() -> None:
    ours, scrapys = middlewares()
    rng = random.Random(16)
    followed = differed = 0
    for _ in range(2000):
        pieces = rng.choices(HEAD_PIECES + BODY_OPENERS, k=rng.randint(0, 12))
        html = "<!DOCTYPE html><html>" + "".join(pieces)
        opener = next((i for i, piece in enumerate(pieces) if piece in BODY_OPENERS), len(pieces))
        head = "<!DOCTYPE html><html>" + "".join(pieces[:opener])
        expected = outcome(scrapys, raw_page(head))
        assert outcome(ours, raw_page(html)) == expected, html
        followed += expected is not None
        differed += expected != outcome(scrapys, raw_page(html))
    assert followed > 200 and differed > 100  # both rules were exercised


def test_a_refresh_to_the_page_itself_is_a_reload_and_the_page_is_itself() -> None:
    ours, _ = middlewares()
    response = page('<meta http-equiv="refresh" content="30; url=">')
    assert ours.process_response(Request(URL), response) is response


def test_a_refresh_is_a_redirect_never_dropped_as_a_duplicate_and_a_loop_fails_the_page() -> None:
    crawler = get_crawler(Spider, {"METAREFRESH_MAXDELAY": 100, "EXTENSIONS": {FailureLog: 0}})
    crawler.spider = Spider("s")
    mw = MetaRefreshMiddleware.from_crawler(crawler)
    first = Request("http://finews.withounder.com/a.html")
    to_home = mw.process_response(first, raw_page(f"<head>{REFRESH}", first.url))
    assert isinstance(to_home, Request) and to_home.url == HOME and to_home.dont_filter
    back = '<meta http-equiv="refresh" content="0; url=/a.html">'
    with pytest.raises(RedirectFailed, match="redirect_loop"):
        mw.process_response(to_home, raw_page(f"<head>{back}", HOME))
    log = crawler.get_extension(FailureLog)
    assert log is not None
    assert [(r.url, r.reason) for r in log.records] == [(first.url, "redirect_loop")]


def test_the_project_lists_it_in_place_of_scrapys() -> None:
    base = project_settings.DOWNLOADER_MIDDLEWARES_BASE
    assert "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware" not in base
    assert base["archiver.downloadermiddlewares.metarefresh.MetaRefreshMiddleware"] == 580

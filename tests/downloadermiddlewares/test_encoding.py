"""The encoding middleware: a page is decoded in the encoding its bytes are in, whatever it claims, or refused.

``choose_encoding`` is tested on its own, claim by claim. The middleware is tested on Scrapy
responses: pages are corrected, counted and logged, undecodable pages are refused, and clean pages
pass untouched.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from scrapy import Spider
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response, TextResponse
from scrapy.utils.test import get_crawler

from archiver import settings as project_settings
from archiver.crawl.failures import FailureLog
from archiver.downloadermiddlewares.encoding import (
    STAT_CORRECTED,
    EncodingMiddleware,
    choose_encoding,
    declared_encodings,
)

URL = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW1"
TITLE, BODY = "柳州螺蛳粉产业园 𠮷 朱镕基", "<p>今年一季度，柳州螺蛳粉产量同比增长二成；€ 价格稳定。</p>"


def page(meta: str = "", title: str = TITLE, body: str = BODY) -> str:
    return f"<!DOCTYPE html><html><head>{meta}<title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"


GB_META = '<meta charset="gb2312">'
UTF8_META = '<meta charset="utf-8">'


def decide(raw: bytes, header: str | None = None) -> str | None:
    """What the middleware decides for a page Scrapy decoded in its usual way."""
    response = HtmlResponse(URL, body=raw, headers=content_type(header))
    clean = "\ufffd" not in response.text
    return choose_encoding(raw, header, guess=response.encoding, known=response.encoding if clean else None)


def content_type(charset: str | None) -> dict[str, str]:
    return {"Content-Type": f"text/html; charset={charset}" if charset else "text/html"}


# --- the decision --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "header", "expected"),
    [
        # F3: a GB18030 page served as charset=utf-8; its <meta> is right.
        (page(GB_META).encode("gb18030"), "utf-8", "gb18030"),
        # F3b: UTF-8 bytes still labelled gb2312, in the <meta>, in the header, or both.
        (page(GB_META).encode(), None, "utf-8"),
        (page(UTF8_META).encode(), "gb2312", "utf-8"),
        (page(GB_META).encode(), "gbk", "utf-8"),
        # Header and <meta> both right.
        (page(GB_META).encode("gb18030"), "gb2312", "gb18030"),
        (page(UTF8_META).encode(), "utf-8", "utf-8"),
        # The header right, the <meta> wrong: the header comes first and fits.
        (page(UTF8_META).encode("gb18030"), "gbk", "gb18030"),
        # No charset anywhere: UTF-8 is tried.
        (page().encode(), None, "utf-8"),
    ],
    ids=[
        "F3-header-wrong",
        "F3b-meta-wrong",
        "F3b-header-wrong",
        "F3b-both-wrong",
        "gb-both-right",
        "utf8-both-right",
        "meta-wrong-header-right",
        "undeclared-utf8",
    ],
)
def test_the_encoding_is_the_first_claim_the_bytes_fit_and_valid_utf8_beats_any_claim(
    raw: bytes, header: str | None, expected: str
) -> None:
    assert decide(raw, header) == expected


def test_a_gb_page_of_a_few_characters_is_not_taken_for_utf8() -> None:
    # Only bytes that really are UTF-8 override a claim: short GB titles are not.
    for title in ("中", "新闻", "柳州晚报", "螺蛳粉"):
        raw = page(GB_META, title=title, body="").encode("gb18030")
        assert decide(raw) == "gb18030", title


def test_a_bom_decides_whatever_the_header_and_meta_say() -> None:
    bom = b"\xef\xbb\xbf"
    assert decide(bom + page(GB_META).encode(), "gb2312") == "utf-8"
    utf16 = b"\xff\xfe" + page().encode("utf-16-le")
    assert decide(utf16, "iso-8859-1") == "utf-16-le"
    # The BOM is followed by bytes it does not fit: Scrapy decodes by the BOM whatever is forced.
    assert decide(bom + page(GB_META).encode("gb18030"), "gb2312") is None


def test_pure_ascii_keeps_its_claim() -> None:
    ascii_page = page(GB_META, title="Liuzhou", body="<p>plain</p>").encode()
    assert decide(ascii_page) == "gb18030"
    assert decide(ascii_page, "iso-8859-1") == "cp1252"
    assert decide(page(UTF8_META, title="x", body="").encode()) == "utf-8"


def test_a_genuine_replacement_character_is_kept() -> None:
    body = "<p>原文如此：\ufffd 前后</p>"
    assert decide(page(UTF8_META, body=body).encode()) == "utf-8"
    assert decide(page(GB_META, body=body).encode("gb18030")) == "gb18030"
    assert decide(page(GB_META, body=body).encode("gb18030"), "utf-8") == "gb18030"


def test_the_gb18030_euro_byte_of_the_encoding_standard_is_no_decoding_error() -> None:
    raw = page(GB_META, body="<p>欧元</p>").encode("gb18030").replace("欧元".encode("gb18030"), b"\x80 \xc5\xb7")
    assert decide(raw) == "gb18030"


@pytest.mark.parametrize(
    ("raw", "header"),
    [
        (page(UTF8_META).encode() + b"\xff\xfe\x80", None),
        (page(UTF8_META).encode() + b"\xff", "utf-8"),
        (page(GB_META).encode("gb18030") + b"\xff", None),
        (page(GB_META).encode("gb18030") + b"\xff", "utf-8"),
        # A GB page that claims UTF-8 everywhere: no candidate fits, and GB18030 is never guessed.
        (page(UTF8_META).encode("gb18030"), "utf-8"),
    ],
    ids=["utf8-broken", "utf8-broken-header", "gb-broken", "gb-broken-header-utf8", "gb-claiming-utf8-only"],
)
def test_nothing_decodes_strictly(raw: bytes, header: str | None) -> None:
    assert decide(raw, header) is None


@pytest.mark.parametrize(
    ("text", "label", "codec"),
    [
        ("國民黨立法院 台灣經濟新聞 股市收盤", "big5", "big5hkscs"),
        ("東京株式市場 日経平均株価 続伸した", "shift_jis", "cp932"),
        ("한국 증시 코스피 상승 마감", "euc-kr", "cp949"),
    ],
)
def test_big5_shift_jis_and_korean_pages_are_neither_utf8_nor_lost(text: str, label: str, codec: str) -> None:
    raw = page(f'<meta charset="{label}">', title=text, body=f"<p>{text}</p>").encode(codec)
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert decide(raw) == codec
    assert decide(raw, "utf-8") == codec  # served as UTF-8: the <meta> is the next claim
    assert decide(raw.decode(codec).encode()) == "utf-8"  # re-encoded, the label kept: UTF-8


def test_a_single_byte_header_gives_way_to_a_multibyte_declaration_that_fits() -> None:
    # cp1252 decodes all GB2312 bytes, so that decoding alone proves nothing.
    raw = page(GB_META).encode("gb18030")
    assert decide(raw, "iso-8859-1") == "gb18030"
    # A Western page keeps its single-byte header: the wrong multi-byte <meta> does not fit.
    french = page(GB_META, title="Café à l'été", body="<p>Les marchés ont clôturé en hausse, déjà.</p>")
    assert decide(french.encode("cp1252"), "iso-8859-1") == "cp1252"


def test_every_declaration_of_the_document_is_a_claim_in_order() -> None:
    metas = '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">' + GB_META
    raw = page(metas).encode("gb18030")
    assert declared_encodings(raw) == ["utf-8", "gb18030"]
    assert decide(raw) == "gb18030"
    commented = page("<!-- <meta charset=big5> -->" + GB_META).encode("gb18030")
    assert declared_encodings(commented) == ["gb18030"]
    assert declared_encodings(b'<?xml version="1.0" encoding="GBK"?><html><body><meta charset="big5">') == ["gb18030"]


def test_a_utf16_declaration_in_ascii_markup_means_utf8() -> None:
    raw = page('<meta charset="utf-16">', title="ascii", body="").encode()
    assert declared_encodings(raw) == ["utf-8"]
    assert decide(raw) == "utf-8"


# --- the middleware ------------------------------------------------------------------------------


@pytest.fixture
def middleware() -> tuple[EncodingMiddleware, Any]:
    crawler = get_crawler(Spider, {"EXTENSIONS": {FailureLog: 0}})
    crawler.spider = Spider("s")
    return EncodingMiddleware.from_crawler(crawler), crawler


def response(raw: bytes, charset: str | None = None, status: int = 200) -> HtmlResponse:
    return HtmlResponse(URL, status=status, body=raw, headers=content_type(charset), request=Request(URL))


def run(mw: EncodingMiddleware, resp: Response) -> Response:
    assert resp.request is not None
    return mw.process_response(resp.request, resp)


def test_a_page_that_claims_a_wrong_encoding_is_passed_on_corrected_and_counted(
    middleware: tuple[EncodingMiddleware, Any], caplog: pytest.LogCaptureFixture
) -> None:
    mw, crawler = middleware
    f3 = response(page(GB_META).encode("gb18030"), "utf-8")
    f3b = response(page(GB_META).encode())
    with caplog.at_level(logging.DEBUG, logger="archiver.downloadermiddlewares.encoding"):
        fixed = [run(mw, f3), run(mw, f3b)]
    for before, after in zip((f3, f3b), fixed, strict=True):
        assert isinstance(after, TextResponse) and after is not before
        assert after.body == before.body and after.headers == before.headers and after.request is before.request
        assert TITLE in after.text and BODY in after.text and "\ufffd" not in after.text
    assert (fixed[0].encoding, fixed[1].encoding) == ("gb18030", "utf-8")
    assert crawler.stats.get_value(STAT_CORRECTED) == 2
    # Once at INFO, then DEBUG: a misconfigured server would fill cron logs with the same line.
    assert [(r.levelno, "decoded as" in r.getMessage()) for r in caplog.records] == [
        (logging.INFO, True),
        (logging.DEBUG, True),
    ]
    assert not failures_of(crawler)


def test_clean_pages_pass_untouched(middleware: tuple[EncodingMiddleware, Any]) -> None:
    mw, crawler = middleware
    pages = [
        response(page(UTF8_META).encode()),
        response(page(GB_META).encode("gb18030")),
        response(page(GB_META).encode("gb18030"), "gbk"),
        response(page(UTF8_META, body="<p>\ufffd</p>").encode()),  # a genuine U+FFFD
        response(b"\xff\xfe", status=404),  # only 200s are read
    ]
    for resp in pages:
        assert run(mw, resp) is resp
    binary = Response(URL, body=b"\xff\xd8\xff", request=Request(URL))
    assert run(mw, binary) is binary
    assert crawler.stats.get_value(STAT_CORRECTED) is None
    assert not failures_of(crawler)


def test_an_undecodable_page_is_refused_never_passed_on(
    middleware: tuple[EncodingMiddleware, Any], caplog: pytest.LogCaptureFixture
) -> None:
    mw, crawler = middleware
    broken = response(page(GB_META).encode("gb18030") + b"\xff", "utf-8")
    with caplog.at_level(logging.WARNING), pytest.raises(IgnoreRequest, match="undecodable"):
        run(mw, broken)
    assert [(r.url, r.kind, r.reason) for r in failures_of(crawler)] == [(URL, "refused", "undecodable")]
    assert "utf-8, gb18030" in failures_of(crawler)[0].detail
    assert crawler.stats.get_value("archiver/pages/refused/undecodable") == 1
    assert crawler.stats.get_value(STAT_CORRECTED) is None
    assert "page refused (undecodable)" in caplog.text


def failures_of(crawler: Any) -> list[Any]:
    log = crawler.get_extension(FailureLog)
    assert log is not None
    return list(log.records)


def test_the_project_runs_it_inside_the_page_guard() -> None:
    order = project_settings.DOWNLOADER_MIDDLEWARES["archiver.downloadermiddlewares.encoding.EncodingMiddleware"]
    # Answers reach it after the page guard (540), which retries a body cut short before its bytes
    # are judged, and so after the retries (550) and decompression (590): it reads the final bytes.
    assert (
        order < project_settings.DOWNLOADER_MIDDLEWARES["archiver.downloadermiddlewares.pageguard.PageGuardMiddleware"]
    )
    base = project_settings.DOWNLOADER_MIDDLEWARES_BASE
    assert order < base["scrapy.downloadermiddlewares.retry.RetryMiddleware"]
    assert order < base["archiver.downloadermiddlewares.httpcompression.HttpCompressionMiddleware"]

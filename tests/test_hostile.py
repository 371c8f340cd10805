"""Hostile input, unit by unit: front matter, Liquid, sanitizing, encodings, the page guard."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from archiver import settings as project_settings
from archiver.crawl.failures import FailureLog, is_transient
from archiver.downloadermiddlewares.pageguard import PageGuardMiddleware
from archiver.format import sanitize
from archiver.format.dates import BEIJING
from archiver.format.frontmatter import double_quoted, scalar, word_list
from archiver.format.post import POST_ID, parse_post, render_post
from archiver.items import Article
from spiders.finews import FinewsSpider

HOSTILE_TITLES = [
    '他说"涨停"了',
    "反斜杠\\结尾\\",
    "标题: 冒号",
    "a: b",
    "# 井号开头",
    "[置顶] 方括号",
    "{花括号}",
    "*星号",
    "&锚点",
    "!标签",
    "%百分号",
    "@提及",
    "`反引号`",
    "| 竖线",
    "> 大于",
    "- 破折",
    "? 问号",
    "null",
    "Null",
    "true",
    "yes",
    "No",
    "off",
    "~",
    "12345",
    "1,000",
    "0x1F",
    "1e3",
    ".5",
    "12:30",
    "2022-05-01",
    "2022-1-1",
    "2022-05-01 10:00:00 +0800",
    "📈 股市 🚀",
    "零宽\u200b字符\u200d\ufeff",
    "朱镕基 𠮷野家",
    "tab\there",
    "line\nbreak",
    "\x85NEL\u2028LS\u2029PS",
    "'单引号'",
    "---",
    "...",
    "",
    " 前后空格 ",
    ":symbol",
]


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_every_title_round_trips_as_a_string(title: str) -> None:
    article = Article(post_id="X1", title=title, date=dt.datetime(2022, 5, 1, 9, 30, tzinfo=BEIJING), body="<p>b</p>")
    text = render_post(article)
    front = yaml.safe_load(text.split("\n---\n")[0].removeprefix("---\n"))
    assert front["title"] == title
    assert parse_post(text).title == title


def test_an_ordinary_title_keeps_the_sites_exact_form() -> None:
    assert double_quoted("稳就业 保民生 聚英才 优服务") == '"稳就业 保民生 聚英才 优服务"'
    assert double_quoted("“股王”茅台重回2000元关口！") == '"“股王”茅台重回2000元关口！"'


@pytest.mark.parametrize("value", ["1,000", "tRUE", "nULL", ":x", "2022-1-1", "12:30", "0b101", "+1", ".inf", "~"])
def test_values_psych_would_resolve_are_quoted(value: str) -> None:
    assert scalar(value).startswith('"')
    assert scalar("柳州晚报新闻") == "柳州晚报新闻"
    assert scalar("21shijijingjibaodao") == "21shijijingjibaodao"


@pytest.mark.skipif(shutil.which("ruby") is None, reason="needs ruby (installed with Debian's jekyll)")
def test_jekylls_yaml_reader_reads_every_value_as_the_same_string() -> None:
    """Psych.safe_load as Jekyll calls it (Date and Time permitted) gives back every title and tag."""
    values = [v for v in HOSTILE_TITLES if v] + ["1,000", "tRUE", ":x", "0b101", "2022-1-1"]
    lines = [f"t{i}: {double_quoted(v)}\ns{i}: {scalar(v)}\nw{i}: {word_list([v])}" for i, v in enumerate(values)]
    script = (
        'require "yaml"; require "json"; require "date"; '
        "puts JSON.generate(YAML.safe_load(STDIN.read, permitted_classes: [Date, Time]).transform_values(&:to_s))"
    )
    result = subprocess.run(
        ["ruby", "-e", script], input="\n".join(lines), capture_output=True, text=True, timeout=60, check=True
    )
    data = json.loads(result.stdout)
    for i, value in enumerate(values):
        assert data[f"t{i}"] == value
        assert data[f"s{i}"] == value
        assert data[f"w{i}"] in (value, f'["{value}"]') or data[f"w{i}"].startswith("[")


# --- sanitizing ----------------------------------------------------------------------------------

DANGEROUS = {
    "<p>a<script>alert(1)</script></p>": ["<script", "alert(1)"],
    '<img src="x.png" onerror="alert(1)">': ["onerror"],
    '<svg/onload="alert(1)"><p>x</p>': ["onload", "<svg"],
    '<iframe src="http://evil/"></iframe><p>x</p>': ["<iframe"],
    '<object data="x"><embed src="y"></object><p>x</p>': ["<object", "<embed"],
    '<form action="/x"><input name="q"><button formaction="javascript:x">b</button></form>': ["<form", "<input"],
    "<style>body{display:none}</style><p>x</p>": ["<style"],
    '<a href="javascript:alert(1)">x</a>': ["javascript"],
    '<a href=" JaVa&#x09;Script&colon;alert(1)">x</a>': ["Script"],
    '<a href="vbscript:msgbox(1)">x</a>': ["vbscript"],
    '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>': ["data:"],
    '<p style="width:expression(alert(1))">x</p>': ["expression"],
    '<!--<img src="--><img src=x onerror=alert(1)//">': ["onerror"],
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>": ["onerror"],
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)"><p>x</p>': ["<meta"],
    "[x](javascript:alert(1))": ["javascript"],
    "[x]: <vbscript:x>\n\n[a][x]": ["vbscript"],
    'para\n{: onclick="alert(1)"}': ["onclick"],
    "![i](data:text/html,x)": ["data:"],
}


@pytest.mark.parametrize("body", list(DANGEROUS))
def test_dangerous_markup_is_removed_and_counted(body: str) -> None:
    cleaned = sanitize.sanitize_body(body)
    assert cleaned.changed and sum(cleaned.removed.values()) >= 1
    for needle in DANGEROUS[body]:
        assert needle.lower() not in cleaned.text.lower()
    assert not sanitize.findings(cleaned.text), "a sanitized body is clean"


SAFE = [
    '<p>正文<span id="stock_1"><a href="http://quote.eastmoney.com/x" class="keytip" data-code="1,600160" '
    'target="_blank">巨化</a></span> <br /> &nbsp;a&amp;b & c < d</p>',
    '<!-- EM_StockImg_Start --><center><img src="https://x/GetPic.aspx?a=1&b=2" border="0" alt="K" '
    'style="border:#d1d1d1 1px solid;" width="578" height="276" /></center><!-- EM_StockImg_End -->',
    '<span web="1" href="http://quote.eastmoney.com/unify/r/90.BK0493" class="em" data-code="90,BK0493">储能</span>',
    "<table border='1'><tr><td colspan=2>表</td></tr></table><blockquote><p>引用</p></blockquote>",
    "> 摘要\n\n普通段落 *强调* [链接](http://example.com/a) ![图](https://x/y.png)",
    "<p>{{ not liquid here }}</p>",
    "",
]


@pytest.mark.parametrize("body", SAFE)
def test_bodies_with_nothing_dangerous_stay_byte_identical(body: str) -> None:
    cleaned = sanitize.sanitize_body(body)
    assert not cleaned.changed
    assert cleaned.text is body or cleaned.text == body


def test_markdown_survives_the_sanitizing_of_a_dangerous_body() -> None:
    cleaned = sanitize.sanitize_body("> 摘要\n\n<p>a<script>x</script></p>\n\n<http://example.com/a>")
    assert cleaned.text.startswith("> 摘要\n\n<p>a</p>")
    assert "[http://example.com/a](http://example.com/a)" in cleaned.text


def test_titles_and_tags_carry_no_markup() -> None:
    assert sanitize.sanitize_title("普通标题").text == "普通标题"
    assert not sanitize.sanitize_title('A "quoted" & <3 title').changed
    assert sanitize.sanitize_title("标题<img src=x onerror=alert(1)><b>粗</b>").text == "标题粗"
    assert sanitize.sanitize_title("<script>alert(1)</script>").text == ""
    assert sanitize.text_to_html("<script>x</script> &amp; AT&T") == "&lt;script>x&lt;/script> &amp;amp; AT&T"
    assert sanitize.sanitize_tag('x" onmouseover="y').text == "x&quot; onmouseover=&quot;y"
    assert sanitize.tag_is_safe("柳州晚报新闻")


@pytest.mark.shared
def test_every_share_page_body_of_the_replica_is_kept_as_it_is(shared_dir: Path) -> None:
    pages = sorted((shared_dir / "replica").glob("*/html_News/NewsShare/*.html"))
    assert pages
    for page in pages:
        raw = page.read_bytes()
        text = raw.decode("gb18030" if b'charset="gb2312"' in raw[:300] else "utf-8")
        article = Article()
        assert FinewsSpider.apply_share_page(article, text)
        assert not sanitize.findings(article.body or ""), page.name


# --- encodings -----------------------------------------------------------------------------------

SHARE_HTML = (
    '<html><head>{meta}</head><body><h1 class="title">{title}</h1>'
    '<div class="infos"><div class="item time">2022-05-01 09:30:00</div>'
    '<span class="media">柳州晚报</span></div><div id="ContentBody"><p>{body}</p></div></body></html>'
)


def share_response(raw: bytes, headers: dict[str, str] | None = None) -> HtmlResponse:
    url = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=X1"
    return HtmlResponse(url, body=raw, headers=headers or {"Content-Type": "text/html"})


@pytest.mark.parametrize(
    ("label", "headers", "bom"),
    [
        ("gb2312", None, b""),
        ("gbk", None, b""),
        ("utf-8", {"Content-Type": "text/html; charset=gbk"}, b""),
        ("gb2312", None, b"\xef\xbb\xbf"),
    ],
)
def test_share_pages_decode_by_header_meta_or_bom(label: str, headers: dict[str, str] | None, bom: bytes) -> None:
    title, body = "朱镕基 𠮷野家 €", "镕 𠮷 € 正文"
    meta = f'<meta charset="{label}">'
    encoding = "utf-8" if bom else "gb18030"
    raw = bom + SHARE_HTML.format(meta=meta, title=title, body=body).encode(encoding)
    if headers:  # the header names the encoding, the <meta> a wrong one
        raw = SHARE_HTML.format(meta=meta, title=title, body=body).encode("gb18030")
    article = Article()
    assert FinewsSpider.apply_share_page(article, share_response(raw, headers).text)
    assert (article.title, article.body) == (title, f"<p>{body}</p>")


@pytest.fixture
def guard() -> Iterator[tuple[PageGuardMiddleware, Any]]:
    defaults = {name: value for name, value in vars(project_settings).items() if name.startswith("ARCHIVER_")}
    crawler = get_crawler(FinewsSpider, {**defaults, "ARCHIVER_RETRY_BACKOFF": 0.0, "EXTENSIONS": {FailureLog: 0}})
    crawler.spider = FinewsSpider(start_url="http://finews.withounder.com/")
    yield PageGuardMiddleware.from_crawler(crawler), crawler


# --- the page guard ------------------------------------------------------------------------------


def test_requests_get_the_page_size_limit_and_never_accept_data_loss(
    guard: tuple[PageGuardMiddleware, Any],
) -> None:
    middleware, _ = guard
    request = Request("http://finews.withounder.com/")
    asyncio.run(middleware.process_request(request))
    assert request.meta["download_maxsize"] == 5 * 1024 * 1024
    assert request.meta["download_fail_on_dataloss"] is True


def test_a_redirect_off_the_allowed_hosts_is_refused(guard: tuple[PageGuardMiddleware, Any]) -> None:
    middleware, crawler = guard
    start = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=X1"
    request = Request("http://evil.example/steal", meta={"redirect_urls": [start]}, dont_filter=True)
    with pytest.raises(IgnoreRequest):
        asyncio.run(middleware.process_request(request))
    onsite = Request("http://finews.withounder.com/a/", meta={"redirect_urls": ["http://finews.withounder.com/a"]})
    asyncio.run(middleware.process_request(onsite))
    records = crawler.get_extension(FailureLog).records
    assert [(r.url, r.kind, r.reason) for r in records] == [(start, "refused", "offsite_redirect")]
    assert crawler.stats.get_value("archiver/pages/refused/offsite_redirect") == 1


def test_retries_back_off_exponentially(guard: tuple[PageGuardMiddleware, Any], monkeypatch: Any) -> None:
    middleware, _ = guard
    middleware.backoff, middleware.backoff_max = 1.0, 5.0
    delays: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        delays.append(seconds)

    monkeypatch.setattr("archiver.downloadermiddlewares.pageguard._sleep", fake_sleep)
    for retry in range(5):
        request = Request("http://finews.withounder.com/", meta={"retry_times": retry})
        asyncio.run(middleware.process_request(request))
        asyncio.run(middleware.process_request(request))  # the same attempt (e.g. after a redirect) waits once
    assert len(delays) == 4
    for retry, delay in enumerate(delays, 1):
        assert min(5.0, 2 ** (retry - 1)) / 2 <= delay <= min(5.0, 2 ** (retry - 1))


def test_final_failures_are_recorded_once_with_their_reason(guard: tuple[PageGuardMiddleware, Any]) -> None:
    from scrapy.exceptions import DownloadTimeoutError, ResponseDataLossError

    middleware, crawler = guard
    page = Request("http://finews.withounder.com/x.html")
    middleware.process_exception(page, ResponseDataLossError())
    middleware.process_exception(page, ResponseDataLossError())
    middleware.process_exception(Request("http://finews.withounder.com/y.html"), DownloadTimeoutError())
    gone = Request("http://finews.withounder.com/z.html")
    middleware.process_response(gone, HtmlResponse(gone.url, status=503))
    share = Request("http://finews.zning.xyz/s", meta={"handle_httpstatus_list": [404]})
    middleware.process_response(share, HtmlResponse(share.url, status=404))
    middleware.process_exception(page, IgnoreRequest())
    reasons = [(r.kind, r.reason) for r in crawler.get_extension(FailureLog).records]
    assert reasons == [("failed", "truncated"), ("failed", "timeout"), ("failed", "http_503")]
    assert crawler.stats.get_value("archiver/pages/failed") == 3
    assert is_transient(ResponseDataLossError()) and is_transient(DownloadTimeoutError())


@pytest.mark.parametrize("bad", ["../x", "..%2F..%2Fetc", "a/b", "a b", "", "ä", "x" * 121])
def test_post_ids_that_could_leave_the_archive_are_refused(bad: str) -> None:
    assert POST_ID.match(bad) is None


def test_every_fixture_id_is_a_plain_word() -> None:
    assert re.fullmatch(r"[A-Za-z0-9]{1,120}", "NW202203022294058095")

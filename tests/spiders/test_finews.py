"""The finews spider's parsing, on pages written for these tests."""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import urljoin

import pytest
import scrapy
from scrapy.http import HtmlResponse, Request
from w3lib.url import canonicalize_url, safe_url_string

from archiver.exceptions import UsageError
from archiver.format.unrender import source_body
from archiver.items import Article
from spiders.finews import FinewsSpider

SITE = "http://finews.withounder.com"

POST_PAGE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="UTF-8"><title>T | 金融消息</title></head>
<body><div class="wrapper"><header><h1><a href="https://finews.withounder.com/">金融消息</a></h1></header>
<section>
<small>(GMT+8, Asia/Shanghai, CST) 2023-01-02 09:08:07</small>
<h1>标题 A&amp;B</h1>

<p>正文一。</p>
<p class="em_media">（文章来源：中国银行）</p>

<p><a href="http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW1">http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW1</a></p>

<p><a href="//finews.withounder.com/category/zhongguoyinxing.html">返回中国银行新闻</a>｜<a href="//finews.withounder.com/">返回首页</a></p>

  <small>tags: <em>中国银行新闻</em></small>
</section></div></body></html>"""

SHARE_PAGE = """<html><head><meta charset="gb2312"><title>x</title></head><body>
<h1 class="title">标题 A&amp;B</h1>
<div class="infos"><div class="item time">2023-01-02 09:08:07</div>
<div class="item source">来源：<span class="media">中国银行</span></div></div>
<div class="txtinfos" id="ContentBody">
<p>正文一。</p><p class="em_media">（文章来源：中国银行）</p>
</div></body></html>"""


def response(url: str, body: str, encoding: str = "utf-8") -> HtmlResponse:
    return HtmlResponse(url=url, body=body.encode(encoding), encoding=None if encoding != "utf-8" else "utf-8")


def spider() -> FinewsSpider:
    return FinewsSpider(start_url=f"{SITE}/")


def test_listing_follows_posts_and_categories_on_the_site_only() -> None:
    page = """<html><body><header><a href="https://finews.withounder.com/">home</a></header><section>
    <h2>X新闻</h2><ul><li><a href="/x/2023/01/02/NW1.html">a</a></li>
    <li><a href="https://finews.withounder.com/category/x.html">c</a></li>
    <li><a href="/emnews/">e</a></li><li><a href="http://evil.example/x/2023/01/02/NW2.html">o</a></li>
    <li><a href="/assets/a.css">s</a></li></ul></section></body></html>"""
    requests = list(spider().parse_listing(response(f"{SITE}/", page)))
    urls = [(r.url, r.callback.__name__) for r in requests]
    assert urls == [
        (f"{SITE}/x/2023/01/02/NW1.html", "parse_post"),
        (f"{SITE}/category/x.html", "parse_listing"),  # https link of the same site, on the crawl's scheme
        (f"{SITE}/emnews/", "parse_listing"),
    ]


def test_links_resolve_against_the_pages_base_href() -> None:
    # As a browser does: relative links of a page with <base href> are relative to the base.
    page = """<html><head><base href="http://finews.withounder.com/"></head><body><header></header><section>
    <h2>X新闻</h2><ul><li><a href="x/2023/01/02/NW1.html">a</a></li><li><a href="category/x.html">c</a></li>
    </ul></section></body></html>"""
    requests = list(spider().parse_listing(response(f"{SITE}/category/y.html", page)))
    assert [r.url for r in requests] == [f"{SITE}/x/2023/01/02/NW1.html", f"{SITE}/category/x.html"]


@pytest.mark.parametrize(
    ("footer", "finding"),
    [
        ('<a href="//finews.withounder.com/category/zhongguoyinxing/">返回中国银行新闻</a>', "unknown_links"),
        ('<a href="/category/zhongguoyinxing">返回中国银行新闻</a>', "unknown_links"),
        ('<a href="../zhongguoyinxing/">返回中国银行新闻</a>', None),  # early posts' relative form: known
        ('<a href="//finews.withounder.com/category/zhongguoyinxing.html">返回中国银行新闻</a>', None),
        ('<a href="http://other.example/category/x/">elsewhere</a>', None),  # not the site
    ],
)
def test_a_footer_linking_the_site_by_an_unknown_form_is_a_change(footer: str, finding: str | None) -> None:
    page = POST_PAGE.replace(
        '<a href="//finews.withounder.com/category/zhongguoyinxing.html">返回中国银行新闻</a>', footer
    )
    found, out = post_findings(page)
    assert found == ([finding] if finding else [])
    assert bool(out) == (finding is None)  # nothing is taken from a changed page


@pytest.mark.parametrize(
    "tail",
    [
        '<p><a href="javascript:void(0)" class="share" data-href="{url}">阅读原文</a></p>',
        '<p><a href="{url}">阅读原文</a></p>',
        "<p><button onclick=\"location.href='{url}'\">阅读原文</button></p>",
    ],
)
def test_a_share_link_rendered_another_way_is_a_change(tail: str) -> None:
    url = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW1"
    page = POST_PAGE.replace(f'<p><a href="{url}">{url}</a></p>', tail.format(url=url))
    assert page != POST_PAGE
    assert post_findings(page) == (["unknown_share_link"], [])


def post_findings(page: str) -> tuple[list[str], list[object]]:
    """The findings the spider reports for a post page, and what it yields from it."""
    found: list[str] = []

    class Recording(FinewsSpider):
        def site_checked(self, page_class: str, response: object, findings: list[Any]) -> bool:
            found.extend(f.finding for f in findings)
            return not findings

    out = list(
        Recording(start_url=f"{SITE}/").parse_post(response(f"{SITE}/zhongguoyinxing/2023/01/02/NW1.html", page))
    )
    return found, out


def test_post_page_becomes_an_article_and_a_share_request() -> None:
    out = list(spider().parse_post(response(f"{SITE}/zhongguoyinxing/2023/01/02/NW1.html", POST_PAGE)))
    share = [r for r in out if isinstance(r, Request) and r.callback.__name__ == "parse_share"]
    categories = [r.url for r in out if isinstance(r, Request) and r.callback.__name__ == "parse_listing"]
    assert categories == [f"{SITE}/category/zhongguoyinxing.html"]
    assert len(share) == 1 and share[0].dont_filter
    article: Article = share[0].cb_kwargs["article"]
    assert article.post_id == "NW1"
    assert article.title == "标题 A&amp;B"  # the layout prints the title unescaped: raw text is the title
    assert article.date == "2023-01-02 09:08:07"
    assert article.category == "zhongguoyinxing"
    assert article.tags == ["中国银行新闻"]
    assert article.media == "中国银行"
    # The body is rebuilt from the rendered page only if the share page fails.
    assert article.body is None
    # ... on one line, as the generator wrote the article's HTML (and as the share page has it).
    assert (
        source_body(share[0].cb_kwargs["body_html"]) == '<p>正文一。</p><p class="em_media">（文章来源：中国银行）</p>'
    )
    assert article.link == "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW1"
    assert article.footer == (
        "[返回中国银行新闻](//finews.withounder.com/category/zhongguoyinxing.html)｜[返回首页](//finews.withounder.com/)"
    )


def test_share_page_gives_the_exact_body_even_in_gb18030() -> None:
    article = Article(post_id="NW1", title="t", date="2023-01-02 09:08:07", body="rebuilt")
    url = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW1"
    page = SHARE_PAGE.replace("正文一。", "正文一镕𠮷。")
    items = list(spider().parse_share(response(url, page, "gb18030"), article))
    assert items == [article]
    assert article.body == '<p>正文一镕𠮷。</p><p class="em_media">（文章来源：中国银行）</p>'
    assert article.body_source == "share"
    assert article.title == "标题 A&B"
    assert article.media == "中国银行"


def test_missing_share_page_keeps_the_post_page_article() -> None:
    article = Article(post_id="NW1", title="t", date="2023-01-02 09:08:07", body="rebuilt")
    url = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW1"
    resp = HtmlResponse(url=url, status=404, body=b"<html>gone</html>", encoding="utf-8")
    assert list(spider().parse_share(resp, article)) == [article]
    assert article.body == "rebuilt"


def test_a_share_page_redirected_to_no_share_page_is_gone() -> None:
    # A deleted article's share link redirected to a notice: as a 404, the post page makes the post.
    post = list(spider().parse_post(response(f"{SITE}/zhongguoyinxing/2023/01/02/NW1.html", POST_PAGE)))
    share = next(r for r in post if isinstance(r, Request) and r.callback.__name__ == "parse_share")
    notice = HtmlResponse(
        url="http://finews.zning.xyz/html_News/deleted.html",
        body="<html><body><p>该文章已删除</p></body></html>".encode(),
        encoding="utf-8",
        request=share.replace(url="http://finews.zning.xyz/html_News/deleted.html"),
    )
    notice.meta["redirect_urls"] = [share.url]
    out = list(spider().parse_share(notice, **share.cb_kwargs))
    assert len(out) == 1 and out[0].body_source == "page"
    assert out[0].body == '<p>正文一。</p><p class="em_media">（文章来源：中国银行）</p>'


def test_share_only_article_follows_the_site_rules() -> None:
    url = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW9"
    article = spider().article_from_share_page(SHARE_PAGE, url)
    assert article is not None
    assert (article.post_id, article.category, article.tags) == ("NW9", "zhongguoyinxing", ["中国银行新闻"])
    assert article.footer == (
        "[返回中国银行新闻](//finews.withounder.com/category/zhongguoyinxing.html)｜[返回首页](//finews.withounder.com/)"
    )
    assert article.link == url


def test_early_post_without_footer_takes_the_category_from_its_url() -> None:
    page = POST_PAGE.replace(
        '<p><a href="//finews.withounder.com/category/zhongguoyinxing.html">返回中国银行新闻</a>｜'
        '<a href="//finews.withounder.com/">返回首页</a></p>',
        "",
    ).replace("http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW1", "http://finance.eastmoney.com/a,1.html")
    out = list(spider().parse_post(response(f"{SITE}/emnews/2023/01/02/1.html", page)))
    assert len(out) == 1 and isinstance(out[0], Article)
    assert out[0].category == "emnews" and out[0].footer is None
    assert out[0].link == "http://finance.eastmoney.com/a,1.html"


def test_start_url_must_be_http() -> None:
    for bad in ("ftp://x/", "finews.withounder.com", "javascript:alert(1)"):
        try:
            FinewsSpider(start_url=bad)
        except UsageError:
            continue
        raise AssertionError(f"{bad} accepted")


def test_spider_is_a_scrapy_spider() -> None:
    assert issubclass(FinewsSpider, scrapy.Spider) and FinewsSpider.name == "finews"


@pytest.mark.parametrize("start", ["http://finews.withounder.com/", "https://Finews.withounder.com:8080/"])
def test_plain_links_are_read_as_urljoin_reads_them(start: str) -> None:
    """The shortcut for plain site paths gives exactly what urljoin and the site check give."""
    spider = FinewsSpider(start_url=start)
    bases = [
        f"{SITE}/category/a.html",
        "HTTPS://finews.withounder.com/x/",
        "http://finews.zning.xyz/h?i=1",
        "http://o.com",
    ]
    atoms = [
        "/",
        "//",
        "a",
        ".",
        "..",
        "finews.withounder.com",
        "http:",
        "https:",
        "?",
        "#",
        "%20",
        " ",
        "~",
        "A",
        ":8",
    ]
    rng = random.Random(0)
    hrefs = ["/a/2023/01/01/X.html", "//finews.withounder.com.", "/a//b", "//FINEWS.withounder.com/a"] + [
        "".join(rng.choice(atoms) for _ in range(rng.randint(1, 7))) for _ in range(3000)
    ]
    shortcuts = 0
    for base in bases:
        for href in hrefs:
            expected = spider._site_url(urljoin(base, href.strip()))
            target = spider._classify(base, href)
            assert target is None or target.url == expected, (base, href)
            if (path := spider._plain_site_path(base, href.strip())) is not None:
                shortcuts += 1
                assert f"{spider.site[0]}://{spider.site[1]}{path}" == expected, (base, href)
            if target is not None and target.meta.get("verbatim_url"):
                # Kept as it is only when Scrapy would not change it anyway, nor fingerprint it otherwise.
                assert safe_url_string(target.url) == target.url == canonicalize_url(target.url)
    assert shortcuts > 100


@pytest.mark.parametrize(
    "link",
    [
        "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW1",
        "https://choicewzp1.eastmoney.com/html_News/NewsShare.html?infoCode=A9",
        "http://FINEWS.zning.xyz/html_News/NewsShare.html?infoCode=x1",
        "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=../x",
        "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=",
        "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=" + "a" * 121,
        "http://finews.zning.xyz.evil/html_News/NewsShare.html?infoCode=a",
        "http://finews.zning.xyz/html_News/NewsShare.html?a=1&infoCode=b",
    ],
)
def test_plain_share_links_are_taken_as_the_parsed_rule_takes_them(link: str) -> None:
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(link)
    codes = parse_qs(parts.query).get("infoCode")
    on_site = parts.hostname in ("finews.zning.xyz", "choicewzp1.eastmoney.com")
    expected = link if on_site and parts.path == "/html_News/NewsShare.html" and codes and codes[0] else None
    assert FinewsSpider.share_url(link) == expected


@pytest.mark.parametrize(
    "attrs_text",
    [' href="/a/b.html"', ' href="/a&amp;b"', ' HREF="/x"', ' href="/x" ', ' href="/x"/', " href=/x",
     ' class="a" href="/x"', '\nhref="/x"\n', ' href="/x" href="/y"', ' href=""'],
)  # fmt: skip
def test_plain_href_attributes_read_as_parsed(attrs_text: str) -> None:
    from archiver.format.htmlsource import parse_attrs
    from spiders.finews import PLAIN_HREF_ATTR

    plain = PLAIN_HREF_ATTR.fullmatch(attrs_text)
    assert plain is None or plain.group(1) == parse_attrs(attrs_text).get("href")

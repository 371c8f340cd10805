"""The finews site's expectations: what is a change of the site, and what is not."""

from __future__ import annotations

from scrapy.http import HtmlResponse

from spiders import finews_site
from spiders.finews import FinewsSpider
from tests.spiders.test_finews import POST_PAGE, SHARE_PAGE, SITE, response

LAYOUT = """<html><head><title>x</title></head><body><div class="wrapper"><header><h1><a href="https://finews.withounder.com/">金融消息</a></h1></header>
<section>{section}</section></div></body></html>"""
WALL = "<html><head><title>Just a moment...</title></head><body><h1>Checking your browser</h1></body></html>"


def kinds(found: list[finews_site.Expectation]) -> set[str]:
    return {f"{e.page_class}/{e.finding}" for e in found}


def listing(url: str, section: str) -> tuple[list[object], set[str]]:
    """What parse_listing yields for a page, and the findings of the same page."""
    spider = FinewsSpider(start_url=f"{SITE}/")
    text = LAYOUT.format(section=section)
    out = list(spider.parse_listing(response(url, text)))
    home = url.endswith(".com/")
    posts = section.count("/2023/")
    unknown = section.count("/posts/")
    found = finews_site.check_listing(
        text, finews_site.htmlsource.find(text, "section"), home=home, posts=posts, unknown=unknown
    )
    return out, kinds(found)


def test_an_empty_category_with_its_heading_is_no_change() -> None:
    assert listing(f"{SITE}/category/x.html", "<h2>X新闻</h2><ul></ul>") == ([], set())


def test_a_category_without_its_heading_is_a_change() -> None:
    _, found = listing(f"{SITE}/category/x.html", '<ul><li><a href="/x/2023/01/02/NW1.html">a</a></li></ul>')
    assert found == {"category/no_heading"}


def test_a_home_page_without_post_links_is_a_change() -> None:
    assert listing(f"{SITE}/", "<h2>X新闻</h2><ul></ul>")[1] == {"home/no_post_links"}


def test_links_to_site_pages_of_an_unknown_form_are_a_change_and_nothing_is_followed() -> None:
    section = (
        '<h2>X新闻</h2><ul><li><a href="/posts/NW1/">a</a></li><li><a href="/x/2023/01/02/NW2.html">b</a></li></ul>'
    )
    spider = FinewsSpider(start_url=f"{SITE}/")
    text = LAYOUT.format(section=section)
    assert list(spider.parse_listing(response(f"{SITE}/category/x.html", text))) == []  # outside a crawl: not ok
    assert listing(f"{SITE}/category/x.html", section)[1] == {"category/unknown_links"}
    # Assets are not pages: a stylesheet link is no permalink change.
    assert finews_site.is_page_path("/posts/NW1/") and finews_site.is_page_path("/a.html")
    assert not finews_site.is_page_path("/assets/a.css")


def test_a_page_without_the_site_layout_is_a_change_of_its_class() -> None:
    assert kinds(finews_site.check_listing(WALL, None, home=True, posts=0, unknown=0)) == {"home/not_site_page"}
    assert kinds(finews_site.check_listing(None, None, home=False, posts=0, unknown=0)) == {"category/not_site_page"}
    assert kinds(finews_site.check_post(WALL, post_id="NW1", title=None, time=None, body="", tags=[])) == {
        "post/not_site_page"
    }
    assert kinds(finews_site.check_share(WALL, False)) == {"share/not_share_page"}


def read_post(text: str) -> set[str]:
    spider = FinewsSpider(start_url=f"{SITE}/")
    article, body = spider.post_page(text, f"{SITE}/x/2023/01/02/NW1.html")
    found = finews_site.check_post(
        text, post_id=article.post_id, title=article.title, time=article.date, body=body, tags=article.tags
    )
    return kinds(found)


def test_the_post_page_as_the_layout_makes_it_is_no_change() -> None:
    assert read_post(POST_PAGE) == set()


def test_what_the_post_layout_prints_and_a_page_lacks_is_a_change() -> None:
    assert read_post(POST_PAGE.replace("<h1>标题 A&amp;B</h1>", "<h2>标题 A&amp;B</h2>")) == {"post/no_title"}
    assert read_post(POST_PAGE.replace("<small>(GMT+8, Asia/Shanghai, CST) 2023-01-02 09:08:07</small>", "")) == {
        "post/no_time"
    }
    assert read_post(POST_PAGE.replace("<small>tags: <em>中国银行新闻</em></small>", "")) == {"post/no_tags"}
    start = POST_PAGE.index("</h1>", POST_PAGE.index("<section>")) + 5
    stop = POST_PAGE.index("  <small>tags:")
    assert read_post(POST_PAGE[:start] + "\n" + POST_PAGE[stop:]) == {"post/no_body"}


def test_values_the_site_left_empty_are_not_a_change() -> None:
    # The site's generator published posts with an empty title: the pipelines drop them with a reason.
    assert read_post(POST_PAGE.replace("<h1>标题 A&amp;B</h1>", "<h1></h1>")) == set()
    assert read_post(POST_PAGE.replace("2023-01-02 09:08:07</small>", "</small>")) == set()


def test_a_share_page_without_its_article_is_a_change() -> None:
    assert finews_site.check_share(SHARE_PAGE, True) == []
    renamed = SHARE_PAGE.replace('id="ContentBody"', 'id="ArticleBody"')
    assert kinds(finews_site.check_share(renamed, False)) == {"share/no_article"}


def test_every_expectation_is_declared_once() -> None:
    names = [(e.page_class, e.finding) for e in finews_site.EXPECTATIONS]
    assert len(names) == len(set(names))
    assert {e.page_class for e in finews_site.EXPECTATIONS} == {"home", "category", "post", "share"}
    assert isinstance(response(f"{SITE}/", "x"), HtmlResponse)


def test_a_link_with_the_share_links_marks_that_the_spider_cannot_read_is_a_change() -> None:
    moved = "http://share.zning.xyz/html_News/NewsShare.html?infoCode=NW202303011015000202"
    assert finews_site.check_share_link(moved, recognized=False) == [finews_site.POST_UNKNOWN_SHARE_LINK]
    renamed = "http://finews.zning.xyz/News/Share.html?infoCode=NW1"
    assert finews_site.check_share_link(renamed, recognized=False) == [finews_site.POST_UNKNOWN_SHARE_LINK]
    # A share link the spider reads, an emnews post's eastmoney article, no link at all: as the site makes them.
    known = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202303011015000202"
    assert finews_site.check_share_link(known, recognized=True) == []
    article = "http://finance.eastmoney.com/news/1350,202303012300033881.html"
    assert finews_site.check_share_link(article, recognized=False) == []
    assert finews_site.check_share_link(None, recognized=False) == []


def post_findings(page: str, *, time: object, tags: list[str]) -> set[str]:
    found = finews_site.check_post(page, post_id="NW1", title="标题", time=time, body="<p>正文</p>", tags=tags)
    return {expectation.finding for expectation in found}


def test_a_time_or_tags_in_another_form_are_a_change_an_empty_date_is_not() -> None:
    other_form = POST_PAGE.replace("(GMT+8, Asia/Shanghai, CST) 2023-01-02 09:08:07", "2023年01月02日 09:08:07")
    assert post_findings(other_form, time=None, tags=["中国银行新闻"]) == {"unreadable_time"}
    # The generator published posts whose date was empty: the layout's label alone, a post to drop.
    empty = POST_PAGE.replace("(GMT+8, Asia/Shanghai, CST) 2023-01-02 09:08:07", "(GMT+8, Asia/Shanghai, CST) ")
    assert post_findings(empty, time=None, tags=["中国银行新闻"]) == set()
    garbled = POST_PAGE.replace("2023-01-02 09:08:07", "some day")  # hostile input: dropped as no_date
    assert post_findings(garbled, time=None, tags=["中国银行新闻"]) == set()
    us_form = POST_PAGE.replace("(GMT+8, Asia/Shanghai, CST) 2023-01-02 09:08:07", "01/02/2023 9:08 AM")
    assert post_findings(us_form, time=None, tags=["中国银行新闻"]) == {"unreadable_time"}
    strong = POST_PAGE.replace("<em>中国银行新闻</em>", "<strong>中国银行新闻</strong>")
    assert post_findings(strong, time="2023-01-02 09:08:07", tags=[]) == {"unreadable_tags"}
    assert post_findings(POST_PAGE.replace("<em>中国银行新闻</em>", ""), time="x", tags=[]) == set()

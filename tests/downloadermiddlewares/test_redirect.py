"""The redirect middlewares: a redirect is part of fetching its page (never a duplicate; a loop or too long a chain fails the page), and no Referer warning."""

from __future__ import annotations

import logging

import pytest
from scrapy import Request, Spider
from scrapy.core.scheduler import Scheduler
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares import redirect as scrapy_redirect
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from archiver import settings as project_settings
from archiver.crawl.failures import FailureLog
from archiver.downloadermiddlewares.metarefresh import MetaRefreshMiddleware
from archiver.downloadermiddlewares.redirect import RedirectFailed, RedirectMiddleware

URL = "http://finews.withounder.com/a.html"


@pytest.mark.parametrize("cls", [RedirectMiddleware, MetaRefreshMiddleware])
def test_no_warning_at_start_while_the_referer_middleware_is_off_on_purpose(
    cls: type, caplog: pytest.LogCaptureFixture
) -> None:
    crawler = get_crawler(Spider, {"REFERER_ENABLED": False})
    mw = cls.from_crawler(crawler)
    with caplog.at_level(logging.WARNING):
        mw._engine_started()
    assert not [r for r in caplog.records if "Referer" in r.getMessage()]


def test_with_the_referer_middleware_on_scrapys_code_runs(caplog: pytest.LogCaptureFixture) -> None:
    crawler = get_crawler(Spider, {"REFERER_ENABLED": True})
    mw = RedirectMiddleware.from_crawler(crawler)
    crawler.get_spider_middleware = lambda cls: None  # no engine here: Scrapy's lookup finds nothing
    with caplog.at_level(logging.WARNING):
        mw._engine_started()
    assert any("found no" in r.getMessage() for r in caplog.records)


def test_a_redirect_is_followed_without_a_referer_as_by_scrapy() -> None:
    crawler = get_crawler(Spider, {"REFERER_ENABLED": False})
    crawler.spider = Spider("s")
    ours, scrapys = RedirectMiddleware.from_crawler(crawler), scrapy_redirect.RedirectMiddleware.from_crawler(crawler)
    for mw in (ours, scrapys):
        mw._referer_spider_middleware = None
    request = Request(URL, headers={"Referer": "http://finews.withounder.com/"})
    response = Response(URL, status=301, headers={"Location": "/b.html"}, request=request)
    a, b = ours.process_response(request, response), scrapys.process_response(request, response)
    assert isinstance(a, Request) and isinstance(b, Request)
    assert a.url == b.url == "http://finews.withounder.com/b.html"
    assert b"Referer" not in a.headers and b"Referer" not in b.headers


def test_the_project_lists_it_in_place_of_scrapys() -> None:
    base = project_settings.DOWNLOADER_MIDDLEWARES_BASE
    assert "scrapy.downloadermiddlewares.redirect.RedirectMiddleware" not in base
    assert base["archiver.downloadermiddlewares.redirect.RedirectMiddleware"] == 600


# --- redirects are part of fetching a page: never dropped as duplicates, loops fail it ---------


class PostSpider(Spider):
    name = "posts"

    def parse(self, response: Response) -> None:
        pass


@pytest.fixture
def crawler() -> Crawler:
    settings = {
        "REFERER_ENABLED": False,
        "REDIRECT_MAX_TIMES": 3,
        "EXTENSIONS": {FailureLog: 0},
        # Scrapy's default queue needs a running engine; the duplicate filter is what is tested.
        "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.ScrapyPriorityQueue",
    }
    crawler = get_crawler(PostSpider, settings)
    crawler.spider = PostSpider.from_crawler(crawler)
    return crawler


def moved(request: Request, location: str, status: int = 301) -> Response:
    return Response(request.url, status=status, headers={"Location": location}, request=request)


def failures(crawler: Crawler) -> list[tuple[str, str, str]]:
    log = crawler.get_extension(FailureLog)
    assert log is not None
    return [(r.url, r.kind, r.reason) for r in log.records]


def test_a_page_redirected_to_itself_fails_for_good_and_is_retried_by_the_next_run(crawler: Crawler) -> None:
    mw = RedirectMiddleware.from_crawler(crawler)
    request = Request(URL, callback=crawler.spider.parse, meta={"archiver_post_id": "a"})
    with pytest.raises(RedirectFailed) as raised:
        mw.process_response(request, moved(request, URL))
    assert raised.value.reason == "redirect_loop"
    assert isinstance(raised.value, IgnoreRequest)  # what an errback gets, and the page guard leaves alone
    assert failures(crawler) == [(URL, "failed", "redirect_loop")]
    assert crawler.stats.get_value("archiver/pages/failed/redirect_loop") == 1
    log = crawler.get_extension(FailureLog)
    assert log is not None
    assert log.retry == [{"url": URL, "callback": "parse", "errback": None, "meta": {"archiver_post_id": "a"}}]


def test_the_fragment_does_not_make_a_loop_another_url(crawler: Crawler) -> None:
    mw = RedirectMiddleware.from_crawler(crawler)
    request = Request(URL)
    with pytest.raises(RedirectFailed):
        mw.process_response(request, moved(request, "/a.html#top"))


def test_two_pages_redirected_to_each_other_fail_under_the_first_url(crawler: Crawler) -> None:
    mw = RedirectMiddleware.from_crawler(crawler)
    request = Request(URL, callback=crawler.spider.parse)
    second = mw.process_response(request, moved(request, "/a.htm"))
    assert isinstance(second, Request) and second.url == "http://finews.withounder.com/a.htm"
    assert failures(crawler) == []
    with pytest.raises(RedirectFailed, match="redirect_loop"):
        mw.process_response(second, moved(second, URL, status=302))
    assert failures(crawler) == [(URL, "failed", "redirect_loop")]
    log = crawler.get_extension(FailureLog)
    assert log is not None
    assert [entry["url"] for entry in log.retry] == [URL]  # the page asked for, not the last hop


def test_a_redirect_to_a_url_the_crawl_fetched_is_fetched_for_the_page_it_stands_for(crawler: Crawler) -> None:
    scheduler = Scheduler.from_crawler(crawler)
    scheduler.open(crawler.spider)
    home = "http://finews.withounder.com/"
    assert scheduler.enqueue_request(Request(home))
    post = Request(URL, callback=crawler.spider.parse)
    ours = RedirectMiddleware.from_crawler(crawler).process_response(post, moved(post, home))
    scrapys = scrapy_redirect.RedirectMiddleware.from_crawler(crawler).process_response(post, moved(post, home))
    assert isinstance(ours, Request) and isinstance(scrapys, Request)
    assert not scheduler.enqueue_request(scrapys)  # how the page was lost: dropped as a duplicate of the home page
    assert scheduler.enqueue_request(ours)
    assert (ours.url, ours.callback, ours.meta["redirect_urls"]) == (home, post.callback, [URL])
    assert failures(crawler) == []


def test_more_redirects_than_allowed_fail_the_page_for_good(crawler: Crawler) -> None:
    mw = RedirectMiddleware.from_crawler(crawler)
    request = Request(URL, callback=crawler.spider.parse)
    for hop in range(3):  # REDIRECT_MAX_TIMES
        followed = mw.process_response(request, moved(request, f"/hop{hop}.html"))
        assert isinstance(followed, Request) and followed.meta["redirect_times"] == hop + 1
        request = followed
    with pytest.raises(RedirectFailed) as raised:
        mw.process_response(request, moved(request, "/hop3.html"))
    assert raised.value.reason == "too_many_redirects"
    assert failures(crawler) == [(URL, "failed", "too_many_redirects")]


def test_the_redirect_chain_is_scrapys(crawler: Crawler) -> None:
    ours = RedirectMiddleware.from_crawler(crawler)
    scrapys = scrapy_redirect.RedirectMiddleware.from_crawler(crawler)
    request = Request(URL, method="POST", body=b"x", priority=3)
    a, b = (mw.process_response(request, moved(request, "/b.html", status=303)) for mw in (ours, scrapys))
    assert isinstance(a, Request) and isinstance(b, Request)
    assert (a.url, a.method, a.body, a.priority) == (b.url, b.method, b.body, b.priority)
    assert {k: a.meta[k] for k in b.meta} == b.meta

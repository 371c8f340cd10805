"""The redirect middlewares drop a redirect's Referer, as Scrapy's do without its Referer middleware, without warning."""

from __future__ import annotations

import logging

import pytest
from scrapy import Request, Spider
from scrapy.downloadermiddlewares import redirect as scrapy_redirect
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from archiver import settings as project_settings
from archiver.downloadermiddlewares.metarefresh import MetaRefreshMiddleware
from archiver.downloadermiddlewares.redirect import RedirectMiddleware

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

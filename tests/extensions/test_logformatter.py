"""No per-page "Crawled"/"Scraped" DEBUG message is built when the log cannot show it; all else is Scrapy's."""

from __future__ import annotations

import logging

import pytest
from scrapy import Request, Spider
from scrapy.exceptions import DownloadTimeoutError, DropItem
from scrapy.http import Response
from scrapy.utils.test import get_crawler
from twisted.internet.error import ConnectionLost
from twisted.python.failure import Failure

from archiver import config
from archiver.extensions.logformatter import LogFormatter


@pytest.mark.parametrize(
    ("settings", "debug"),
    [
        ({}, False),  # Scrapy's default LOG_LEVEL is DEBUG, the project's INFO
        ({"LOG_LEVEL": "DEBUG"}, True),
        ({"LOG_LEVEL": "debug"}, True),
        ({"LOG_LEVEL": logging.DEBUG}, True),
        ({"LOG_LEVEL": "WARNING"}, False),
        ({"LOG_LEVEL": 5}, True),
        ({"LOG_LEVEL": "INFO", "LOG_ENABLED": False}, True),  # no Scrapy handler: the process's own may want it
    ],
)
def test_messages_follow_the_crawls_log_level(settings: dict[str, object], debug: bool) -> None:
    crawler = get_crawler(Spider, {"LOG_LEVEL": "INFO", **settings})
    assert config.debug_logged(crawler.settings) is debug
    formatter = LogFormatter.from_crawler(crawler)
    spider = Spider("s")
    spider.crawler = crawler
    request = Request("http://finews.withounder.com/")
    response = Response(request.url, request=request)
    crawled = formatter.crawled(request, response, spider)
    scraped = formatter.scraped({"title": "t"}, response, spider)
    assert (crawled is not None, scraped is not None) == (debug, debug)
    if debug:
        assert crawled is not None and crawled["level"] == logging.DEBUG
    dropped = formatter.dropped({"title": "t"}, DropItem("no title"), response, spider)
    assert dropped is not None and dropped["level"] == logging.WARNING


@pytest.mark.parametrize(
    ("error", "level"),
    [
        (DownloadTimeoutError("Getting http://x/ took longer than 30 seconds."), logging.DEBUG),
        (ConnectionLost("Connection to the other side was lost"), logging.DEBUG),
        (ValueError("a bug somewhere"), logging.ERROR),  # not a network's failure: Scrapy's ERROR stays
    ],
)
def test_a_download_that_failed_as_networks_fail_is_one_line_of_the_failure_log(error: Exception, level: int) -> None:
    # The FailureLog says "page failed (timeout), ..." at ERROR; Scrapy's traceback goes to DEBUG.
    formatter = LogFormatter(debug=False)
    result = formatter.download_error(Failure(error), Request("http://x/"), Spider("s"))
    assert result["level"] == level

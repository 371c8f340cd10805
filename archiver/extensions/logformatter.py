"""``LogFormatter``: no "Crawled" and "Scraped" DEBUG message per page when the log cannot show them.

Scrapy's engine asks its ``LOG_FORMATTER`` for a message for every response and every item, and
logs what it gets. Those messages are DEBUG, and Scrapy's handler drops them at the default
``LOG_LEVEL = "INFO"``; building each message and its log record first cost 2.3 % of a crawl's
CPU. This formatter answers ``None`` (Scrapy's documented "log nothing") for them unless the
crawl logs DEBUG (``archiver.config.debug_logged``); every other message is Scrapy's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy import logformatter

from archiver import config

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.python.failure import Failure


class LogFormatter(logformatter.LogFormatter):
    def __init__(self, *, debug: bool = True) -> None:
        self.debug = debug

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LogFormatter:
        return cls(debug=config.debug_logged(crawler.settings))

    def crawled(  # type: ignore[override]  # None is the documented "log nothing"
        self, request: Request, response: Response, spider: Spider
    ) -> logformatter.LogFormatterResult | None:
        return super().crawled(request, response, spider) if self.debug else None

    def scraped(  # type: ignore[override]
        self, item: Any, response: Response | Failure | None, spider: Spider
    ) -> logformatter.LogFormatterResult | None:
        return super().scraped(item, response, spider) if self.debug else None

"""``IncrementalSpiderMiddleware``: known posts dropped before they are scheduled; remembered listings asked again.

It also stores a fetched page once its callback is done (``IncrementalState.commit``), unless the
spider found the page changed.

Dropping here saves a request's trip through the scheduler and the downloader middlewares
(a millisecond each: seconds for a site of thousands of known posts); the downloader middleware
applies the same rule (``archiver.crawl.incremental``) to requests that come from elsewhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from scrapy.crawler import Crawler
from scrapy.http import Request, Response

from archiver.crawl.incremental import META_LISTING, IncrementalState
from archiver.crawl.state import shared


class IncrementalSpiderMiddleware:
    """Drops requests that would be skipped before they are scheduled, and re-requests remembered listings.

    Dropping here saves a request's trip through the scheduler and the downloader middlewares
    (a millisecond each: seconds for a site of thousands of known posts); the downloader
    middleware applies the same rule to requests that come from elsewhere.

    After the spider's start requests, the listing pages earlier crawls stored are requested
    again -- only when the spider's own start includes a listing page, so that a targeted
    crawl (share URLs) does not turn into a crawl of the whole site.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.state = shared(crawler, IncrementalState)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalSpiderMiddleware:
        return cls(crawler)

    def _keep(self, result: Any) -> bool:
        return not isinstance(result, Request) or self.state.skip(result.meta) is None

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        for item in result:
            if self._keep(item):
                yield item
        # The callback is done and raised nothing: its page is stored unless it found the site changed.
        self.state.commit(response.meta)

    async def process_spider_output_async(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for item in result:
            if self._keep(item):
                yield item
        self.state.commit(response.meta)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        walks_listings = False
        async for item in start:
            walks_listings = walks_listings or (isinstance(item, Request) and bool(item.meta.get(META_LISTING)))
            yield item
        if not (self.state.enabled and walks_listings):
            return
        spider = self.crawler.spider
        count = 0
        for page in self.state.store.listings():
            callback = getattr(spider, str(page.extra.get("callback")), None)
            errback = getattr(spider, str(page.extra.get("errback")), None)
            if not callable(callback):
                continue
            meta = dict(page.extra.get("meta") or {})
            meta[META_LISTING] = True
            count += 1
            yield Request(page.url, callback=callback, errback=errback if callable(errback) else None, meta=meta)
        self.crawler.stats.set_value("archiver/listings/remembered", count)

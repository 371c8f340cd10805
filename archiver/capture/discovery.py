"""Discovery for a run from a web archive: the spider's start replaced by the endpoint's CDX listing.

``WaybackDiscovery`` (a spider middleware, closest to the spider) asks the endpoint's CDX API for
every capture under the hosts and paths the spider declares (``wayback_prefixes``, else
``allowed_domains``), page by page, into ``archiver.capture.wayback.WaybackState``; then turns each
captured URL into the spider's own request through its hook ``request_for_url(url)`` (only the
spider knows its URL scheme) and applies the archive's rule (``IncrementalState.skip``: the backfill
window on the day a post URL shows, archived posts), and one more: an archived post is not fetched
from the archive even within the recheck window, since its capture may be older than what a live run
archived. A URL reached under two schemes (a capture's ``http``, a link's ``https``) is requested once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from archiver.capture import cdx
from archiver.capture.wayback import META_CDX, WaybackState, endpoint_of
from archiver.crawl.failures import FailureLog
from archiver.crawl.incremental import META_POST_ID, IncrementalState
from archiver.crawl.sitehealth import META_UNLINKED
from archiver.crawl.state import shared
from archiver.crawl.window import Window

logger = logging.getLogger(__name__)

# Largest CDX answer accepted (a pywb collection answers a prefix query in one piece).
MAX_CDX_BYTES = 512 * 1024 * 1024


class WaybackDiscovery:
    """Spider middleware: the spider's start replaced by the endpoint's CDX listing of its hosts."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.state = shared(crawler, WaybackState)
        self.incremental = shared(crawler, IncrementalState)
        self.window = Window.from_settings(crawler.settings)
        self._seen: set[str] = set()
        self._known_ids: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WaybackDiscovery:
        if endpoint_of(crawler.settings) is None:
            raise NotConfigured
        return cls(crawler)

    def prefixes(self) -> list[str]:
        spider = self.crawler.spider
        declared = getattr(spider, "wayback_prefixes", None)
        if declared:
            return [str(p) for p in declared]
        return [f"{domain}/" for domain in getattr(spider, "allowed_domains", None) or [] if domain]

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        # Today's listings say nothing of the past: the spider's start requests are not made.
        async for _ in start:
            pass
        spider = self.crawler.spider
        hook = getattr(spider, "request_for_url", None)
        try:
            if not callable(hook):
                logger.error("spider %s has no request_for_url(url): it cannot read from a web archive", spider)
                return
            # A post is captured on its day or later (a day earlier in UTC): older captures cannot hold it.
            since = (self.window.since - dt.timedelta(days=1)).strftime("%Y%m%d") if self.window.since else None
            if await self._collection_exists():
                for prefix in self.prefixes():
                    await self._list(prefix, since)
        finally:
            # Requests of a resumed job's queue wait for the listing (WaybackMiddleware).
            self.state.listing_read()
        made = 0
        for key in sorted(self.state.captures):
            request = hook(self.state.captures[key].url)
            if not isinstance(request, Request) or not self._first(request):
                continue
            request.meta[META_UNLINKED] = True  # found in the CDX listing, not linked by a page
            if self.incremental.skip(request.meta) is not None or self._known(request):
                continue
            made += 1
            yield request
        self.crawler.stats.set_value("archiver/wayback/start_requests", made)

    async def _collection_exists(self) -> bool:
        """pywb answers the CDX query of a collection it does not have with an empty 200: ask the collection."""
        endpoint = self.state.endpoint
        if endpoint.kind != cdx.PYWB:
            return True
        url = endpoint.url + "/"
        request = Request(url, dont_filter=True, meta={META_CDX: True, "handle_httpstatus_list": [404]})
        try:
            response = await self.crawler.engine.download_async(request)
        except Exception as exc:  # recorded by the page guard as a failed page
            logger.error("pywb endpoint unreachable (%s): %s", exc, url)
            return False
        if response.status == 404:
            logger.error("CDX query answered 404: pywb has no collection %s", url)
            shared(self.crawler, FailureLog).failed(url, "no_collection", "pywb has no such collection")
            return False
        return True

    async def _list(self, prefix: str, since: str | None) -> None:
        endpoint, resume = self.state.endpoint, None
        while True:
            url = endpoint.cdx_url(prefix, since=since, resume_key=resume)
            request = Request(url, dont_filter=True, meta={META_CDX: True, "download_maxsize": MAX_CDX_BYTES})
            try:
                response = await self.crawler.engine.download_async(request)
            except Exception as exc:  # recorded by the page guard as a failed page
                logger.error("CDX query failed (%s): %s", exc, url)
                return
            if response.status != 200:
                logger.error("CDX query answered %d: %s", response.status, url)
                return
            try:
                captures, resume = cdx.parse(endpoint.kind, response.body)
            except ValueError as exc:
                shared(self.crawler, FailureLog).failed(url, "cdx_unreadable", str(exc)[:200])
                return
            self.crawler.stats.inc_value("archiver/wayback/cdx_pages")
            self.state.add(captures)
            if not resume:
                return

    def _first(self, request: Request) -> bool:
        """False for a request of a URL already asked under another scheme (one capture, one request)."""
        if request.dont_filter:
            return True
        key = cdx.url_key(request.url)
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def _known(self, request: Request) -> bool:
        """An archived post, even one of the recheck window: a capture may be older than what a live run archived."""
        post_id = request.meta.get(META_POST_ID)
        if not (self.incremental.enabled and post_id) or self.incremental.index.get(str(post_id)) is None:
            return False
        if post_id not in self._known_ids:
            self._known_ids.add(post_id)
            self.crawler.stats.inc_value("archiver/posts/skipped_known")
        return True

    def _wanted(self, result: Any) -> bool:
        return not isinstance(result, Request) or (self._first(result) and not self._known(result))

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        return (r for r in result if self._wanted(r))

    async def process_spider_output_async(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for r in result:
            if self._wanted(r):
                yield r

"""``IncrementalSpiderMiddleware``: known posts dropped before they are scheduled; remembered listings asked again.

It also stores a fetched page once its callback is done (``IncrementalState.commit``), unless the
spider found the page changed.

Dropping here saves a request's trip through the scheduler and the downloader middlewares
(a millisecond each: seconds for a site of thousands of known posts); the downloader middleware
applies the same rule (``archiver.crawl.incremental``) to requests that come from elsewhere.

It also makes a re-run's cost independent of the archive's size. A listing page whose reading
led to nothing the rule wanted -- every post it links archived and older than the recheck
window, every listing it links one that crawls re-request anyway -- is marked *settled* in the
page store (``StoredPage.extra["settled"]``: the posts it links, the listings it links, the
spider's source). When a later crawl gets a 304 for it, the page is unchanged, so its links are
the same; if each of those posts is still archived and still older than that crawl's recheck
window, and each listing is re-requested by this crawl, reading the page again would yield
nothing: its callback's output is not read at all (``archiver/listings/settled``), and its posts
are counted as known as if it had been.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import types
from collections.abc import AsyncIterator, Awaitable, Generator, Iterable, Iterator
from typing import Any

from scrapy.crawler import Crawler
from scrapy.http import Request, Response

from archiver.crawl.incremental import META_LISTING, Dismissals, IncrementalState
from archiver.crawl.sitehealth import META_SITE_CHANGED
from archiver.crawl.state import shared
from archiver.store.pagestore import LISTING

logger = logging.getLogger(__name__)

SETTLED = "settled"
# The flag archiver.downloadermiddlewares.incremental puts on the stored page it answers a 304 with.
NOT_MODIFIED = "not_modified"


class IncrementalSpiderMiddleware:
    """Drops requests that would be skipped before they are scheduled, and re-requests remembered listings.

    Dropping here saves a request's trip through the scheduler and the downloader middlewares
    (a millisecond each: seconds for a site of thousands of known posts); the downloader
    middleware applies the same rule to requests that come from elsewhere.

    After the spider's start requests, the listing pages earlier crawls stored are requested
    again -- only when the spider's own start includes a listing page, so that a targeted
    crawl (share URLs) does not turn into a crawl of the whole site. Settled listings answered
    304 are not read again (see the module's docstring).
    """

    def __init__(self, crawler: Crawler) -> None:
        assert crawler.stats is not None
        self.crawler = crawler
        self.stats = crawler.stats
        self.state = shared(crawler, IncrementalState)
        # Filled by process_start: the listings this crawl re-requests, and the settled marks of
        # their stored pages (with the length and SHA-1 of the body each mark belongs to).
        self._rerequested: set[str] = set()
        self._marks: dict[str, tuple[dict[str, Any], int, str]] = {}
        self._parser: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalSpiderMiddleware:
        return cls(crawler)

    def _keep(self, result: Any) -> bool:
        return not isinstance(result, Request) or self.state.skip(result.meta) is None

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        # Scrapy 2.19 calls the asynchronous method below; this one is kept for older callers.
        if self._is_listing(response) and self._settled(response):
            return
        for item in result:
            if self._keep(item):
                yield item
        # The callback is done and raised nothing: its page is stored unless it found the site changed.
        self.state.commit(response.meta)

    async def process_spider_output_async(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        if not self._is_listing(response):
            async for item in result:
                if self._keep(item):
                    yield item
            self.state.commit(response.meta)
            return
        if self._settled(response):
            return  # the callback's output is never read: no parsing at all
        note = Dismissals()
        listings: list[str] = []
        settled = True
        while True:
            try:
                item = await _with_dismissals(self.state, note, result.__anext__())
            except StopAsyncIteration:
                break
            if isinstance(item, Request):
                self.state.dismissals = note
                try:
                    if not self._keep(item):
                        continue
                finally:
                    self.state.dismissals = None
                if item.meta.get(META_LISTING):
                    listings.append(item.url)
                else:
                    settled = False  # a page to fetch: wanted
            else:
                settled = False  # an item
            yield item
        # Stored first (unless the spider found the site changed): a mark is only written on the
        # stored copy of the very body just read.
        self.state.commit(response.meta)
        if settled and not note.other and not response.meta.get(META_SITE_CHANGED):
            self._mark(response, note.posts, listings)

    def process_spider_exception(self, response: Response, exception: Exception) -> None:
        # Raised while a listing was read (Scrapy offers it here before the output ends): the
        # reading was cut short, so the page is not marked settled.
        if self.state.dismissals is not None:
            self.state.dismissals.other = True

    # --- settled listings ---------------------------------------------------------------------
    def _is_listing(self, response: Response) -> bool:
        return self.state.enabled and bool(response.meta.get(META_LISTING))

    def _mark(self, response: Response, posts: list[str], listings: list[str]) -> None:
        parser = self._spider_source()
        if parser is None:
            return
        value = {"parser": parser, "posts": sorted(set(posts)), "listings": sorted(set(listings))}
        try:
            marked = self.state.store.mark(LISTING, response.url, response.body, SETTLED, value)
        except OSError as exc:  # only a later run's saving is lost: it reads the listing again
            logger.warning("page store: the settled mark of %s was not written: %s", response.url, exc)
            return
        if marked:
            self.stats.inc_value("archiver/listings/marked_settled")

    def _settled(self, response: Response) -> bool:
        """Whether this listing is answered 304 and settled: reading it again would yield nothing."""
        if NOT_MODIFIED not in response.flags:
            return False
        entry = self._marks.get(response.url)
        if entry is None:
            return False
        mark, length, digest = entry
        listings, posts = mark.get("listings"), mark.get("posts")
        if (
            not isinstance(listings, list)
            or not isinstance(posts, list)
            or mark.get("parser") != self._spider_source()
            or not self._rerequested.issuperset(listings)
            or len(response.body) != length
            or hashlib.sha1(response.body).hexdigest() != digest
            or not self.state.all_known(posts)
        ):
            return False
        self.state.dismiss_known(posts)
        self.stats.inc_value("archiver/listings/settled")
        return True

    def _spider_source(self) -> str | None:
        """A digest of the spider's module: a mark made by other parsing code is not trusted."""
        if self._parser is None:
            module = sys.modules.get(type(self.crawler.spider).__module__)
            path = getattr(module, "__file__", None)
            try:
                with open(str(path), "rb") as handle:
                    self._parser = hashlib.sha1(handle.read()).hexdigest()[:16]
            except (OSError, TypeError):
                self._parser = ""
        return self._parser or None

    # --- start --------------------------------------------------------------------------------
    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        walks_listings = False
        async for item in start:
            walks_listings = walks_listings or (isinstance(item, Request) and bool(item.meta.get(META_LISTING)))
            yield item
        if not (self.state.enabled and walks_listings):
            return
        spider = self.crawler.spider
        requests = []
        for page in self.state.store.listings():
            callback = getattr(spider, str(page.extra.get("callback")), None)
            errback = getattr(spider, str(page.extra.get("errback")), None)
            if not callable(callback):
                continue
            meta = dict(page.extra.get("meta") or {})
            meta[META_LISTING] = True
            errback = errback if callable(errback) else None
            requests.append(Request(page.url, callback=callback, errback=errback, meta=meta))
            if isinstance(mark := page.extra.get(SETTLED), dict):
                self._marks[page.url] = (mark, len(page.body), hashlib.sha1(page.body).hexdigest())
        # All of them known before the first is yielded: a settled mark relies on this whole set.
        self._rerequested = {request.url for request in requests}
        self.crawler.stats.set_value("archiver/listings/remembered", len(requests))
        for request in requests:
            yield request


@types.coroutine
def _with_dismissals(state: IncrementalState, note: Dismissals, step: Awaitable[Any]) -> Generator[Any, Any, Any]:
    """Await ``step`` (one step of a listing's output) with ``state.dismissals`` set to ``note``
    while, and only while, it runs: what the callback dismisses is told apart from what other
    callbacks dismiss while this one waits (if it ever does)."""
    coro: Any = step.__await__()
    send: Any = None
    throw: BaseException | None = None
    while True:
        state.dismissals = note
        try:
            future = coro.throw(throw) if throw is not None else coro.send(send)
        except StopIteration as stop:
            return stop.value
        finally:
            state.dismissals = None
        try:
            send, throw = (yield future), None
        except BaseException as exc:  # delivered to the step, which decides
            send, throw = None, exc

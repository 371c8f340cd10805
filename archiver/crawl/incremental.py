"""Incremental, change-aware crawling: the archive decides what is fetched again.

Spiders mark their requests with what the URL tells (``request.meta``):

- ``archiver_post_id``, ``archiver_post_day`` (``YYYY-MM-DD``, Beijing): a post's page or share page;
- ``archiver_listing``: a listing page (home, category), always revalidated and remembered;
- ``archiver_category``: the category slug the URL names, for ``--category``.

``IncrementalMiddleware`` (a downloader middleware) then, for each request:

- drops it when its day or category is outside the backfill window (``--since``, ``--until``,
  ``--category``);
- skips a post already in the archive (``archiver.index``) whose day is older than the recheck
  window (``ARCHIVER_RECHECK_DAYS``): it is neither requested nor rewritten (``skipped_known``);
- revalidates everything else it has a stored copy of, with ``If-None-Match`` /
  ``If-Modified-Since``; a 304 answer is replaced by the stored page, so the spider parses it as
  before (and follows its links) and the exporter finds the post unchanged and writes nothing.

It sits at 800, between the proxy middleware and ``DownloaderStats``: skipped requests are not
counted as requests, and 304 answers are counted as 304s before they become the stored 200.

``IncrementalSpiderMiddleware`` applies the same skips to the spider's output, before the
requests are scheduled, and re-requests the listing pages earlier crawls found, since a
crawl that skips known posts no longer reaches them through post footers.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from scrapy import Request

from archiver import config, dates
from archiver.index import ArchiveIndex, index_at_start
from archiver.lock import state_dir
from archiver.pagestore import LISTING, PageStore, StoredPage

logger = logging.getLogger(__name__)

META_POST_ID = "archiver_post_id"
META_POST_DAY = "archiver_post_day"
META_CATEGORY = "archiver_category"
META_LISTING = "archiver_listing"
_META_BUCKET = "archiver_store_bucket"
_META_CONDITIONAL = "archiver_store_conditional"
_CONDITIONAL = (b"If-None-Match", b"If-Modified-Since")


def parse_day(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def beijing_today() -> dt.date:
    return dt.datetime.now(dates.BEIJING).date()


@dataclass(frozen=True)
class Window:
    """The backfill window: days (Beijing, inclusive) and category slugs a crawl is limited to."""

    since: dt.date | None = None
    until: dt.date | None = None
    categories: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Any) -> Window:
        bounds = []
        for name in ("ARCHIVER_SINCE", "ARCHIVER_UNTIL"):
            raw = settings.get(name)
            day = parse_day(raw)
            if raw and day is None:
                raise config.SettingError(f"{name}={raw!r} is not a date: use YYYY-MM-DD (Beijing time)")
            bounds.append(day)
        since, until = bounds
        if since and until and since > until:
            raise config.SettingError(f"ARCHIVER_SINCE={since} is after ARCHIVER_UNTIL={until}")
        categories = frozenset(c.strip() for c in settings.getlist("ARCHIVER_CATEGORIES") if c.strip())
        return cls(since, until, categories)

    def day_ok(self, day: dt.date) -> bool:
        return (self.since is None or day >= self.since) and (self.until is None or day <= self.until)

    def category_ok(self, category: str | None) -> bool:
        return not self.categories or category is None or category in self.categories

    def __str__(self) -> str:
        parts = [f"since {self.since}" if self.since else "", f"until {self.until}" if self.until else ""]
        if self.categories:
            parts.append("categories " + ",".join(sorted(self.categories)))
        return " ".join(p for p in parts if p) or "everything"


def page_store(settings: Any) -> PageStore:
    return PageStore(state_dir(settings) / "pages", fsync=config.flag(settings, "ARCHIVER_FSYNC"))


class IncrementalState:
    """What the incremental components of one crawl share: the archive index, the window, the store.

    ``incremental_state(crawler)`` creates it once per crawler; it opens at ``spider_opened``.
    """

    def __init__(self, crawler: Any) -> None:
        from scrapy import signals

        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.root = config.output_dir(settings)
        self.enabled = config.flag(settings, "ARCHIVER_INCREMENTAL")
        self.recheck_days = config.positive_int(settings, "ARCHIVER_RECHECK_DAYS", minimum=0)
        self.window = Window.from_settings(settings)
        self.store = page_store(settings)
        self.index = ArchiveIndex(self.root)
        self.cutoff = beijing_today()
        self._skipped: set[str] = set()
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    def spider_opened(self) -> None:
        self.store.open()
        self.cutoff = beijing_today() - dt.timedelta(days=self.recheck_days)
        if self.enabled:
            self.index = index_at_start(self.crawler, self.root)
            logger.info(
                "incremental: %d archived posts indexed in %.3f s; posts dated before %s are not fetched again",
                len(self.index),
                self.stats.get_value("archiver/index/seconds", 0.0),
                self.cutoff,
            )
        if self.window != Window():
            logger.info("backfill window: %s", self.window)

    def spider_closed(self) -> None:
        removed = self.store.prune(self.cutoff)
        if removed:
            logger.debug("page store: %d pages of days before %s removed", removed, self.cutoff)

    def skip(self, meta: Any) -> str | None:
        """Why a request with this meta is not to be made (counted in the stats), or None."""
        category = meta.get(META_CATEGORY)
        if not self.window.category_ok(category):
            self.stats.inc_value("archiver/requests/skipped/category")
            return f"category {category} is not selected"
        day = parse_day(meta.get(META_POST_DAY))
        if day is not None and not self.window.day_ok(day):
            self.stats.inc_value("archiver/requests/skipped/out_of_window")
            return f"post day {day} is outside the window"
        post_id = meta.get(META_POST_ID)
        if not (self.enabled and post_id):
            return None
        known = self.index.get(str(post_id))
        if known is None or known.day >= self.cutoff:
            return None
        if post_id not in self._skipped:
            self._skipped.add(post_id)
            self.stats.inc_value("archiver/posts/skipped_known")
        return f"post {post_id} is archived and older than the recheck window"

    def bucket(self, meta: Any) -> str | None:
        """Where the page of a request is kept for revalidation, or None when it is not worth keeping."""
        if not self.enabled:
            return None
        if meta.get(META_LISTING):
            return LISTING
        post_id = meta.get(META_POST_ID)
        if not post_id:
            return None
        day = parse_day(meta.get(META_POST_DAY))
        if day is None and (known := self.index.get(str(post_id))) is not None:
            day = known.day
        # Only pages that a later crawl will revalidate.
        return day.isoformat() if day is not None and day >= self.cutoff else None


def incremental_state(crawler: Any) -> IncrementalState:
    state = getattr(crawler, "archiver_incremental", None)
    if state is None:
        state = IncrementalState(crawler)
        crawler.archiver_incremental = state
    return state


def wanted(crawler: Any, meta: Any) -> bool:
    """For spiders: whether a request with this meta is worth building at all.

    The same rule, with the same stats, as the incremental spider middleware applies to the
    request once built; a spider that asks first saves building (and the middleware dropping)
    a request for every known post of a listing -- most of a re-run's work. True when the
    incremental components are not enabled for this crawl, or there is no crawl (None).
    """
    state = getattr(crawler, "archiver_incremental", None)
    return state is None or state.skip(meta) is None


class IncrementalMiddleware:
    """The downloader middleware: skips, conditional headers, stored pages for 304 answers."""

    def __init__(self, crawler: Any) -> None:
        self.state = incremental_state(crawler)
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> IncrementalMiddleware:
        return cls(crawler)

    # --- requests -------------------------------------------------------------------------------
    def process_request(self, request: Any) -> None:
        from scrapy.exceptions import IgnoreRequest

        meta = request.meta
        reason = self.state.skip(meta)
        if reason is not None:
            raise IgnoreRequest(reason)
        # A retried or redirected request carries the last attempt's conditions: start afresh.
        meta.pop(_META_CONDITIONAL, None)
        meta.pop(_META_BUCKET, None)
        for name in _CONDITIONAL:
            request.headers.pop(name, None)
        bucket = self.state.bucket(meta)
        if bucket is None:
            return None
        meta[_META_BUCKET] = bucket
        stored = self.state.store.load(bucket, request.url)
        if stored is not None and (validators := stored.conditional_headers()):
            for header, value in validators.items():
                request.headers[header] = value
            meta[_META_CONDITIONAL] = True
        return None

    # --- responses ------------------------------------------------------------------------------
    def process_response(self, request: Any, response: Any) -> Any:
        bucket = request.meta.get(_META_BUCKET)
        if bucket is None:
            return response
        if response.status == 304 and request.meta.get(_META_CONDITIONAL):
            return self._not_modified(request, response, bucket)
        if response.status == 200 and "dataloss" not in response.flags:
            page = _page_of(request, response, listing=bucket == LISTING)
            if page.conditional_headers():
                self.state.store.save(bucket, page)
        elif response.status in (404, 410) and bucket == LISTING:
            # A listing that is gone is no longer re-requested by later crawls.
            self.state.store.delete(bucket, request.url)
        return response

    def _not_modified(self, request: Any, response: Any, bucket: str) -> Any:
        from scrapy.http.headers import Headers
        from scrapy.responsetypes import responsetypes

        stored = self.state.store.load(bucket, request.url)
        if stored is None:
            # The stored copy vanished or did not verify: ask again, unconditionally.
            self.stats.inc_value("archiver/store/refetch")
            return request.replace(dont_filter=True)
        self.stats.inc_value("archiver/store/not_modified")
        headers = Headers(stored.headers)
        cls = responsetypes.from_args(headers=headers, url=stored.url, body=stored.body)
        return cls(
            url=stored.url,
            status=stored.status,
            headers=headers,
            body=stored.body,
            flags=[*response.flags, "not_modified"],
            request=request,
            ip_address=getattr(response, "ip_address", None),
            protocol=getattr(response, "protocol", None),
        )


def _page_of(request: Any, response: Any, *, listing: bool) -> StoredPage:
    headers = {key.decode("latin-1"): [v.decode("latin-1") for v in values] for key, values in response.headers.items()}
    extra: dict[str, Any] = {}
    if listing:
        extra = {
            "callback": _method_name(request.callback),
            "errback": _method_name(request.errback),
            "meta": {
                k: v
                for k, v in request.meta.items()
                if k.startswith("archiver_") and not k.startswith("archiver_store")
            },
        }
    return StoredPage(response.url, response.status, headers, response.body, extra)


def _method_name(func: Any) -> str | None:
    return getattr(func, "__name__", None) if func is not None else None


class IncrementalSpiderMiddleware:
    """Drops requests that would be skipped before they are scheduled, and re-requests remembered listings.

    Dropping here saves a request's trip through the scheduler and the downloader middlewares
    (a millisecond each: seconds for a site of thousands of known posts); the downloader
    middleware applies the same rule to requests that come from elsewhere.

    After the spider's start requests, the listing pages earlier crawls stored are requested
    again -- only when the spider's own start includes a listing page, so that a targeted
    crawl (share URLs) does not turn into a crawl of the whole site.
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.state = incremental_state(crawler)

    @classmethod
    def from_crawler(cls, crawler: Any) -> IncrementalSpiderMiddleware:
        return cls(crawler)

    def _keep(self, result: Any) -> bool:
        return not isinstance(result, Request) or self.state.skip(result.meta) is None

    def process_spider_output(self, response: Any, result: Iterable[Any]) -> Iterator[Any]:
        return (item for item in result if self._keep(item))

    async def process_spider_output_async(self, response: Any, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for item in result:
            if self._keep(item):
                yield item

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

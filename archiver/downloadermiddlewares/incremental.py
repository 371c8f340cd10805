"""``IncrementalMiddleware``: conditional requests, and the stored page for a 304 answer.

A downloader middleware at 800, between the proxy middleware and ``DownloaderStats``: skipped
requests are not counted as requests, and 304 answers are counted as 304s before they become
the stored 200. For each request it applies the crawl's skip rule
(``archiver.crawl.incremental.IncrementalState``), then revalidates what has a stored copy with
``If-None-Match`` / ``If-Modified-Since`` while the copy is younger than
``ARCHIVER_STORED_MAX_AGE_HOURS`` (older, the page is fetched in full: a 304 is the server's word
that nothing changed, and a server or cache that says so wrongly must not hide new posts for
ever); a 304 answer is replaced by the stored page, so the
spider parses it as before (and follows its links) and the exporter finds the post unchanged
and writes nothing. A fetched page is stored only after the spider read it without finding the
site changed (``IncrementalState.keep_when_read``, committed by the spider middleware).
"""

from __future__ import annotations

import time
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.http.headers import Headers
from scrapy.responsetypes import responsetypes

from archiver import config
from archiver.crawl.incremental import IncrementalState
from archiver.crawl.state import shared
from archiver.store.pagestore import LISTING, StoredPage

_META_BUCKET = "archiver_store_bucket"
_META_CONDITIONAL = "archiver_store_conditional"
_CONDITIONAL = (b"If-None-Match", b"If-Modified-Since")
# In a stored page's extra: when it was last fetched in full (seconds since the epoch).
FETCHED = "fetched"
STAT_FULL_FETCH = "archiver/store/full_fetch"


class IncrementalMiddleware:
    """The downloader middleware: skips, conditional headers, stored pages for 304 answers."""

    def __init__(self, crawler: Crawler) -> None:
        assert crawler.stats is not None
        self.crawler = crawler
        self.state = shared(crawler, IncrementalState)
        self.max_age = config.number(crawler.settings, "ARCHIVER_STORED_MAX_AGE_HOURS") * 3600
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalMiddleware:
        return cls(crawler)

    # --- requests -------------------------------------------------------------------------------
    def process_request(self, request: Request) -> None:
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
            if not self._fresh(stored):
                self.stats.inc_value(STAT_FULL_FETCH)
                return None
            for header, value in validators.items():
                request.headers[header] = value
            meta[_META_CONDITIONAL] = True
        return None

    def _fresh(self, stored: StoredPage) -> bool:
        fetched = stored.extra.get(FETCHED)
        # A copy stored before this rule (no time) is as good as stale: it is fetched in full once.
        return isinstance(fetched, int | float) and 0 <= time.time() - fetched < self.max_age

    # --- responses ------------------------------------------------------------------------------
    def process_response(self, request: Request, response: Response) -> Request | Response:
        bucket = request.meta.get(_META_BUCKET)
        if bucket is None:
            return response
        if response.status == 304 and request.meta.get(_META_CONDITIONAL):
            return self._not_modified(request, response, bucket)
        if response.status == 200 and "dataloss" not in response.flags:
            page = _page_of(request, response, listing=bucket == LISTING)
            # A listing is kept even without validators: the copy is then no use for a 304, but it
            # is how later runs remember to ask for the listing again (a category page is the only
            # way to its posts once the home page no longer lists them).
            if bucket == LISTING or page.conditional_headers():
                # Saved once the spider has read it and found the site as it expects (a changed
                # page never replaces a good stored copy): IncrementalSpiderMiddleware commits it.
                self.state.keep_when_read(request.meta, bucket, page)
        elif response.status in (404, 410) and bucket == LISTING:
            # A listing that is gone is no longer re-requested by later crawls.
            self.state.store.delete(bucket, request.url)
        return response

    def _not_modified(self, request: Request, response: Response, bucket: str) -> Request | Response:
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


def _page_of(request: Request, response: Response, *, listing: bool) -> StoredPage:
    headers = {key.decode("latin-1"): [v.decode("latin-1") for v in values] for key, values in response.headers.items()}
    extra: dict[str, Any] = {FETCHED: round(time.time(), 3)}
    if listing:
        extra |= {
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

"""The failure log: every page and item a crawl could not archive, with its reason.

``FailureLog`` is an extension (reach it with ``crawler.get_extension(FailureLog)``): components
record into it, the run report and the next run read from it. ``records`` lists
``PageFailure(url, kind, reason, detail)`` with ``kind`` ``failed``, ``refused`` or ``dropped``
(items dropped with a reason, from ``item_dropped``). Stats: ``archiver/pages/failed`` and
``archiver/pages/failed/<reason>``, ``archiver/pages/refused`` and ``archiver/pages/refused/<reason>``;
failures and refusals are also sent as ``archiver.signals.page_failed`` for the run report.

A failed page is retried by the next run: nothing of it was archived. Failed requests that a
spider method handles alone (no ``cb_kwargs``: listings, post pages) are kept in
``<output>/.archiver/retry.json`` when the run ends, and
``archiver.spidermiddlewares.retryfailed.RetryFailedPages`` requests them again.

``reason_of`` names a download exception by its class (the classes are imported once, here);
``is_transient`` tells a fault that another try may cure from an answer about the page itself.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Request
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as tx_error
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

from archiver import config
from archiver import signals as archiver_signals
from archiver.crawl import unwritable
from archiver.crawl.incremental import META_LISTING
from archiver.exceptions import ArchiveUnwritable
from archiver.store.atomic import atomic_write

logger = logging.getLogger(__name__)

RETRY_FILE = "retry.json"
STAT_FAILED = "archiver/pages/failed"
STAT_REFUSED = "archiver/pages/refused"
META_BACKOFF_DONE = "archiver_backoff_done"

# Download exceptions by the short reason they are reported with; the most specific class in an
# exception's MRO decides, and anything else is named by its class.
_REASONS: dict[type[BaseException], str] = {
    DownloadTimeoutError: "timeout",
    TimeoutError: "timeout",
    tx_error.TimeoutError: "timeout",
    tx_error.TCPTimedOutError: "timeout",
    ResponseDataLossError: "truncated",
    tx_error.ConnectionDone: "connection_lost",
    tx_error.ConnectionLost: "connection_lost",
    ResponseNeverReceived: "connection_lost",
    ResponseFailed: "connection_lost",
    DownloadFailedError: "connection_lost",
    DownloadConnectionRefusedError: "connection_refused",
    ConnectionRefusedError: "connection_refused",
    tx_error.ConnectionRefusedError: "connection_refused",
    tx_error.ConnectError: "connection_refused",
    CannotResolveHostError: "dns",
    tx_error.DNSLookupError: "dns",
}
# Failures that say nothing about the page itself: trying again later may well succeed.
_TRANSIENT = frozenset({"timeout", "truncated", "connection_lost", "bad_content_encoding"})


class PageFailed(IgnoreRequest):
    """A page a downloader middleware failed for good, raised once the failure is recorded (so the
    page guard does not record it twice); ``reason`` is its reason in the run report."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class BrokenBody(PageFailed):
    """A body that arrived but is not the page: cut short where no length could tell
    (``truncated``), or not what its ``Content-Encoding`` says (``bad_content_encoding``).
    An errback sees it as the transient failure it is."""


@dataclass(frozen=True)
class PageFailure:
    url: str
    kind: str  # "failed", "refused" or "dropped"
    reason: str
    detail: str = ""


class FailureLog:
    """Every page and item a crawl could not archive, with its reason (an extension)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.records: list[PageFailure] = []
        self.retry: list[dict[str, Any]] = []  # failed requests the next run asks again
        self._seen: set[tuple[str, str]] = set()
        crawler.signals.connect(self.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FailureLog:
        return cls(crawler)

    def add(self, url: str, kind: str, reason: str, detail: str = "") -> bool:
        """Record ``url`` once per kind; False when it was recorded already."""
        if (kind, url) in self._seen:
            return False
        self._seen.add((kind, url))
        self.records.append(PageFailure(url, kind, reason, detail))
        if kind in ("failed", "refused"):
            stat = STAT_FAILED if kind == "failed" else STAT_REFUSED
            stats = self.crawler.stats
            assert stats is not None
            stats.inc_value(stat)
            stats.inc_value(f"{stat}/{reason}")
            self.crawler.signals.send_catch_log(
                signal=archiver_signals.page_failed, url=url, reason=f"{kind}: {reason}"
            )
        return True

    def failed(self, url: str, reason: str, detail: str = "", request: Request | None = None) -> None:
        if self.add(url, "failed", reason, detail):
            logger.error("page failed (%s), the next run tries it again: %s %s", reason, url, detail)
            if request is not None and (entry := self._retry_entry(request)) is not None:
                self.retry.append(entry)

    def _retry_entry(self, request: Request) -> dict[str, Any] | None:
        """The request as the next run can make it again: spider method names and plain meta, or None."""
        spider = self.crawler.spider
        names = {}
        for kind in ("callback", "errback"):
            func = getattr(request, kind)
            name = getattr(func, "__name__", None)
            if func is not None and (name is None or getattr(getattr(spider, name, None), "__func__", None) is None):
                return None
            names[kind] = name
        if request.cb_kwargs or names["callback"] is None:
            return None
        meta = {
            k: v
            for k, v in request.meta.items()
            if (k.startswith("archiver_") and k != META_BACKOFF_DONE) or k == "handle_httpstatus_list"
        }
        try:
            json.dumps(meta)
        except (TypeError, ValueError):
            return None
        return {"url": request.url, **names, "meta": meta}

    def spider_closed(self) -> None:
        path = config.state_dir(self.crawler.settings) / RETRY_FILE
        try:
            if self.retry:
                atomic_write(path, json.dumps(self.retry, ensure_ascii=False, indent=1).encode("utf-8"))
            else:
                path.unlink(missing_ok=True)
        except OSError as exc:  # a full or read-only archive: one line, the run fails (exit 1)
            unwritable.stop(self.crawler, exc if isinstance(exc, ArchiveUnwritable) else ArchiveUnwritable(path, exc))

    def broken_body(self, request: Request, reason: str, detail: str) -> Request:
        """A body that arrived but is not the page (``BrokenBody``): the request again while it has
        retries left (Scrapy's ``RETRY_TIMES``); then the page fails for good and ``BrokenBody`` is raised."""
        spider = self.crawler.spider
        retry = get_retry_request(request, spider=spider, reason=reason) if spider is not None else None
        if retry is not None:
            return retry
        self.failed(request.url, reason, detail, request)
        raise BrokenBody(reason, f"{reason}: {detail}: {request.url}")

    def refused(self, url: str, reason: str, detail: str = "", request: Request | None = None) -> None:
        """A page refused as hostile input: reported, the run still ``ok`` (the next run would refuse it again).

        A listing is not: it is the crawl's way to the posts (refused, the home page leaves a run
        with nothing archived), so a refused listing fails the run like a failed one (exit 2).
        """
        if request is not None and request.meta.get(META_LISTING):
            self.failed(url, reason, detail, request)
        elif self.add(url, "refused", reason, detail):
            logger.warning("page refused (%s): %s %s", reason, url, detail)

    def as_dicts(self) -> list[dict[str, str]]:
        return [asdict(record) for record in self.records]

    def item_dropped(self, item: Any, response: Any, exception: BaseException) -> None:
        reason = getattr(exception, "reason", None)
        if reason:
            url = getattr(exception, "url", None) or getattr(item, "url", None) or ""
            self.add(url, "dropped", reason, str(exception))


def reason_of(exception: BaseException) -> str:
    """The short reason a download exception is reported with."""
    return known_reason(exception) or type(exception).__name__


def known_reason(exception: BaseException) -> str | None:
    """The reason of a failure the crawl expects of a network (a timeout, a truncated body, ...); None for others."""
    if isinstance(exception, PageFailed):
        return exception.reason
    if isinstance(exception, HttpError) and (response := getattr(exception, "response", None)) is not None:
        return f"http_{response.status}"
    for cls in type(exception).__mro__:
        reason = _REASONS.get(cls)
        if reason is not None:
            return reason
    return None


def is_transient(exception: BaseException, retry_http_codes: frozenset[int] = frozenset()) -> bool:
    """True for a failure that another try may cure: a timeout, a lost connection, a truncated body, a 5xx."""
    reason = reason_of(exception)
    if reason.startswith("http_"):
        status = int(reason.removeprefix("http_"))
        return status >= 500 or status in retry_http_codes
    return reason in _TRANSIENT

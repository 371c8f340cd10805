"""Guarding downloads and keeping track of every page a crawl could not archive.

``PageGuardMiddleware`` (a downloader middleware at 540, just outside Scrapy's
``RetryMiddleware`` at 550, so it sees each request's final outcome):

- refuses a page larger than ``ARCHIVER_MAX_PAGE_BYTES`` (``download_maxsize`` of each request);
- refuses a redirect that leaves the spider's ``allowed_domains`` (Scrapy's offsite filter lets
  redirects of ``dont_filter`` requests through);
- never lets a truncated body through (``download_fail_on_dataloss``: Scrapy retries it instead);
- waits before each retry, doubling from ``ARCHIVER_RETRY_BACKOFF`` up to
  ``ARCHIVER_RETRY_BACKOFF_MAX`` seconds, so a struggling server gets air;
- warns about pages whose bytes did not all decode (they hold U+FFFD instead);
- records each page that failed for good (5xx, timeouts, dropped connections, truncated bodies
  after the last retry; other 4xx answers) and each page it refused.

Failed requests that a spider method handles alone (no ``cb_kwargs``: listings, post pages) are
kept in ``<output>/.archiver/retry.json`` when the run ends, and ``RetryFailedPages`` (a spider
middleware) requests them again after the next run's start requests: a failed listing is tried
again even when an incremental run no longer reaches it through the posts it knows.

The record is ``crawler.archiver_failures`` (a ``FailureLog``): ``records`` lists
``PageFailure(url, kind, reason, detail)`` with ``kind`` ``failed``, ``refused`` or ``dropped``
(items dropped with a reason, from ``item_dropped``). Stats: ``archiver/pages/failed`` and
``archiver/pages/failed/<reason>``, ``archiver/pages/refused`` and ``archiver/pages/refused/<reason>``;
failures and refusals are also sent as ``archiver.report.page_failed`` for the run report.
A failed page is retried by the next run: nothing of it was archived.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from typing import Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from scrapy.utils.url import url_is_from_any_domain

from archiver import config
from archiver.fsutil import atomic_write
from archiver.lock import state_dir

logger = logging.getLogger(__name__)

FAILURES_ATTR = "archiver_failures"
RETRY_FILE = "retry.json"
STAT_FAILED = "archiver/pages/failed"
STAT_REFUSED = "archiver/pages/refused"
_BACKOFF_DONE = "archiver_backoff_done"

# Exceptions by the short reason they are reported with; anything else is named by its class.
_REASONS = {
    "DownloadTimeoutError": "timeout",
    "TimeoutError": "timeout",
    "TCPTimedOutError": "timeout",
    "ResponseDataLossError": "truncated",
    "ConnectionDone": "connection_lost",
    "ConnectionLost": "connection_lost",
    "ResponseNeverReceived": "connection_lost",
    "ResponseFailed": "connection_lost",
    "DownloadFailedError": "connection_lost",
    "DownloadConnectionRefusedError": "connection_refused",
    "ConnectionRefusedError": "connection_refused",
    "ConnectError": "connection_refused",
    "CannotResolveHostError": "dns",
    "DNSLookupError": "dns",
}
# Failures that say nothing about the page itself: trying again later may well succeed.
_TRANSIENT = frozenset({"timeout", "truncated", "connection_lost"})


@dataclass(frozen=True)
class PageFailure:
    url: str
    kind: str  # "failed", "refused" or "dropped"
    reason: str
    detail: str = ""


class FailureLog:
    """Every page and item a crawl could not archive, with its reason; ``crawler.archiver_failures``."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.records: list[PageFailure] = []
        self.retry: list[dict[str, Any]] = []  # failed requests the next run asks again
        self._seen: set[tuple[str, str]] = set()

    def add(self, url: str, kind: str, reason: str, detail: str = "") -> bool:
        """Record ``url`` once per kind; False when it was recorded already."""
        if (kind, url) in self._seen:
            return False
        self._seen.add((kind, url))
        self.records.append(PageFailure(url, kind, reason, detail))
        if kind in ("failed", "refused"):
            stat = STAT_FAILED if kind == "failed" else STAT_REFUSED
            stats = self.crawler.stats
            stats.inc_value(stat)
            stats.inc_value(f"{stat}/{reason}")
            from archiver import report

            self.crawler.signals.send_catch_log(signal=report.page_failed, url=url, reason=f"{kind}: {reason}")
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
            if (k.startswith("archiver_") and k != _BACKOFF_DONE) or k == "handle_httpstatus_list"
        }
        try:
            json.dumps(meta)
        except (TypeError, ValueError):
            return None
        return {"url": request.url, **names, "meta": meta}

    def spider_closed(self) -> None:
        path = state_dir(self.crawler.settings) / RETRY_FILE
        if self.retry:
            atomic_write(path, json.dumps(self.retry, ensure_ascii=False, indent=1).encode("utf-8"))
        else:
            path.unlink(missing_ok=True)

    def refused(self, url: str, reason: str, detail: str = "") -> None:
        if self.add(url, "refused", reason, detail):
            logger.warning("page refused (%s): %s %s", reason, url, detail)

    def as_dicts(self) -> list[dict[str, str]]:
        return [asdict(record) for record in self.records]

    def item_dropped(self, item: Any, response: Any, exception: BaseException) -> None:
        reason = getattr(exception, "reason", None)
        if reason:
            url = getattr(exception, "url", None) or getattr(item, "url", None) or ""
            self.add(url, "dropped", reason, str(exception))


def failure_log(crawler: Any) -> FailureLog:
    """The crawl's ``FailureLog``, created on first use."""
    log = getattr(crawler, FAILURES_ATTR, None)
    if log is None:
        log = FailureLog(crawler)
        setattr(crawler, FAILURES_ATTR, log)
        crawler.signals.connect(log.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(log.spider_closed, signal=signals.spider_closed)
    return log


def reason_of(exception: BaseException) -> str:
    """The short reason a download exception is reported with."""
    name = type(exception).__name__
    if name == "HttpError" and (response := getattr(exception, "response", None)) is not None:
        return f"http_{response.status}"
    return _REASONS.get(name, name)


def is_transient(exception: BaseException, retry_http_codes: frozenset[int] = frozenset()) -> bool:
    """True for a failure that another try may cure: a timeout, a lost connection, a truncated body, a 5xx."""
    reason = reason_of(exception)
    if reason.startswith("http_"):
        status = int(reason.removeprefix("http_"))
        return status >= 500 or status in retry_http_codes
    return reason in _TRANSIENT


def _float_setting(settings: Any, name: str) -> float:
    try:
        value = float(settings.get(name))
    except (TypeError, ValueError):
        raise config.SettingError(f"{name}={settings.get(name)!r} is not a number of seconds") from None
    if value < 0:
        raise config.SettingError(f"{name}={value} must not be negative")
    return value


def _handles_status(request: Request, status: int) -> bool:
    meta = request.meta
    return bool(meta.get("handle_httpstatus_all")) or status in (meta.get("handle_httpstatus_list") or ())


class PageGuardMiddleware:
    def __init__(self, crawler: Any) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.max_bytes = config.positive_int(settings, "ARCHIVER_MAX_PAGE_BYTES")
        self.backoff = _float_setting(settings, "ARCHIVER_RETRY_BACKOFF")
        self.backoff_max = _float_setting(settings, "ARCHIVER_RETRY_BACKOFF_MAX")
        self.failures = failure_log(crawler)
        self._random = random.Random()
        crawler.signals.connect(self.request_scheduled, signal=signals.request_scheduled)

    @classmethod
    def from_crawler(cls, crawler: Any) -> PageGuardMiddleware:
        return cls(crawler)

    # --- requests -------------------------------------------------------------------------------
    async def process_request(self, request: Request) -> None:
        meta = request.meta
        if self._refuse_offsite_redirect(request):
            self.stats.inc_value("offsite/filtered")
            raise IgnoreRequest(f"redirect off the allowed hosts: {request.url}")
        meta.setdefault("download_maxsize", self.max_bytes)
        # A body shorter than its Content-Length is an error (retried), never a page.
        meta["download_fail_on_dataloss"] = True
        retries = int(meta.get("retry_times", 0) or 0)
        if retries and meta.get(_BACKOFF_DONE) != retries and self.backoff > 0:
            meta[_BACKOFF_DONE] = retries
            delay = min(self.backoff_max, self.backoff * 2 ** (retries - 1))
            # Half fixed, half random: retries of many pages that failed together do not come back together.
            await _sleep(delay * (0.5 + self._random.random() / 2))

    def request_scheduled(self, request: Request) -> None:
        # Scrapy's offsite filter drops the redirects of ordinary requests when they are scheduled,
        # before any downloader middleware sees them: the refusal is recorded here.
        self._refuse_offsite_redirect(request)

    def _refuse_offsite_redirect(self, request: Request) -> bool:
        if not request.meta.get("redirect_urls") or self._on_site(request.url):
            return False
        self.failures.refused(request.meta["redirect_urls"][0], "offsite_redirect", f"redirected to {request.url}")
        return True

    def _on_site(self, url: str) -> bool:
        spider = self.crawler.spider
        domains = [d for d in getattr(spider, "allowed_domains", None) or [] if d]
        return not domains or url_is_from_any_domain(url, domains)

    # --- outcomes -------------------------------------------------------------------------------
    def process_response(self, request: Request, response: Response) -> Response:
        status = response.status
        if status >= 400 and not _handles_status(request, status):
            self.failures.failed(request.url, f"http_{status}", "", request)
        elif status == 200 and isinstance(response, TextResponse):
            self._check_decoding(response)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        if isinstance(exception, IgnoreRequest):
            return  # filtered on purpose (offsite, window, known post); refusals are recorded where raised
        # Scrapy cancels a download that outgrows `download_maxsize` (before or while receiving it).
        if type(exception).__name__ in ("DownloadCancelledError", "CancelledError"):
            self.failures.refused(request.url, "too_large", f"larger than {self.max_bytes} bytes")
            return
        self.failures.failed(request.url, reason_of(exception), str(exception)[:200], request)

    def _check_decoding(self, response: TextResponse) -> None:
        replaced = response.text.count("\ufffd")
        if not replaced:
            return
        try:
            genuine = response.body.count("\ufffd".encode(response.encoding))
        except (LookupError, UnicodeError):
            genuine = 0
        if replaced > genuine:
            self.stats.inc_value("archiver/pages/decode_errors")
            logger.warning(
                "%d undecodable byte sequences in %s (as %s) became U+FFFD", replaced - genuine, response.url,
                response.encoding,
            )  # fmt: skip


class RetryFailedPages:
    """A spider middleware: after the start requests, the requests that failed in the last run."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> RetryFailedPages:
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        walks_site = False
        async for item in start:
            # Only a crawl of the site retries: a targeted crawl (share URLs) stays targeted.
            walks_site = walks_site or (isinstance(item, Request) and bool(item.meta.get("archiver_listing")))
            yield item
        path = state_dir(self.crawler.settings) / RETRY_FILE
        if not walks_site or not path.exists():
            return
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            logger.warning("cannot read the pages to retry from %s: %s", path, exc)
            return
        spider = self.crawler.spider
        count = 0
        for entry in entries if isinstance(entries, list) else []:
            callback = getattr(spider, str(entry.get("callback")), None)
            errback = getattr(spider, str(entry.get("errback")), None) if entry.get("errback") else None
            if not callable(callback) or not isinstance(entry.get("url"), str):
                continue
            count += 1
            yield Request(entry["url"], callback=callback, errback=errback, meta=dict(entry.get("meta") or {}))
        self.crawler.stats.set_value("archiver/pages/retried_from_last_run", count)
        logger.info("%d pages that failed in the last run are requested again", count)


async def _sleep(seconds: float) -> None:
    from scrapy.utils.defer import maybe_deferred_to_future
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    await maybe_deferred_to_future(deferLater(reactor, seconds))

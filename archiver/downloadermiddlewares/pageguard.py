"""``PageGuardMiddleware``: guarding downloads, and recording each page's final outcome.

A downloader middleware at 540, just outside Scrapy's ``RetryMiddleware`` at 550, so it sees
each request's final outcome:

- refuses a page larger than ``ARCHIVER_MAX_PAGE_BYTES`` (``download_maxsize`` of each request);
- refuses a redirect that leaves the spider's ``allowed_domains`` (Scrapy's offsite filter lets
  redirects of ``dont_filter`` requests through, and every redirect is one: ``redirect.py``);
- never lets a truncated body through: ``download_fail_on_dataloss`` makes Scrapy retry a body
  shorter than its ``Content-Length``; a body that only the connection's close ends (no
  ``Content-Length``, not chunked) cannot be told whole by its length, so an HTML one must end
  its document (``</html>``, as every page of a Jekyll layout and every share page does), or it
  is retried and, after the last retry, fails as ``truncated``;
- waits before each retry, doubling from ``ARCHIVER_RETRY_BACKOFF`` up to
  ``ARCHIVER_RETRY_BACKOFF_MAX`` seconds, so a struggling server gets air;
- records each page that failed for good (5xx, timeouts, dropped connections, truncated bodies
  after the last retry; other 4xx answers) and each page it refused, in the crawl's
  ``archiver.crawl.failures.FailureLog``.

The encoding a page is decoded in is ``archiver.downloadermiddlewares.encoding``'s concern. It runs at
535, inside this middleware (a body cut short is retried here before its bytes are judged), and
refuses pages that decode in no candidate.
"""

from __future__ import annotations

import random
import re

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.url import url_is_from_any_domain
from twisted.internet.defer import CancelledError

from archiver import config
from archiver.crawl.failures import META_BACKOFF_DONE, FailureLog, reason_of
from archiver.crawl.state import shared


def _handles_status(request: Request, status: int) -> bool:
    meta = request.meta
    return bool(meta.get("handle_httpstatus_all")) or status in (meta.get("handle_httpstatus_list") or ())


class PageGuardMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        assert crawler.stats is not None
        self.crawler = crawler
        self.stats = crawler.stats
        self.max_bytes = config.positive_int(settings, "ARCHIVER_MAX_PAGE_BYTES")
        self.backoff = config.number(settings, "ARCHIVER_RETRY_BACKOFF")
        self.backoff_max = config.number(settings, "ARCHIVER_RETRY_BACKOFF_MAX")
        self.failures = shared(crawler, FailureLog)
        self._random = random.Random()
        crawler.signals.connect(self.request_scheduled, signal=signals.request_scheduled)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PageGuardMiddleware:
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
        if retries and meta.get(META_BACKOFF_DONE) != retries and self.backoff > 0:
            meta[META_BACKOFF_DONE] = retries
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
        first = request.meta["redirect_urls"][0]
        self.failures.refused(first, "offsite_redirect", f"redirected to {request.url}", request.replace(url=first))
        return True

    def _on_site(self, url: str) -> bool:
        spider = self.crawler.spider
        domains = [d for d in getattr(spider, "allowed_domains", None) or [] if d]
        return not domains or url_is_from_any_domain(url, domains)

    # --- outcomes -------------------------------------------------------------------------------
    def process_response(self, request: Request, response: Response) -> Request | Response:
        status = response.status
        if status >= 400 and not _handles_status(request, status):
            self.failures.failed(request.url, f"http_{status}", "", request)
        elif status == 200 and cut_short(response):
            detail = f"{len(response.body)} bytes ended by the connection's close, before </html>"
            return self.failures.broken_body(request, "truncated", detail)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        if isinstance(exception, IgnoreRequest):
            return  # filtered on purpose (offsite, window, known post); refusals are recorded where raised
        # Scrapy cancels a download that outgrows `download_maxsize` (before or while receiving it).
        if isinstance(exception, (DownloadCancelledError, CancelledError)):
            self.failures.refused(request.url, "too_large", f"larger than {self.max_bytes} bytes", request)
            return
        self.failures.failed(request.url, reason_of(exception), str(exception)[:200], request)


_DOCUMENT_END = re.compile(rb"</html\s*>\s*(?:<!--.*?-->\s*)*\Z", re.IGNORECASE | re.DOTALL)


def cut_short(response: Response) -> bool:
    """An HTML body that only the connection's close delimited, and that stops before its document ends."""
    headers = response.headers
    if not isinstance(response, HtmlResponse) or b"Content-Length" in headers:
        return False
    if b"chunked" in (headers.get(b"Transfer-Encoding") or b"").lower():
        return False  # chunked framing ends with its own last chunk: a cut one fails as data loss
    return _DOCUMENT_END.search(response.body[-4096:]) is None


async def _sleep(seconds: float) -> None:
    from twisted.internet import reactor  # the installed reactor, known only once the crawl runs
    from twisted.internet.task import deferLater

    await maybe_deferred_to_future(deferLater(reactor, seconds))

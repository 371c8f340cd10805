"""The past from web archives: a crawl answered by a Wayback endpoint's raw captures instead of the live site.

``archiver crawl SPIDER --from-wayback URL`` (``ARCHIVER_WAYBACK_URL``), ``URL`` a pywb collection or
the Internet Archive (``archiver.capture.cdx`` tells them apart and speaks both CDX dialects):

- **discovery** (``archiver.capture.discovery``): the spider's start requests are replaced by the
  endpoint's CDX listing of the spider's hosts, each captured URL made the spider's own request.
- **which capture** (``WaybackState``, an extension): for each URL the latest capture with status
  200, duplicates by digest collapsed.
- **replay** (``WaybackMiddleware``, a downloader middleware at 945, and ``WaybackDownloadHandler``,
  the http(s) download handler while a run reads from an archive): a request keeps its original
  URL through every middleware; the handler alone fetches the raw ``id_`` replay of the request's
  capture instead, and hands back a response whose URL is the original one. Spider, pipelines and
  exporter see what a live crawl at capture time would have seen, and the site itself is never
  asked: the handler refuses any request without a capture. A request for a URL without a capture
  is not made (counted in ``archiver/wayback/not_captured``); where the spider takes a 404 as "gone"
  (a share page), it gets a 404 as a live crawl of a site that lost the page would.
- **politeness**: every request to the endpoint goes through one download slot, at
  ``ARCHIVER_WAYBACK_DELAY`` seconds apart and ``ARCHIVER_WAYBACK_CONCURRENCY`` at a time (by
  default 1 s and 1 for the Internet Archive, none and 8 for other endpoints); a 429 (or a 503 with
  ``Retry-After``) pauses the whole endpoint for its ``Retry-After`` (seconds or an HTTP date),
  else for a doubling backoff, before Scrapy's retries ask again. AutoThrottle is left off: the
  endpoint's own 429 is the signal, and a fixed rate is what the Internet Archive asks for.
- ``--warc``: each response is recorded with its original URL and the capture's time as
  ``WARC-Date`` (``archiver.capture.warc.META_DATE``), so ``archiver rebuild --from-warc`` works on it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import time
import urllib.request
from collections.abc import Iterable
from urllib.parse import urljoin

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Headers, HtmlResponse, Response
from scrapy.settings import BaseSettings
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.misc import build_from_crawler, load_object
from twisted.internet.defer import Deferred, DeferredSemaphore

from archiver import config
from archiver.capture import cdx
from archiver.capture.warc import META_DATE
from archiver.crawl.state import shared
from archiver.downloadhandlers.client import http_handler

logger = logging.getLogger(__name__)

META_CAPTURE = "archiver.wayback.capture"  # {"url", "timestamp", "replay"}: the capture a request is answered from
META_CDX = "archiver.wayback.cdx"  # a CDX query: sent to the endpoint as it is
SLOT_PREFIX = "wayback:"
# Internal redirects of the endpoint (one capture time to another) followed at most this often.
MAX_REPLAY_HOPS = 5
# Longest pause a Retry-After can impose, in seconds.
MAX_RETRY_AFTER = 3600.0
# Headers a Wayback replay adds of its own; not the site's.
_REPLAY_HEADERS = (b"Link", b"Memento-Datetime", b"Content-Location")
_CONDITIONAL = (b"If-None-Match", b"If-Modified-Since")


class NotCaptured(IgnoreRequest):
    """A request for a URL the endpoint holds no usable capture of: not made (never from the live site)."""


def endpoint_of(settings: BaseSettings) -> cdx.Endpoint | None:
    """``ARCHIVER_WAYBACK_URL`` as an endpoint, checked; None when the run reads from the live site."""
    url = str(settings.get("ARCHIVER_WAYBACK_URL") or "").strip()
    return cdx.Endpoint.parse(url) if url else None


def politeness(settings: BaseSettings, endpoint: cdx.Endpoint) -> tuple[float, int]:
    """``(delay, concurrency)`` towards the endpoint: the settings, else the endpoint's polite default."""
    ia = endpoint.is_internet_archive
    raw_delay = settings.get("ARCHIVER_WAYBACK_DELAY")
    delay = (1.0 if ia else 0.0) if raw_delay in (None, "") else config.number(settings, "ARCHIVER_WAYBACK_DELAY")
    if settings.get("ARCHIVER_WAYBACK_CONCURRENCY") in (None, "", 0, "0"):
        return delay, 1 if ia else 8
    return delay, config.positive_int(settings, "ARCHIVER_WAYBACK_CONCURRENCY")


def retry_after(value: bytes | str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (a number of seconds or an HTTP date), else None."""
    if value is None:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if text.isdigit():
        return min(float(text), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = dt.datetime.now(dt.UTC).timestamp() if now is None else now
    return min(max(0.0, when.timestamp() - current), MAX_RETRY_AFTER)


# What a Wayback run adds to the crawl, in the order of the other components (archiver/settings.py).
COMPONENTS = (
    # The endpoint, its captures and its pauses, shared by the two others (crawler.get_extension()).
    ("EXTENSIONS", f"{__name__}.WaybackState", -930),
    # Each request to its capture's replay, before the WARC capture (950) sees it.
    ("DOWNLOADER_MIDDLEWARES", f"{__name__}.WaybackMiddleware", 945),
    # The start is the endpoint's CDX listing (closest to the spider).
    ("SPIDER_MIDDLEWARES", "archiver.capture.discovery.WaybackDiscovery", 990),
)


class WaybackAddon:
    """In ``ADDONS``: with ``ARCHIVER_WAYBACK_URL``, the Wayback components are on and http(s) goes through
    the replay handler, at the endpoint's rate."""

    def update_settings(self, settings: BaseSettings) -> None:
        endpoint = endpoint_of(settings)
        if endpoint is None:
            return
        if settings.get("ARCHIVER_REPLAY_DIR"):
            raise config.SettingError("ARCHIVER_WAYBACK_URL and ARCHIVER_REPLAY_DIR: a run reads from one; unset one")
        if settings.get("ARCHIVER_REDIS_URL"):
            raise config.SettingError("ARCHIVER_WAYBACK_URL and ARCHIVER_REDIS_URL: a Wayback run is one process")
        for name, component, order in COMPONENTS:
            config.enable(settings, name, component, order)
        delay, concurrency = politeness(settings, endpoint)
        handlers = dict(settings.getdict("DOWNLOAD_HANDLERS_BASE"))
        for scheme in ("http", "https"):
            handlers[scheme] = WAYBACK_HANDLER
        slots = dict(settings.getdict("DOWNLOAD_SLOTS"))
        slots.setdefault(SLOT_PREFIX + endpoint.host, {"delay": delay, "concurrency": concurrency, "jitter": 0})
        # "addon" priority: below the project's settings and the command line, above Scrapy's defaults.
        settings.set("DOWNLOAD_HANDLERS_BASE", handlers, priority="addon")
        settings.set("DOWNLOAD_SLOTS", slots, priority="addon")
        # The replay handler is what keeps the live site from being asked: a DOWNLOAD_HANDLERS that
        # names another for http(s) (Scrapy's own, say) would fetch the live pages instead.
        effective = settings.getwithbase("DOWNLOAD_HANDLERS")
        for scheme in ("http", "https"):
            if effective.get(scheme) != WAYBACK_HANDLER:
                raise config.SettingError(
                    f"DOWNLOAD_HANDLERS names {effective.get(scheme)!r} for {scheme}: a Wayback run fetches every "
                    "page through its replay handler; unset it (choose the client with ARCHIVER_HTTP_CLIENT)"
                )
        logger.info(
            "reading from the %s endpoint %s (%s s apart, %d at a time); the live site is never asked",
            "Internet Archive" if endpoint.kind == cdx.IA else "pywb", endpoint.url, delay, concurrency,
        )  # fmt: skip


class WaybackState:
    """The crawl's endpoint and captures, and the endpoint's pause after a 429 (an extension)."""

    def __init__(self, crawler: Crawler, endpoint: cdx.Endpoint) -> None:
        assert crawler.stats is not None
        self.crawler = crawler
        self.stats = crawler.stats
        self.endpoint = endpoint
        self.slot = SLOT_PREFIX + endpoint.host
        self.captures: dict[str, cdx.Capture] = {}
        self.rows = 0
        self.backoff = config.number(crawler.settings, "ARCHIVER_RETRY_BACKOFF")
        self.backoff_max = config.number(crawler.settings, "ARCHIVER_RETRY_BACKOFF_MAX")
        self.paused_until = 0.0  # time.monotonic()
        self.throttled_in_a_row = 0
        self.gate = DeferredSemaphore(politeness(crawler.settings, endpoint)[1])
        self.listed = False  # the CDX listing is read: captures can be looked up
        self._waiting: list[Deferred[None]] = []
        self._digests: set[tuple[str, str]] = set()
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WaybackState:
        endpoint = endpoint_of(crawler.settings)
        if endpoint is None:
            raise NotConfigured("no ARCHIVER_WAYBACK_URL")
        return cls(crawler, endpoint)

    # --- captures -------------------------------------------------------------------------------
    def add(self, captures: Iterable[cdx.Capture]) -> None:
        for capture in captures:
            self.rows += 1
            if capture.status != "200":
                continue
            key = cdx.url_key(capture.url)
            known = self.captures.get(key)
            if (key, capture.digest) not in self._digests:
                self._digests.add((key, capture.digest))
                self.stats.inc_value("archiver/wayback/captures")
            if known is None or capture.timestamp > known.timestamp:
                self.captures[key] = capture
        self.stats.set_value("archiver/wayback/cdx_rows", self.rows)
        self.stats.set_value("archiver/wayback/urls", len(self.captures))

    def listing_read(self) -> None:
        self.listed = True
        waiting, self._waiting = self._waiting, []
        for deferred in waiting:
            deferred.callback(None)

    async def until_listed(self) -> None:
        """Until the CDX listing is read: a resumed job's queue is not to be looked up in an empty one."""
        if not self.listed:
            deferred: Deferred[None] = Deferred()
            self._waiting.append(deferred)
            await maybe_deferred_to_future(deferred)

    def lookup(self, url: str) -> cdx.Capture | None:
        return self.captures.get(cdx.url_key(url))

    # --- pauses ---------------------------------------------------------------------------------
    def throttled(self, response: Response) -> None:
        """A 429 (or a 503 with Retry-After): the whole endpoint waits before anything is asked again."""
        seconds = retry_after(response.headers.get(b"Retry-After"))
        self.throttled_in_a_row += 1
        if seconds is None:
            seconds = min(self.backoff_max, self.backoff * 2 ** (self.throttled_in_a_row - 1))
        self.stats.inc_value("archiver/wayback/throttled")
        paused = float(self.stats.get_value("archiver/wayback/pause_seconds", 0.0) or 0.0)
        self.stats.set_value("archiver/wayback/pause_seconds", round(paused + seconds, 3))
        logger.warning("%s answered %d: pausing %.1f s", self.endpoint.url, response.status, seconds)
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    def answered(self) -> None:
        self.throttled_in_a_row = 0

    async def wait(self) -> None:
        while (left := self.paused_until - time.monotonic()) > 0:
            await _sleep(left)

    def spider_closed(self) -> None:
        logger.info(
            "wayback: %d CDX rows, %d captured URLs, %d replayed, %d requests without a capture not made",
            self.rows, len(self.captures), self.stats.get_value("archiver/wayback/replayed", 0),
            self.stats.get_value("archiver/wayback/not_captured", 0),
        )  # fmt: skip


def _proxy_for(endpoint: cdx.Endpoint) -> str | None:
    """The proxy the environment names for the endpoint (the site's proxy is not the archive's)."""
    host = endpoint.host.rsplit(":", 1)[0]
    if urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get(endpoint.root.split(":", 1)[0])


class WaybackMiddleware:
    """Downloader middleware (945): each request to its capture and the endpoint's slot; no capture, no request."""

    def __init__(self, crawler: Crawler) -> None:
        assert crawler.stats is not None
        self.state = shared(crawler, WaybackState)
        self.stats = crawler.stats
        self.proxy = _proxy_for(self.state.endpoint)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WaybackMiddleware:
        if endpoint_of(crawler.settings) is None:
            raise NotConfigured
        return cls(crawler)

    def _to_endpoint(self, request: Request) -> None:
        meta = request.meta
        meta["download_slot"] = self.state.slot
        if self.proxy:
            meta["proxy"] = self.proxy
        elif meta.pop("proxy", None) is not None:
            request.headers.pop(b"Proxy-Authorization", None)

    async def process_request(self, request: Request) -> Response | None:
        if not request.meta.get(META_CDX):
            await self.state.until_listed()
            capture = self.state.lookup(request.url)
            if capture is None:
                return self._not_captured(request)
            request.meta[META_CAPTURE] = {
                "url": capture.url,
                "timestamp": capture.timestamp,
                "replay": self.state.endpoint.replay_url(capture),
            }
            request.meta[META_DATE] = capture.warc_date
            # A capture answers no conditional request: the stored copy of a live run does not apply.
            for name in _CONDITIONAL:
                request.headers.pop(name, None)
        self._to_endpoint(request)
        return None

    def _not_captured(self, request: Request) -> Response:
        self.stats.inc_value("archiver/wayback/not_captured")
        if 404 in (request.meta.get("handle_httpstatus_list") or ()):
            # The spider takes a 404 here as "the page is gone" (a share page): as a live crawl would find it.
            logger.debug("no capture of %s: answered as gone (404)", request.url)
            return HtmlResponse(request.url, status=404, body=b"", request=request, flags=["wayback_not_captured"])
        logger.info("no capture of %s: not requested", request.url)
        raise NotCaptured(f"no capture of {request.url} at {self.state.endpoint.url}")


WAYBACK_HANDLER = "archiver.capture.wayback.WaybackDownloadHandler"


class WaybackDownloadHandler:
    """The http(s) download handler of a Wayback run: the replay of a request's capture, under the original URL."""

    # Built at the first request, inside the event loop, as the aiohttp client it wraps must be.
    lazy = True

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        # The crawl's HTTP client does the transfer (ARCHIVER_HTTP_CLIENT); this one only chooses what is fetched.
        self.inner = build_from_crawler(load_object(http_handler(crawler.settings)), crawler)
        self.endpoint = endpoint_of(crawler.settings)
        self._state: WaybackState | None = None

    @property
    def state(self) -> WaybackState:
        # Looked up on first use: download handlers are built before the extensions.
        if self._state is None:
            self._state = shared(self.crawler, WaybackState)
        return self._state

    async def _fetch(self, request: Request) -> Response:
        # Here, in the download slot, and not in a middleware: the next request of the slot starts as
        # soon as this one is answered, before any middleware has seen the 429.
        state = self.state
        # The slot's own concurrency is not enough: under the asyncio reactor, Scrapy's downloader
        # starts every queued request of a slot without a delay at once (2.19), whatever its concurrency.
        await maybe_deferred_to_future(state.gate.acquire())
        try:
            await state.wait()
            response = await self.inner.download_request(request)
        finally:
            state.gate.release()
        if response.status == 429 or (response.status == 503 and b"Retry-After" in response.headers):
            state.throttled(response)
        elif response.status < 500:
            state.answered()
        return response

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WaybackDownloadHandler:
        return cls(crawler)

    async def close(self) -> None:
        await self.inner.close()

    async def download_request(self, request: Request) -> Response:
        meta = request.meta
        if meta.get(META_CDX):
            return await self._fetch(request)
        capture = meta.get(META_CAPTURE)
        if not capture or self.endpoint is None:
            # The safety net: whatever reached the downloader without a capture never goes to the site.
            raise NotCaptured(f"{request.url} has no capture; the live site is never asked")
        replay = str(capture["replay"])
        for _ in range(MAX_REPLAY_HOPS + 1):
            response = await self._fetch(request.replace(url=replay))
            location = response.headers.get(b"Location")
            if not (300 <= response.status < 400 and location):
                break
            target = urljoin(replay, location.decode("latin-1"))
            found = self.endpoint.original_of(target)
            if found is None:
                break
            stamp, original = found
            if cdx.url_key(original) == cdx.url_key(request.url):
                # The endpoint moved this capture to the nearest one it has: follow it, and date it so.
                replay = target
                meta[META_DATE] = cdx.Capture(original, stamp, "200").warc_date
                continue
            # A captured redirect: to its original target, which the redirect middleware asks for (by its capture).
            response.headers[b"Location"] = original.encode("latin-1", "replace")
            break
        headers = Headers(response.headers)
        for name in _REPLAY_HEADERS:
            headers.pop(name, None)
        self.crawler.stats.inc_value("archiver/wayback/replayed")
        return response.replace(
            url=request.url, headers=headers, request=request, ip_address=None, flags=[*response.flags, "wayback"]
        )


async def _sleep(seconds: float) -> None:
    from twisted.internet import reactor  # the installed reactor, known only once the crawl runs
    from twisted.internet.task import deferLater

    await maybe_deferred_to_future(deferLater(reactor, seconds))

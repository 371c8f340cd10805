"""Raw capture: every request and response of a crawl as WARC records, and a manifest from posts to records.

With ``ARCHIVER_WARC_ENABLED`` (``archiver crawl --warc``), ``WarcCaptureMiddleware`` (a downloader
middleware at 950, the last before the network) writes each response as received -- status line,
headers, body still compressed if the server compressed it -- and the request as sent, with
warcio, one gzip member per record, into ``<output>/warc/``: appended to the file of the day
(``archiver.capture.warcfile``: one per process kind, host and day, rolled past
``ARCHIVER_WARC_MAX_BYTES``, never shared by two processes, a torn tail cut back before
appending), with a CDXJ index next to each file (``archiver.capture.cdxj``).

**Revisits.** What did not change is written as a WARC 1.1 ``revisit`` record (the HTTP status
line and headers as received, no payload), referring to the last capture with content of the URL
(``archiver.capture.revisits``; ``WARC-Refers-To-Target-URI``, ``WARC-Refers-To-Date``,
``WARC-Refers-To`` its record id, ``WARC-Payload-Digest`` its digest):

- a ``200`` whose payload digest equals that capture's: profile ``identical-payload-digest``.
  pywb replays it as the referred payload under the new headers, and so does ``archiver rebuild``.
- a ``304`` answer to a conditional request: profile ``server-not-modified``. Its headers are
  the 304's, as the server sent them. This is the faithful record: the WARC 1.1 specification
  defines this profile for exactly this exchange, and writing the 304 as an identical-payload
  revisit (or under a 200 status line) would put in the archive a response the server never
  gave, with headers (Date, ETag, Content-Length) of another time. The price is on replay: pywb
  2.10 answers any 3xx revisit with its own headers and no payload, so a raw replay at the
  304's timestamp is a ``304`` (the content is at ``WARC-Refers-To-Date``, the capture the
  revisit names); ``archiver rebuild`` replays the content it refers to. With no earlier capture
  known (the first ``--warc`` run of an archive that already had the page), the revisit names none.

``<output>/.archiver/captures.jsonl`` gets one line per archived post, when the post is written:
its post id (the infoCode), and for its post page and its share page the WARC file, offset,
record id, payload digest and status of the record holding the payload it was made from (for a
revisit: the record it refers to; the revisit itself under ``revisit``). The capture of each
response travels in its request's meta, and ``WarcLinkMiddleware`` (a spider middleware) hands
the capture of a page on to the requests found on it; so a post whose share page another worker
fetched still names its post page's record.

``archiver rebuild --from-warc`` (``archiver.capture.replay``) reads these files back.
"""

from __future__ import annotations

import http
import io
import logging
import socket
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from archiver import __version__, config
from archiver.capture import cdxj
from archiver.capture.revisits import PROFILE_IDENTICAL, PROFILE_NOT_MODIFIED, LastCaptures, payload_digest
from archiver.capture.warcfile import WarcFiles
from archiver.config import state_dir

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

logger = logging.getLogger(__name__)

MANIFEST = "captures.jsonl"
# Dotted, not `archiver_*`: the incremental page store keeps `archiver_*` meta of listings for later runs.
META_CAPTURE = "archiver.warc.capture"  # the capture of this request's response
META_PARENT = "archiver.warc.parent"  # the capture of the page this request was found on
_META_SENT = "archiver.warc.sent"
# The time a response was captured, when it is not now (a replay from a web archive): its WARC-Date.
META_DATE = "archiver.warc.date"
# Credentials never go into an archive file.
_SECRET_HEADERS = {b"authorization", b"proxy-authorization", b"cookie"}
_CONDITIONAL = (b"If-None-Match", b"If-Modified-Since")
INSTALL_HINT = "pip install 'archiver[warc]' (warcio)"


def _latin1_pairs(headers: Any) -> list[tuple[str, str]]:
    """Scrapy headers as (name, value) pairs, every value of a repeated header kept, bytes kept by latin-1."""
    pairs = []
    for name, values in headers.items():
        for value in values:
            pairs.append((name.decode("latin-1"), value.decode("latin-1")))
    return pairs


def _mime(response: Any) -> str:
    """The media type of a response as cdxj-indexer indexes it: the Content-Type without parameters."""
    value = response.headers.get(b"Content-Type") or b"unk"
    return value.decode("latin-1").split(";")[0].strip()


class WarcCaptureMiddleware:
    """Downloader middleware: every request sent and response received, as WARC records."""

    def __init__(self, crawler: Crawler) -> None:
        from scrapy import signals

        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.root = config.output_dir(settings)
        self.state = state_dir(settings)
        self.max_bytes = config.positive_int(settings, "ARCHIVER_WARC_MAX_BYTES", minimum=64 * 1024)
        self.fsync = config.flag(settings, "ARCHIVER_FSYNC")
        self.files: WarcFiles | None = None
        self.last: LastCaptures | None = None
        connect = crawler.signals.connect
        connect(self.spider_opened, signal=signals.spider_opened)
        connect(self.spider_closed, signal=signals.spider_closed)
        connect(self.item_scraped, signal=signals.item_scraped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcCaptureMiddleware:
        from scrapy.exceptions import NotConfigured

        if not config.flag(crawler.settings, "ARCHIVER_WARC_ENABLED"):
            raise NotConfigured
        try:
            import warcio  # noqa: F401
        except ImportError:
            raise config.SettingError(f"ARCHIVER_WARC_ENABLED needs warcio: {INSTALL_HINT}") from None
        return cls(crawler)

    # --- files ------------------------------------------------------------------------------------
    def spider_opened(self, spider: Any) -> None:
        from importlib.metadata import version

        settings = self.crawler.settings
        info = {
            "software": f"archiver/{__version__} (Scrapy {version('scrapy')}, warcio {version('warcio')})",
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            "hostname": socket.gethostname(),
            "http-header-user-agent": str(settings.get("USER_AGENT") or ""),
            "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "archiver-spider": spider.name,
        }
        start_url = getattr(spider, "start_url", None)
        if start_url:
            info["archiver-start-url"] = str(start_url)

        def warcinfo(name: str) -> bytes:
            from warcio.warcwriter import WARCWriter

            buffer = io.BytesIO()
            writer = WARCWriter(buffer, gzip=True, warc_version="1.1")
            writer.write_record(writer.create_warcinfo_record(name, info))
            return buffer.getvalue()

        # Workers of one distributed run share the run lock: their files are named apart (and locked).
        kind = "worker" if settings.get("ARCHIVER_REDIS_URL") else "crawl"
        self.files = WarcFiles(self.root, max_bytes=self.max_bytes, kind=kind, warcinfo=warcinfo, fsync=self.fsync)
        self.last = LastCaptures(self.state, self.root)

    def spider_closed(self) -> None:
        if self.files is not None:
            self.files.close()
            self.stats.set_value("archiver/warc/files", len(self.files.files))
            if self.files.repaired:
                self.stats.set_value("archiver/warc/repaired_bytes", self.files.repaired)
        if self.last is not None:
            self.last.save(fsync=self.fsync)

    # --- records ----------------------------------------------------------------------------------
    def process_request(self, request: Request) -> None:
        request.meta[_META_SENT] = True
        return None

    def process_response(self, request: Request, response: Response) -> Any:
        if request.meta.pop(_META_SENT, False):
            request.meta[META_CAPTURE] = self.capture(request, response)
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        from scrapy.exceptions import IgnoreRequest

        # Sent, never answered (connection lost, timeout): the request alone, so the attempt is on record.
        if request.meta.pop(_META_SENT, False) and not isinstance(exception, IgnoreRequest):
            data, _, _ = self._records(request, None)
            self._append(data, None)
        return None

    def _revisit_of(self, request: Request, response: Response) -> tuple[str, dict[str, Any] | None] | None:
        """The revisit profile for this answer and the capture it refers to; None for a full record."""
        assert self.last is not None
        earlier = self.last.get(response.url)
        if response.status == 304 and any(request.headers.get(name) for name in _CONDITIONAL):
            return PROFILE_NOT_MODIFIED, earlier
        if (
            earlier is not None
            and response.status == earlier.get("status") == 200
            and payload_digest(response.body) == earlier.get("payload_digest")  # hashed only when it may match
        ):
            return PROFILE_IDENTICAL, earlier
        return None

    def capture(self, request: Request, response: Response) -> dict[str, Any]:
        revisit = self._revisit_of(request, response)
        data, record, length = self._records(request, response, revisit)
        headers = record.rec_headers
        kind = "revisit" if revisit else "response"
        self.stats.inc_value(f"archiver/warc/{kind}s")
        fields = {
            "mime": "warc/revisit" if revisit else _mime(response),
            "status": response.status,
            "digest": headers.get_header("WARC-Payload-Digest"),
            "length": length,
        }
        date = headers.get_header("WARC-Date")
        warc, offset = self._append(
            data, lambda name, offset: [cdxj.line(response.url, date, {**fields, "offset": offset, "filename": name})]
        )
        own = {
            "url": response.url,
            "status": response.status,
            "warc": warc,
            "offset": offset,
            "length": length,
            "record_id": headers.get_header("WARC-Record-ID"),
            "payload_digest": fields["digest"],
            "date": date,
        }
        if revisit is None:
            if response.status == 200:
                assert self.last is not None
                self.last.put(response.url, own)
            return own
        profile, earlier = revisit
        if earlier is None:
            return {**own, "profile": profile}
        # The manifest names the record holding the payload; the revisit goes along.
        return {**earlier, "revisit": {**own, "profile": profile}}

    def _append(self, data: bytes, lines: Any) -> tuple[str, int]:
        assert self.files is not None, "spider_opened was not called"
        where = self.files.append(data, lines)
        self.stats.inc_value("archiver/warc/bytes", len(data))
        return where

    def _response_record(
        self, writer: Any, response: Any, revisit: tuple[str, dict[str, Any] | None] | None, *, date: str | None = None
    ) -> Any:
        from warcio.statusandheaders import StatusAndHeaders

        headers = _latin1_pairs(response.headers)
        # Scrapy hands over the body without its chunked framing; the header would misdescribe it.
        headers = [(k if k.lower() != "transfer-encoding" else f"X-Archiver-{k}", v) for k, v in headers]
        try:
            reason = http.HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        status = StatusAndHeaders(
            f"{response.status} {reason}".strip(), headers, protocol=getattr(response, "protocol", None) or "HTTP/1.1"
        )
        extra = {}
        if date:  # captured earlier than now (a replay from a web archive): the capture's own time
            extra["WARC-Date"] = date
        if getattr(response, "ip_address", None) is not None:
            extra["WARC-IP-Address"] = str(response.ip_address)
        if revisit is None:
            body = io.BytesIO(response.body)
            return writer.create_warc_record(
                response.url,
                "response",
                payload=body,
                length=len(response.body),
                http_headers=status,
                warc_headers_dict=extra,
            )
        profile, earlier = revisit
        extra["WARC-Profile"] = profile
        if earlier is not None:
            extra["WARC-Refers-To-Target-URI"] = earlier["url"]
            extra["WARC-Refers-To-Date"] = earlier["date"]
            extra["WARC-Refers-To"] = earlier["record_id"]
            extra["WARC-Payload-Digest"] = earlier["payload_digest"]
        return writer.create_warc_record(response.url, "revisit", http_headers=status, warc_headers_dict=extra)

    def _records(
        self, request: Any, response: Any | None, revisit: tuple[str, dict[str, Any] | None] | None = None
    ) -> tuple[bytes, Any, int]:
        """The response or revisit record (if any) and the request record; their bytes, the first record, its length."""
        from urllib.parse import urlsplit

        from warcio.statusandheaders import StatusAndHeaders
        from warcio.warcwriter import WARCWriter

        buffer = io.BytesIO()
        writer = WARCWriter(buffer, gzip=True, warc_version="1.1")
        concurrent: dict[str, str] = {}
        record = None
        length = 0
        if response is not None:
            date = request.meta.get(META_DATE)
            if date:
                concurrent["WARC-Date"] = str(date)
            record = self._response_record(writer, response, revisit, date=str(date) if date else None)
            writer.write_record(record)
            length = buffer.tell()
            concurrent["WARC-Concurrent-To"] = record.rec_headers.get_header("WARC-Record-ID")
            self.stats.inc_value("archiver/warc/records")
        parts = urlsplit(request.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = [(k, v) for k, v in _latin1_pairs(request.headers) if k.lower().encode() not in _SECRET_HEADERS]
        if not any(k.lower() == "host" for k, _ in sent):
            sent.insert(0, ("Host", parts.netloc))
        request_line = StatusAndHeaders(f"{request.method} {target} HTTP/1.1", sent, is_http_request=True)
        writer.write_record(
            writer.create_warc_record(
                request.url,
                "request",
                payload=io.BytesIO(request.body or b""),
                length=len(request.body or b""),
                http_headers=request_line,
                warc_headers_dict=concurrent,
            )
        )
        self.stats.inc_value("archiver/warc/records")
        return buffer.getvalue(), record, length

    # --- the manifest -----------------------------------------------------------------------------
    def item_scraped(self, item: Any, response: Response) -> None:
        from itemadapter import ItemAdapter

        adapter = ItemAdapter(item)
        url = adapter.get("url")
        meta = _meta_of(response)
        own, parent = meta.get(META_CAPTURE), meta.get(META_PARENT)
        post, share = (own, None) if own and own.get("url") == url else (parent, own)
        line = {
            "post_id": adapter.get("post_id"),
            "url": url,
            "title": adapter.get("title"),
            "post": post,
            "share": share,
        }
        from archiver.store.runlog import append_line

        append_line(self.state / MANIFEST, line)
        self.stats.inc_value("archiver/warc/manifest_lines")


def _meta_of(response: Any) -> dict[str, Any]:
    """The meta of the request an item came from: a response's, or a failure's (errback items)."""
    request = getattr(response, "request", None)
    meta = getattr(request, "meta", None)
    return meta if isinstance(meta, dict) else {}


class WarcLinkMiddleware:
    """Spider middleware: a request found on a captured page carries that page's capture (``META_PARENT``)."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcLinkMiddleware:
        from scrapy.exceptions import NotConfigured

        if not config.flag(crawler.settings, "ARCHIVER_WARC_ENABLED"):
            raise NotConfigured
        return cls()

    @staticmethod
    def _link(response: Any, result: Any) -> Any:
        from scrapy import Request

        capture = _meta_of(response).get(META_CAPTURE)
        if capture is not None and isinstance(result, Request) and META_PARENT not in result.meta:
            result.meta[META_PARENT] = capture
        return result

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        for entry in result:
            yield self._link(response, entry)

    async def process_spider_output_async(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for entry in result:
            yield self._link(response, entry)

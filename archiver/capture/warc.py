"""Raw capture: every request and response of a crawl as WARC records, and a manifest from posts to records.

With ``ARCHIVER_WARC_ENABLED`` (``archiver crawl --warc``), ``WarcCaptureMiddleware`` (a downloader
middleware at 950, the last before the network) writes each response as received -- status line,
headers, body still compressed if the server compressed it -- and the request as sent, with
warcio, one gzip member per record, into ``<output>/warc/``. Each process writes its own files
(``archiver-<time>-<serial>-<host>-<pid>.warc.gz``, each opening with a ``warcinfo`` record that
names the spider and start URL), started afresh past ``ARCHIVER_WARC_MAX_BYTES``, so workers of
a distributed run never share a file. A record pair is written with one ``write``: a killed run
leaves files that read up to their last whole record.

``<output>/.archiver/captures.jsonl`` gets one line per archived post, when the post is written:
its post id (the infoCode), and for its post page and its share page the WARC file, offset,
record id, payload digest and status of the response it was made from. The capture of each
response travels in its request's meta, and ``WarcLinkMiddleware`` (a spider middleware) hands
the capture of a page on to the requests found on it; so a post whose share page another worker
fetched still names its post page's record.

``archiver rebuild --from-warc`` (``archiver.capture.replay``) reads these files back.
"""

from __future__ import annotations

import datetime as dt
import http
import io
import logging
import os
import socket
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

from archiver import __version__, config
from archiver.config import state_dir

logger = logging.getLogger(__name__)

FOLDER = "warc"
MANIFEST = "captures.jsonl"
# Dotted, not `archiver_*`: the incremental page store keeps `archiver_*` meta of listings for later runs.
META_CAPTURE = "archiver.warc.capture"  # the capture of this request's response
META_PARENT = "archiver.warc.parent"  # the capture of the page this request was found on
_META_SENT = "archiver.warc.sent"
# The time a response was captured, when it is not now (a replay from a web archive): its WARC-Date.
META_DATE = "archiver.warc.date"
# Credentials never go into an archive file.
_SECRET_HEADERS = {b"authorization", b"proxy-authorization", b"cookie"}
INSTALL_HINT = "pip install 'archiver[warc]' (warcio)"


def _latin1_pairs(headers: Any) -> list[tuple[str, str]]:
    """Scrapy headers as (name, value) pairs, every value of a repeated header kept, bytes kept by latin-1."""
    pairs = []
    for name, values in headers.items():
        for value in values:
            pairs.append((name.decode("latin-1"), value.decode("latin-1")))
    return pairs


class WarcFiles:
    """The WARC files of one process: opened on first use, rotated by size, one ``write`` per record group."""

    def __init__(self, root: Path, *, max_bytes: int, info: dict[str, str], fsync: bool = False) -> None:
        self.root = root
        self.folder = root / FOLDER
        self.max_bytes = max_bytes
        self.info = info
        self.fsync = fsync
        self.serial = 0
        self.fd: int | None = None
        self.name = ""
        self.size = 0
        self.records = 0  # record groups in the current file, after its warcinfo
        self.files: list[str] = []

    def _open(self) -> None:
        from warcio.warcwriter import WARCWriter

        self.close()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.serial += 1
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S%f")[:17]
        host = "".join(c if c.isalnum() or c in "-." else "_" for c in socket.gethostname())
        self.name = f"archiver-{stamp}-{self.serial:05d}-{host}-{os.getpid()}.warc.gz"
        self.fd = os.open(self.folder / self.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        self.size = 0
        self.records = 0
        self.files.append(self.name)
        buffer = io.BytesIO()
        writer = WARCWriter(buffer, gzip=True, warc_version="1.1")
        writer.write_record(writer.create_warcinfo_record(self.name, self.info))
        self._write(buffer.getvalue())

    def _write(self, data: bytes) -> int:
        assert self.fd is not None
        offset = self.size
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
        self.size += len(data)
        return offset

    def append(self, data: bytes) -> tuple[str, int]:
        """Write whole records; returns the file's path under the archive and the offset they start at."""
        # A record larger than the limit still goes in: alone, in a file of its own.
        if self.fd is None or (self.records and self.size + len(data) > self.max_bytes):
            self._open()
        self.records += 1
        return f"{FOLDER}/{self.name}", self._write(data)

    def close(self) -> None:
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)


class WarcCaptureMiddleware:
    """Downloader middleware: every request sent and response received, as WARC records."""

    def __init__(self, crawler: Any) -> None:
        from scrapy import signals

        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.root = config.output_dir(settings)
        self.state = state_dir(settings)
        self.max_bytes = config.positive_int(settings, "ARCHIVER_WARC_MAX_BYTES", minimum=64 * 1024)
        self.fsync = config.flag(settings, "ARCHIVER_FSYNC")
        self.files: WarcFiles | None = None
        connect = crawler.signals.connect
        connect(self.spider_opened, signal=signals.spider_opened)
        connect(self.spider_closed, signal=signals.spider_closed)
        connect(self.item_scraped, signal=signals.item_scraped)

    @classmethod
    def from_crawler(cls, crawler: Any) -> WarcCaptureMiddleware:
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
        self.files = WarcFiles(self.root, max_bytes=self.max_bytes, info=info, fsync=self.fsync)

    def spider_closed(self) -> None:
        if self.files is not None:
            self.files.close()
            self.stats.set_value("archiver/warc/files", len(self.files.files))

    # --- records ----------------------------------------------------------------------------------
    def process_request(self, request: Any) -> None:
        request.meta[_META_SENT] = True
        return None

    def process_response(self, request: Any, response: Any) -> Any:
        if request.meta.pop(_META_SENT, False):
            request.meta[META_CAPTURE] = self.capture(request, response)
        return response

    def process_exception(self, request: Any, exception: BaseException) -> None:
        from scrapy.exceptions import IgnoreRequest

        # Sent, never answered (connection lost, timeout): the request alone, so the attempt is on record.
        if request.meta.pop(_META_SENT, False) and not isinstance(exception, IgnoreRequest):
            data, _, _ = self._records(request, None)
            self._append(data)
        return None

    def capture(self, request: Any, response: Any) -> dict[str, Any]:
        data, record, length = self._records(request, response)
        warc, offset = self._append(data)
        headers = record.rec_headers
        return {
            "url": response.url,
            "status": response.status,
            "warc": warc,
            "offset": offset,
            "length": length,
            "record_id": headers.get_header("WARC-Record-ID"),
            "payload_digest": headers.get_header("WARC-Payload-Digest"),
            "date": headers.get_header("WARC-Date"),
        }

    def _append(self, data: bytes) -> tuple[str, int]:
        assert self.files is not None, "spider_opened was not called"
        where = self.files.append(data)
        self.stats.inc_value("archiver/warc/bytes", len(data))
        return where

    def _records(self, request: Any, response: Any | None) -> tuple[bytes, Any, int]:
        """The response record (if any) and the request record; returns their bytes, the response record, its length."""
        from urllib.parse import urlsplit

        from warcio.statusandheaders import StatusAndHeaders
        from warcio.warcwriter import WARCWriter

        buffer = io.BytesIO()
        writer = WARCWriter(buffer, gzip=True, warc_version="1.1")
        concurrent: dict[str, str] = {}
        record = None
        length = 0
        if response is not None:
            headers = _latin1_pairs(response.headers)
            # Scrapy hands over the body without its chunked framing; the header would misdescribe it.
            headers = [(k if k.lower() != "transfer-encoding" else f"X-Archiver-{k}", v) for k, v in headers]
            try:
                reason = http.HTTPStatus(response.status).phrase
            except ValueError:
                reason = ""
            status = StatusAndHeaders(
                f"{response.status} {reason}".strip(),
                headers,
                protocol=getattr(response, "protocol", None) or "HTTP/1.1",
            )
            extra = {}
            if request.meta.get(META_DATE):
                concurrent["WARC-Date"] = extra["WARC-Date"] = str(request.meta[META_DATE])
            if getattr(response, "ip_address", None) is not None:
                extra["WARC-IP-Address"] = str(response.ip_address)
            record = writer.create_warc_record(
                response.url,
                "response",
                payload=io.BytesIO(response.body),
                length=len(response.body),
                http_headers=status,
                warc_headers_dict=extra,
            )
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
    def item_scraped(self, item: Any, response: Any) -> None:
        from itemadapter import ItemAdapter

        adapter = ItemAdapter(item)
        url = adapter.get("url")
        meta = _meta_of(response)
        own, parent = meta.get(META_CAPTURE), meta.get(META_PARENT)
        post, share = (own, None) if own and own.get("url") == url else (parent, own)
        line = {"post_id": adapter.get("post_id"), "url": url, "post": post, "share": share}
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
    def from_crawler(cls, crawler: Any) -> WarcLinkMiddleware:
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

    def process_spider_output(self, response: Any, result: Iterable[Any]) -> Iterator[Any]:
        for entry in result:
            yield self._link(response, entry)

    async def process_spider_output_async(self, response: Any, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for entry in result:
            yield self._link(response, entry)

"""Rebuilding an archive from WARC files alone: the same crawl, answered from the records instead of the network.

``archiver rebuild --from-warc DIR --output OUT`` runs the spider named in the files' ``warcinfo``
records from the start URL named there, through the same spider middlewares, pipelines and
exporter as a crawl. Only the download is different: ``ReplayMiddleware`` (a downloader
middleware at 960, the last before the network, set on by ``ARCHIVER_REPLAY_DIR``) answers every
request with the response recorded for its URL -- status, headers and body as they were
received, so decompression, redirects, retries and charset detection all happen again exactly
as they did. A request whose URL has no response in the files fails (``NotCaptured``) as a
page that could not be fetched; nothing ever reaches the network.

When a URL was recorded more than once (retries, several runs' files in one folder), the latest
response that holds content is replayed: a ``304 Not Modified`` only confirms an earlier one.
A ``revisit`` record resolves to the payload it refers to: an ``identical-payload-digest``
revisit is replayed as its own status and headers with the body of the record named by
``WARC-Refers-To`` (or found by ``WARC-Refers-To-Target-URI`` and ``-Date``, or by its payload
digest); a ``server-not-modified`` revisit is a 304 and, like one, only confirms the capture it
refers to. A revisit whose payload is in none of the files is not replayed.
A file cut short by a killed run is read up to its last whole record.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archiver import config

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request

logger = logging.getLogger(__name__)

WARC_SUFFIXES = (".warc.gz", ".warc")
_ORIGINAL = {"x-archiver-transfer-encoding": "Transfer-Encoding"}


class NotCaptured(Exception):
    """The WARC files hold no response for a requested URL."""


_IDENTICAL = "/revisit/identical-payload-digest"
# What a response or revisit record is known and found by.
_REFERS = (
    "WARC-Profile",
    "WARC-Refers-To",
    "WARC-Refers-To-Target-URI",
    "WARC-Refers-To-Date",
    "WARC-Payload-Digest",
    "WARC-Record-ID",
    "WARC-Date",
)


@dataclass(frozen=True)
class Recorded:
    path: Path
    offset: int
    date: dt.datetime
    status: int
    payload: tuple[Path, int] | None = None  # a revisit's: where the body it refers to is

    def better_than(self, other: Recorded) -> bool:
        """Content beats a 304; then the later capture wins."""
        return (self.status != 304, self.date) >= (other.status != 304, other.date)


def warc_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith(WARC_SUFFIXES))


def _date(value: str | None) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)


def _fields(record: Any) -> dict[str, str]:
    text = record.content_stream().read().decode("utf-8", "replace")
    pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {name.strip(): value.strip() for name, value in pairs}


class WarcIndex:
    """Where the response for each URL is, across a folder of WARC files; built by reading every record once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.responses: dict[str, Recorded] = {}
        self.infos: list[dict[str, str]] = []
        self.files: list[Path] = []
        self.records = 0
        self.truncated: list[tuple[Path, int]] = []  # files with an incomplete last record, and its bytes

    @classmethod
    def scan(cls, folder: Path) -> WarcIndex:
        from warcio.archiveiterator import ArchiveIterator

        index = cls(folder)
        candidates: dict[str, list[Recorded]] = {}
        revisits: list[tuple[str, Recorded, dict[str, str]]] = []
        by_id: dict[str, tuple[Path, int]] = {}
        by_capture: dict[tuple[str, str], tuple[Path, int]] = {}
        by_digest: dict[str, tuple[Path, int]] = {}
        for path in warc_files(folder):
            index.files.append(path)
            end = 0
            with path.open("rb") as stream:
                records = ArchiveIterator(stream)
                for record in _whole(records, path):
                    kind = record.rec_type
                    if kind == "warcinfo":
                        index.infos.append(_fields(record))
                    headers = record.rec_headers
                    url = headers.get_header("WARC-Target-URI")
                    found = None
                    if kind in ("response", "revisit") and url and record.http_headers is not None:
                        status = int(record.http_headers.get_statuscode() or 0)
                        found = (url, status, _date(headers.get_header("WARC-Date")))
                        refers = {name: headers.get_header(name) or "" for name in _REFERS}
                    offset = records.get_record_offset()  # reads the record to its end
                    end = offset + records.get_record_length()
                    index.records += 1
                    if found is None:
                        continue
                    url, status, date = found
                    entry = Recorded(path, offset, date, status)
                    if kind == "response":
                        candidates.setdefault(url, []).append(entry)
                        by_id[refers["WARC-Record-ID"]] = (path, offset)
                        by_capture[(url, refers["WARC-Date"])] = (path, offset)
                        if status == 200 and refers["WARC-Payload-Digest"]:
                            by_digest.setdefault(refers["WARC-Payload-Digest"], (path, offset))
                    elif refers["WARC-Profile"].endswith(_IDENTICAL):
                        revisits.append((url, entry, refers))
                    else:  # server-not-modified: a 304 that confirms an earlier capture
                        candidates.setdefault(url, []).append(Recorded(path, offset, date, 304))
            size = path.stat().st_size
            if end < size:
                # A killed writer's last record: warcio stops at the last whole one; say so.
                index.truncated.append((path, size - end))
                logger.warning(
                    "%s: the last %d bytes are not a whole record (a killed run?); ignored", path, size - end
                )
        for url, entry, refers in revisits:
            payload = (
                by_id.get(refers["WARC-Refers-To"])
                or by_capture.get((refers["WARC-Refers-To-Target-URI"], refers["WARC-Refers-To-Date"]))
                or by_digest.get(refers["WARC-Payload-Digest"])
            )
            if payload is None:
                logger.warning("%s: a revisit of %s refers to a payload in none of the files", entry.path, url)
                continue
            candidates.setdefault(url, []).append(Recorded(entry.path, entry.offset, entry.date, entry.status, payload))
        for url, entries in candidates.items():
            best = entries[0]
            for entry in entries[1:]:
                if entry.better_than(best):
                    best = entry
            index.responses[url] = best
        return index

    def crawl(self) -> tuple[str | None, str | None]:
        """The spider and start URL the files' ``warcinfo`` records name (the most common, if several)."""

        def common(field: str) -> str | None:
            values = Counter(info[field] for info in self.infos if info.get(field))
            return values.most_common(1)[0][0] if values else None

        return common("archiver-spider"), common("archiver-start-url")

    def load(self, url: str) -> tuple[int, str, list[tuple[str, str]], bytes] | None:
        """Status, protocol, headers and body (as received) of the response recorded for ``url``."""
        from warcio.archiveiterator import ArchiveIterator

        entry = self.responses.get(url)
        if entry is None or entry.status == 304:
            return None
        with entry.path.open("rb") as stream:
            stream.seek(entry.offset)
            record = next(iter(ArchiveIterator(stream)))
            headers = record.http_headers
            body = _whole_block(record)
        if entry.payload is not None and body is not None:  # a revisit: its own headers, the body it refers to
            path, offset = entry.payload
            with path.open("rb") as stream:
                stream.seek(offset)
                body = _whole_block(next(iter(ArchiveIterator(stream))))
        if body is None:
            logger.warning(
                "%s: the record of %s is cut short in the file (a killed writer?); not replayed", entry.path, url
            )
            return None
        # archiver.capture.warc renamed the header of the chunked framing Scrapy had already removed: give it back.
        pairs = [(_ORIGINAL.get(name.lower(), name), value) for name, value in headers.headers]
        return entry.status, headers.protocol or "HTTP/1.1", pairs, body


def _whole_block(record: Any) -> bytes | None:
    """A record's payload, or None when the file ends before the block its Content-Length announces."""
    stream = record.raw_stream
    chunks = []
    while chunk := stream.read():
        chunks.append(chunk)
    # warcio reads a block through a reader limited to its length: what is left of the limit was never there.
    return None if getattr(stream, "limit", 0) > 0 else b"".join(chunks)


def _whole(records: Iterable[Any], path: Path) -> Iterator[Any]:
    """The records of one file up to the first that cannot be read (cut inside its headers, say)."""
    iterator = iter(records)
    while True:
        try:
            record = next(iterator)
        except StopIteration:
            return
        except Exception as exc:  # whatever warcio raises on a damaged record: the file ends there
            logger.warning("%s: a record that cannot be read (%s: %s); the file is read up to it", path,
                           type(exc).__name__, exc)  # fmt: skip
            return
        yield record


class ReplayMiddleware:
    """Downloader middleware: every request answered from WARC records, never from the network."""

    def __init__(self, crawler: Crawler, index: WarcIndex) -> None:
        self.stats = crawler.stats
        self.index = index

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReplayMiddleware:
        from scrapy.exceptions import NotConfigured

        folder = str(crawler.settings.get("ARCHIVER_REPLAY_DIR") or "")
        if not folder:
            raise NotConfigured
        path = Path(folder).expanduser()
        if not path.is_dir():
            raise config.SettingError(f"ARCHIVER_REPLAY_DIR={path} is not a folder of WARC files")
        try:
            index = WarcIndex.scan(path)
        except ImportError:
            raise config.SettingError("replaying WARC files needs warcio: pip install 'archiver[warc]'") from None
        if not index.responses:
            raise config.SettingError(f"ARCHIVER_REPLAY_DIR={path}: no WARC response records found")
        logger.info("replaying %d responses from %d WARC files in %s", len(index.responses), len(index.files), path)
        crawler.stats.set_value("archiver/replay/files", len(index.files))
        crawler.stats.set_value("archiver/replay/truncated_files", len(index.truncated))
        return cls(crawler, index)

    def process_request(self, request: Request) -> Any:
        from scrapy.http import Headers
        from scrapy.responsetypes import responsetypes

        found = self.index.load(request.url)
        if found is None:
            self.stats.inc_value("archiver/replay/missing")
            raise NotCaptured(f"no response for {request.url} in the WARC files")
        status, protocol, pairs, body = found
        headers = Headers()
        for name, value in pairs:
            headers.appendlist(name.encode("latin-1", "replace"), value.encode("latin-1", "replace"))
        cls = responsetypes.from_args(headers=headers, url=request.url, body=body)
        self.stats.inc_value("archiver/replay/responses")
        return cls(
            url=request.url,
            status=status,
            headers=headers,
            body=body,
            request=request,
            protocol=protocol,
            flags=["warc"],
        )


def crawl_info(folder: Path) -> tuple[str | None, str | None, int]:
    """The spider and start URL named by the ``warcinfo`` record each file opens with, and the number of files."""
    from warcio.archiveiterator import ArchiveIterator

    index = WarcIndex(folder)
    for path in warc_files(folder):
        index.files.append(path)
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "warcinfo":
                    index.infos.append(_fields(record))
                break
    spider, start_url = index.crawl()
    return spider, start_url, len(index.files)


def rebuild_settings(warc_dir: Path, output: Path) -> dict[str, Any]:
    """Setting overrides of a rebuild: replay on; no capture, no Redis, no incremental skipping; no politeness."""
    return {
        "ARCHIVER_OUTPUT_DIR": str(output),
        "ARCHIVER_REPLAY_DIR": str(warc_dir),
        "ARCHIVER_WARC_ENABLED": False,
        "ARCHIVER_REDIS_URL": "",
        # Every post in the capture is rebuilt, whatever the output folder already holds.
        "ARCHIVER_INCREMENTAL": False,
        "CONCURRENT_REQUESTS": 32,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
    }

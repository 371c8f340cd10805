"""The WARC files of a capture: one per process kind, host and day, appended to by every run, rolled by size.

A run appends its records to the current file of the day,
``warc/archiver-<YYYYMMDD>-<host>-<kind>-<serial>.warc.gz`` (``kind`` is ``crawl`` for a plain run,
``worker`` for a worker of a distributed run), and starts the next serial past
``ARCHIVER_WARC_MAX_BYTES`` or when the day (UTC) changes. So cron's runs every five minutes
leave one file a day, not 288.

**One writer per file.** A process holds an exclusive ``flock`` on the file it appends to and
takes the next serial when another process holds it: the run lock already keeps plain runs
apart, and the workers of a distributed run (which share the run lock) each get a file of their
own, also when several of them run on one host.

**Whole records only.** Every record is one gzip member, and a record group (response and
request) goes out in one ``write``. A run killed in the middle of a write leaves a torn member at
the end; the next run that opens the file cuts it back to the end of the last whole gzip member
(one whose trailer -- CRC and length -- is there and right) before it appends, so the file never
holds a broken record in the middle. Only what follows the last indexed record is checked, not
the whole file.

**The index.** Each file has its CDXJ index next to it (``archiver.capture.cdxj``), rewritten when
the file is closed; records a killed run wrote whole are indexed by the next run that opens it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import io
import logging
import os
import re
import socket
import zlib
from collections.abc import Callable
from pathlib import Path

from archiver.capture import cdxj

logger = logging.getLogger(__name__)

FOLDER = "warc"
_CHUNK = 1 << 20


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname().split(".")[0]) or "host"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def whole_end(path: Path, start: int = 0) -> int:
    """The end of the last whole gzip member of ``path`` from ``start`` (a member boundary)."""
    end = start
    with path.open("rb") as stream:
        stream.seek(start)
        position = start
        decompressor = zlib.decompressobj(31)
        pending = b""
        while True:
            data = pending or stream.read(_CHUNK)
            pending = b""
            if not data:
                return end  # EOF: a member still open is torn
            try:
                decompressor.decompress(data)
            except zlib.error:
                return end  # not gzip from here on: garbage a killed write left
            if decompressor.eof:
                rest = decompressor.unused_data
                position += len(data) - len(rest)
                end = position
                decompressor = zlib.decompressobj(31)
                pending = rest
            else:
                position += len(data)


def index_region(path: Path, start: int, end: int) -> list[str]:
    """The CDXJ lines of the records of ``path`` between two member boundaries."""
    from warcio.archiveiterator import ArchiveIterator

    with path.open("rb") as stream:
        stream.seek(start)
        data = stream.read(end - start)
    lines = []
    records = ArchiveIterator(io.BytesIO(data))
    for record in records:
        if record.rec_type in ("response", "revisit"):
            # The length is known once the iterator has read the record to its end; the headers stay parsed.
            offset, length = records.get_record_offset(), records.get_record_length()
            found = cdxj.record_line(record, path.name, start + offset, length)
            if found is not None:
                lines.append(found)
    return lines


class WarcFiles:
    """The WARC files this process appends to: found or started, locked, repaired, rolled; their indexes."""

    def __init__(
        self,
        root: Path,
        *,
        max_bytes: int,
        kind: str,
        warcinfo: Callable[[str], bytes],
        fsync: bool = False,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self.root = root
        self.folder = root / FOLDER
        self.max_bytes = max_bytes
        self.kind = kind
        self.warcinfo = warcinfo  # the bytes of a new file's warcinfo record, given its name
        self.fsync = fsync
        self.clock = clock
        self.fd: int | None = None
        self.path: Path | None = None
        self.day = ""
        self.size = 0
        self.records = 0  # record groups this process wrote to the current file
        self.lines: list[str] = []  # the current file's index: as found, plus what this process wrote
        self.files: list[str] = []  # every file this process wrote to
        self.repaired = 0  # bytes of torn records cut off

    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else ""

    def _name(self, day: str, serial: int) -> str:
        return f"archiver-{day}-{_host()}-{self.kind}-{serial:05d}.warc.gz"

    def _open(self) -> None:
        """The first file of today this process can have to itself and that has room; created if need be."""
        self.close()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.day = self.clock().strftime("%Y%m%d")
        serial = 0
        while True:
            serial += 1
            path = self.folder / self._name(self.day, serial)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # another worker appends to this one
                os.close(fd)
                continue
            size = self._repair(fd, path)
            if size >= self.max_bytes:
                os.close(fd)  # full: the next serial
                continue
            break
        self.fd, self.path, self.size, self.records = fd, path, size, 0
        self.files.append(path.name)
        if size == 0:
            self._write(self.warcinfo(path.name))

    def _repair(self, fd: int, path: Path) -> int:
        """Cut a torn tail back to the last whole record; index whole records no index names yet. Returns the size."""
        size = os.fstat(fd).st_size
        index = cdxj.index_path(path)
        self.lines = cdxj.read(index)
        start = min(cdxj.end_of(self.lines), size)
        end = whole_end(path, start) if start < size else size
        if end < size:
            logger.warning("%s: cutting %d bytes of a torn record (a killed run) before appending", path, size - end)
            os.ftruncate(fd, end)
            self.repaired += size - end
            size = end
        if start < end:
            found = index_region(path, start, end)
            if found:
                self.lines.extend(found)
                cdxj.write(index, self.lines, fsync=self.fsync)
        return size

    def _write(self, data: bytes) -> int:
        assert self.fd is not None
        offset = self.size
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
        self.size += len(data)
        return offset

    def append(self, data: bytes, lines: Callable[[str, int], list[str]] | None = None) -> tuple[str, int]:
        """Write whole records; returns the file's path under the archive and the offset they start at.

        ``lines(filename, offset)`` gives their index lines once the offset is known.
        """
        # A record larger than the limit still goes in: alone, in a file of its own.
        full = self.records and self.size + len(data) > self.max_bytes
        if self.fd is None or full or self.clock().strftime("%Y%m%d") != self.day:
            self._open()
        self.records += 1
        offset = self._write(data)
        if lines is not None:
            self.lines.extend(lines(self.name, offset))
        return f"{FOLDER}/{self.name}", offset

    def close(self) -> None:
        """Close the current file: its data synced if asked, its index rewritten, its lock released."""
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            if self.fsync:
                os.fsync(fd)
            if self.path is not None and self.records:
                cdxj.write(cdxj.index_path(self.path), self.lines, fsync=self.fsync)
        finally:
            os.close(fd)  # releases the flock

"""A crash-safe store of fetched pages and their validators, for conditional re-requests.

Scrapy's own cache storages do not fit a run that may be killed at any
moment: the filesystem storage writes a page as several files in place, the
DBM one can be left corrupt. Here every page is one file, written atomically
(``fsutil.atomic_write``) and verified when read: a magic line, a JSON header
(URL, status, headers, the body's length and SHA-1), then the body exactly as
it came off the wire. A file that does not verify is deleted and treated as
absent, so the worst a damaged store can cause is one full fetch -- never a
changed page taken for an unchanged one, because a body is only ever served
for a 304 answer to the validators stored *in the same file*.

Files are grouped in buckets: ``listing/`` for listing pages (kept, and
re-requested by every crawl) and ``YYYY-MM-DD/`` for the pages of posts of that
day, which a crawl drops once the day falls out of the recheck window.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archiver.store.atomic import atomic_write, remove_stale_temp_files, writing

logger = logging.getLogger(__name__)

MAGIC = b"archiver-page 1\n"
LISTING = "listing"
_DAY_BUCKET = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Validators kept from an answer; everything else a response needs is in ``headers``.
_LAST_MODIFIED_MARGIN = dt.timedelta(seconds=2)


@dataclass
class StoredPage:
    url: str
    status: int
    headers: dict[str, list[str]]
    body: bytes = b""
    # Extra data a listing entry keeps to be re-requested: callback/errback names, archiver_* meta.
    extra: dict[str, Any] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        for key, values in self.headers.items():
            if key.lower() == name.lower() and values:
                return values[0]
        return None

    def conditional_headers(self) -> dict[str, str]:
        """``If-None-Match`` from an ETag, else ``If-Modified-Since`` when Last-Modified is a strong validator."""
        etag = self.header("ETag")
        if etag:
            return {"If-None-Match": etag}
        modified = self.header("Last-Modified")
        if modified and _strong_date(modified, self.header("Date")):
            return {"If-Modified-Since": modified}
        return {}


def _strong_date(modified: str, date: str | None) -> bool:
    # RFC 9110 8.8.2.2: a Last-Modified less than a second or so before the answer's Date may hide a
    # second change within the same second; such a validator could make a changed page look unchanged.
    from email.utils import parsedate_to_datetime

    try:
        last = parsedate_to_datetime(modified)
        sent = parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError):
        return False
    return sent is not None and sent - last >= _LAST_MODIFIED_MARGIN


class PageStore:
    """Pages by bucket and URL under one folder (``<output>/.archiver/pages``)."""

    def __init__(self, root: Path, *, fsync: bool = False) -> None:
        self.root = root
        self.fsync = fsync

    def open(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for folder in (self.root, *self._buckets()):
            for path in remove_stale_temp_files(folder):
                logger.info("removed a temporary file a killed run left behind: %s", path)

    def path(self, bucket: str, url: str) -> Path:
        if bucket != LISTING and not _DAY_BUCKET.match(bucket):
            raise ValueError(f"not a page store bucket: {bucket!r}")
        return self.root / bucket / (hashlib.sha1(url.encode("utf-8")).hexdigest() + ".page")

    def load(self, bucket: str, url: str) -> StoredPage | None:
        """The stored page, or None when absent or damaged (a damaged file is removed)."""
        return self._read(self.path(bucket, url), url)

    def save(self, bucket: str, page: StoredPage) -> None:
        header = {
            "url": page.url,
            "status": page.status,
            "headers": page.headers,
            "length": len(page.body),
            "sha1": hashlib.sha1(page.body).hexdigest(),
            "extra": page.extra,
        }
        data = MAGIC + json.dumps(header, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n" + page.body
        path = self.path(bucket, page.url)
        with writing(path.parent):  # a full disk fails here too: ArchiveUnwritable, as atomic_write
            path.parent.mkdir(exist_ok=True)
        atomic_write(path, data, fsync=self.fsync)

    def mark(self, bucket: str, url: str, body: bytes, key: str, value: Any) -> bool:
        """Set ``extra[key] = value`` on the stored page of ``url`` if its body is ``body``; False if it is not.

        Tied to the body: a note about what a page held must never end up on another version of it
        (a page that changed and was not stored, or stored again meanwhile). Nothing is written when
        the page already carries that value.
        """
        page = self.load(bucket, url)
        if page is None or page.body != body:
            return False
        if page.extra.get(key) != value:
            page.extra[key] = value
            self.save(bucket, page)
        return True

    def delete(self, bucket: str, url: str) -> None:
        self.path(bucket, url).unlink(missing_ok=True)

    def listings(self) -> Iterator[StoredPage]:
        """Every stored listing page that verifies, in a stable order."""
        folder = self.root / LISTING
        if not folder.is_dir():
            return
        for path in sorted(folder.glob("*.page")):
            page = self._read(path, None)
            if page is not None:
                yield page

    def prune(self, before: dt.date) -> int:
        """Remove the buckets of post days before ``before``; returns the number of pages removed."""
        removed = 0
        for folder in self._buckets():
            if folder.name == LISTING or dt.date.fromisoformat(folder.name) >= before:
                continue
            for entry in os.scandir(folder):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed += 1
            with contextlib.suppress(FileNotFoundError):
                folder.rmdir()
        return removed

    def _buckets(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return [
            Path(entry.path)
            for entry in os.scandir(self.root)
            if entry.is_dir(follow_symlinks=False) and (entry.name == LISTING or _DAY_BUCKET.match(entry.name))
        ]

    def _read(self, path: Path, url: str | None) -> StoredPage | None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        page = _decode(data)
        if page is None or (url is not None and page.url != url):
            logger.warning("page store: %s does not verify; removed, the page will be fetched in full", path)
            path.unlink(missing_ok=True)
            return None
        return page


def _decode(data: bytes) -> StoredPage | None:
    if not data.startswith(MAGIC):
        return None
    end = data.find(b"\n", len(MAGIC))
    if end < 0:
        return None
    try:
        header = json.loads(data[len(MAGIC) : end])
        body = data[end + 1 :]
        if len(body) != header["length"] or hashlib.sha1(body).hexdigest() != header["sha1"]:
            return None
        headers = {str(k): [str(v) for v in vs] for k, vs in header["headers"].items()}
        return StoredPage(str(header["url"]), int(header["status"]), headers, body, dict(header.get("extra") or {}))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None

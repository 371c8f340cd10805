"""What a revisit refers to: the last capture with content of each URL, kept across runs.

``<output>/.archiver/warc-last.json`` maps each URL to the capture (WARC file, offset, length,
record id, payload digest, date, status) of the last response with content recorded for it.
``archiver.capture.warc`` reads it at the start of a run to tell a payload already captured
(a ``revisit`` record then refers to that capture) and merges what the run captured back at its
end: under a ``flock``, the later capture of a URL winning, written atomically, so the workers of
a distributed run can all save theirs. A capture whose WARC file is gone is forgotten (a revisit
must refer to a record that exists). A run killed before saving costs nothing but full records
where revisits would have done.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from archiver.store.atomic import atomic_write

FILE = "warc-last.json"
PROFILE_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
PROFILE_IDENTICAL = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"


def payload_digest(body: bytes) -> str:
    """The ``WARC-Payload-Digest`` warcio writes for ``body``: ``sha1:`` and base 32."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _load(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}  # absent, or damaged: full records until it is written again
    return data if isinstance(data, dict) else {}


class LastCaptures:
    """The last capture with content of each URL: read at the start of a run, merged back at its end."""

    def __init__(self, state: Path, root: Path) -> None:
        self.path = state / FILE
        self.root = root  # the archive: capture paths are relative to it
        self._files: dict[str, bool] = {}
        known = _load(self.path)
        self.known = {url: capture for url, capture in known.items() if self._exists(capture)}
        self.new: dict[str, dict[str, Any]] = {}

    def _exists(self, capture: Any) -> bool:
        if not isinstance(capture, dict) or not isinstance(capture.get("warc"), str):
            return False
        name = capture["warc"]
        if name not in self._files:  # a few files hold the captures of thousands of URLs: one stat each
            self._files[name] = (self.root / name).is_file()
        return self._files[name]

    def get(self, url: str) -> dict[str, Any] | None:
        return self.new.get(url) or self.known.get(url)

    def put(self, url: str, capture: dict[str, Any]) -> None:
        self.new[url] = capture

    def save(self, *, fsync: bool = False) -> None:
        if not self.new:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(self.path):
            merged = {url: c for url, c in _load(self.path).items() if self._exists(c)}
            for url, capture in self.new.items():
                if str(capture.get("date", "")) >= str(merged.get(url, {}).get("date", "")):
                    merged[url] = capture
            atomic_write(self.path, json.dumps(merged, sort_keys=True).encode("utf-8"), fsync=fsync)
        self.known.update(self.new)
        self.new = {}

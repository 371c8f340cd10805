"""The run report: one JSON line per run appended to ``<output>/.archiver/runs.jsonl``.

What a cron operator needs to see without reading logs: when the run started
and ended, how many pages it fetched and how many were answered 304, what
happened to the posts (``new``, ``updated``, ``unchanged``, ``skipped_known``),
what was dropped and why, what failed, and the URLs of the errors. A run that
found the lock taken leaves a short ``"status": "locked"`` line.

Each line is appended with one ``write`` on an ``O_APPEND`` descriptor, so a
killed run leaves either its whole line or none; readers (``read_runs``) skip
a line that does not parse, should a disk ever tear one.

Components that learn of a permanently failed page send ``page_failed``
(``crawler.signals.send_catch_log(report.page_failed, url=..., reason=...)``);
spider and pipeline errors and dropped items are collected from Scrapy's own
signals.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from archiver import config
from archiver.lock import state_dir

logger = logging.getLogger(__name__)

RUNS_FILE = "runs.jsonl"
MAX_ERRORS = 100  # per run; the count of all of them is kept too
DROPPED_PREFIX = "archiver/items/dropped/"

# Custom signal: a page failed for good (retries exhausted, or an answer that cannot be used).
page_failed = object()


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


def append_line(path: Path, record: dict[str, Any]) -> None:
    """Append ``record`` as one JSON line, in one write."""
    line = json.dumps(record, ensure_ascii=False, sort_keys=True, default=str) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = "\n" + line  # a torn last line stays alone on its line
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def read_runs(path: Path) -> list[dict[str, Any]]:
    """The records of ``runs.jsonl``, oldest first; lines that do not parse are skipped."""
    runs: list[dict[str, Any]] = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return runs
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            runs.append(record)
    return runs


def record_locked(state: Path, error: Exception) -> None:
    """A run that could not start because another holds the lock leaves a one-line trace."""
    if not state.is_dir():
        return
    record = {"start": now_iso(), "status": "locked", "pid": os.getpid(), "error": str(error)}
    append_line(state / RUNS_FILE, record)


def status_of(stats: dict[str, Any]) -> str:
    """``ok``, ``pages_failed`` or ``error``: the meaning of exit codes 0, 2 and 1."""
    if stats.get("finish_reason") not in ("finished", None):
        return "error"
    if stats.get("archiver/pages/failed", 0):
        return "pages_failed"
    return "ok"


def summarize(stats: dict[str, Any]) -> dict[str, Any]:
    """The counts of a run's report, from its stats."""

    def n(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    return {
        "pages": n("downloader/response_count"),
        "not_modified": n("downloader/response_status_count/304"),
        "requests": n("downloader/request_count"),
        "bytes": n("downloader/response_bytes"),
        "posts": {kind: n(f"archiver/posts/{kind}") for kind in ("new", "updated", "unchanged", "skipped_known")},
        "dropped": {
            key.removeprefix(DROPPED_PREFIX): int(value)
            for key, value in sorted(stats.items())
            if key.startswith(DROPPED_PREFIX)
        },
        "skipped_requests": {
            key.rsplit("/", 1)[-1]: int(value)
            for key, value in sorted(stats.items())
            if key.startswith("archiver/requests/skipped/")
        },
        "filtered": {
            kind: n(f"archiver/posts/{kind}")
            for kind in ("out_of_window", "other_category")
            if n(f"archiver/posts/{kind}")
        },
        "failed": n("archiver/pages/failed"),
    }


class RunReport:
    """Collects a run's errors and appends its report line when the spider closes."""

    def __init__(self, crawler: Any) -> None:
        from scrapy import signals

        self.crawler = crawler
        self.path = state_dir(crawler.settings) / RUNS_FILE
        self.root = config.output_dir(crawler.settings)
        self.errors: list[dict[str, str]] = []
        self.error_count = 0
        self.started = now_iso()
        self.clock = time.monotonic()
        connect = crawler.signals.connect
        connect(self.spider_opened, signal=signals.spider_opened)
        connect(self.spider_error, signal=signals.spider_error)
        connect(self.item_error, signal=signals.item_error)
        connect(self.item_dropped, signal=signals.item_dropped)
        connect(self.page_failed, signal=page_failed)
        connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Any) -> RunReport:
        return cls(crawler)

    def _error(self, url: str | None, error: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"url": url or "", "error": error})

    def spider_opened(self) -> None:
        self.started = now_iso()
        self.clock = time.monotonic()

    def spider_error(self, failure: Any, response: Any) -> None:
        self._error(getattr(response, "url", None), f"{type(failure.value).__name__}: {failure.value}")

    def item_error(self, item: Any, response: Any, failure: Any) -> None:
        url = getattr(item, "url", None) or getattr(response, "url", None)
        self._error(url, f"{type(failure.value).__name__}: {failure.value}")

    def item_dropped(self, item: Any, response: Any, exception: BaseException) -> None:
        reason = getattr(exception, "reason", None)
        if reason:  # an article that could not be archived (filters carry no reason)
            self._error(getattr(exception, "url", None) or getattr(item, "url", None), f"dropped: {exception}")

    def page_failed(self, url: str, reason: str) -> None:
        self._error(url, reason)

    def spider_closed(self, reason: str) -> None:
        stats = dict(self.crawler.stats.get_stats())
        stats["finish_reason"] = reason
        settings = self.crawler.settings
        record: dict[str, Any] = {
            "start": self.started,
            "end": now_iso(),
            "duration": round(time.monotonic() - self.clock, 3),
            "spider": getattr(self.crawler.spider, "name", None),
            "output": str(self.root),
            "pid": os.getpid(),
            "status": status_of(stats),
            "finish_reason": reason,
            **summarize(stats),
            "errors": self.errors,
            "error_count": self.error_count,
            "recheck_days": settings.get("ARCHIVER_RECHECK_DAYS"),
        }
        window = {
            "since": settings.get("ARCHIVER_SINCE") or None,
            "until": settings.get("ARCHIVER_UNTIL") or None,
            "categories": settings.getlist("ARCHIVER_CATEGORIES") or None,
        }
        if any(window.values()):
            record["window"] = window
        if settings.get("JOBDIR"):
            record["jobdir"] = str(settings.get("JOBDIR"))
        append_line(self.path, record)
        logger.info("run report appended to %s", self.path)

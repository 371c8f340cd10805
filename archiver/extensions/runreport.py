"""``RunReport``: the extension that appends a run's line to ``<output>/.archiver/runs.jsonl``.

The line is built from the crawl's stats (``archiver.store.runlog.summarize``) and the errors
this extension collects: spider and pipeline errors and dropped items from Scrapy's own
signals, pages that failed for good from ``archiver.signals.page_failed``. A run that found the
site changed (``archiver.crawl.sitehealth``) has ``"status": "site_changed"`` and one entry per
kind of finding in ``"site_changed"``.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from archiver import config
from archiver import signals as archiver_signals
from archiver.crawl import unwritable
from archiver.store.runlog import (
    MAX_ERRORS,
    RUNS_FILE,
    append_line,
    now_iso,
    site_change_sentence,
    site_changes,
    status_of,
    summarize,
)

logger = logging.getLogger(__name__)


class RunReport:
    """Collects a run's errors and appends its report line when the spider closes."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.path = config.state_dir(crawler.settings) / RUNS_FILE
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
        connect(self.page_failed, signal=archiver_signals.page_failed)
        connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunReport:
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
        if found := site_changes(stats):
            record["site_changed"] = found
            logger.error("%s", site_change_sentence(stats))
        if any(window.values()):
            record["window"] = window
        if settings.get("ARCHIVER_WAYBACK_URL"):  # where the run read from: a web archive, not the live site
            record["source"] = {"wayback": str(settings.get("ARCHIVER_WAYBACK_URL")).strip()}
            counts = ("urls", "replayed", "not_captured", "throttled", "cdx_pages")
            record["wayback"] = {k: int(stats.get(f"archiver/wayback/{k}", 0) or 0) for k in counts}
        if settings.get("JOBDIR"):
            record["jobdir"] = str(settings.get("JOBDIR"))
        if message := unwritable.message(stats):  # the archive could not be written: exit 1
            record["status"], record["error"] = "error", message
        try:
            append_line(self.path, record)
        except OSError as exc:  # the disk is full or read-only: say so in one line, no traceback
            logger.error("cannot write the run report %s: %s", self.path, exc.strerror or exc)
            return
        logger.info("run report appended to %s", self.path)

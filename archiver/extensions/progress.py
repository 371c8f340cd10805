"""Progress for people: a live status line on a terminal, periodic stats lines in a log.

``ARCHIVER_PROGRESS``:

- ``auto`` (default): ``tty`` when standard error is a terminal, else ``log``;
- ``tty``: one line on standard error, redrawn every second -- pages fetched (and how many
  answered 304), requests queued, posts new/updated/unchanged/known, pages per second,
  elapsed time. Log records written to the same terminal first clear the line, so the two
  never run into each other;
- ``log``: the same figures as an INFO log line every ``ARCHIVER_PROGRESS_INTERVAL`` seconds,
  the way Scrapy's LogStats reports (cron mails and log files get these);
- ``off``.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from typing import IO, Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import create_looping_call

from archiver import config

logger = logging.getLogger(__name__)

MODES = ("auto", "tty", "log", "off")
CLEAR = "\r\x1b[K"


def fmt_elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def progress_line(stats: dict[str, Any], queued: int, elapsed: float) -> str:
    def n(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    pages = n("downloader/response_count")
    rate = pages / elapsed if elapsed > 0 else 0.0
    return (
        f"pages {pages} ({n('downloader/response_status_count/304')} not modified), queue {queued} | "
        f"posts {n('archiver/posts/new')} new, {n('archiver/posts/updated')} updated, "
        f"{n('archiver/posts/unchanged')} unchanged, {n('archiver/posts/skipped_known')} known | "
        f"{rate:.1f} pages/s | {fmt_elapsed(elapsed)}"
    )


class _ClearLine(logging.Filter):
    """Before a log record reaches the terminal, wipe the status line it would otherwise extend."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__()
        self.stream = stream

    def filter(self, record: logging.LogRecord) -> bool:
        self.stream.write(CLEAR)
        return True


class Progress:
    def __init__(self, crawler: Crawler, mode: str, interval: float, stream: IO[str]) -> None:
        self.crawler = crawler
        self.mode = mode
        self.interval = interval
        self.stream = stream
        self.task: Any = None
        self.started = time.monotonic()
        self._filtered: list[logging.Handler] = []
        self._filter = _ClearLine(stream)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        settings = crawler.settings
        mode = str(settings.get("ARCHIVER_PROGRESS") or "auto").lower()
        if mode not in MODES:
            raise config.SettingError(f"ARCHIVER_PROGRESS={mode!r} is not one of {', '.join(MODES)}")
        stream = sys.stderr
        if mode == "auto":
            mode = "tty" if stream.isatty() else "log"
        if mode == "off":
            raise NotConfigured("ARCHIVER_PROGRESS=off; set it to auto, tty or log (--progress) for progress output")
        interval = 1.0 if mode == "tty" else settings.getfloat("ARCHIVER_PROGRESS_INTERVAL")
        if interval <= 0:
            raise config.SettingError("ARCHIVER_PROGRESS_INTERVAL must be a positive number of seconds")
        return cls(crawler, mode, interval, stream)

    def queued(self) -> int:
        engine = getattr(self.crawler, "engine", None)
        scheduler = getattr(engine, "scheduler", None)
        downloader = getattr(engine, "downloader", None)
        waiting = len(scheduler) if scheduler is not None and hasattr(scheduler, "__len__") else 0
        return waiting + len(getattr(downloader, "active", ()))

    def line(self) -> str:
        return progress_line(self.crawler.stats.get_stats(), self.queued(), time.monotonic() - self.started)

    def spider_opened(self) -> None:
        self.started = time.monotonic()
        if self.mode == "tty":
            for handler in logging.getLogger().handlers:
                if isinstance(handler, logging.StreamHandler) and getattr(handler, "stream", None) is self.stream:
                    handler.addFilter(self._filter)
                    self._filtered.append(handler)
        self.task = create_looping_call(self.tick)
        self.task.start(self.interval, now=False)

    def tick(self) -> None:
        if self.mode == "tty":
            width = shutil.get_terminal_size((120, 20)).columns
            self.stream.write(CLEAR + self.line()[: max(width - 1, 20)])
            self.stream.flush()
        else:
            logger.info("progress: %s", self.line())

    def spider_closed(self) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        if self.mode == "tty":
            self.stream.write(CLEAR)
            self.stream.flush()
            for handler in self._filtered:
                handler.removeFilter(self._filter)
            self._filtered.clear()

"""``LockExtension``: every crawl, ``scrapy crawl`` included, holds the archive's run lock.

It is the first extension (order -1000): no other component may touch the archive while
another run holds it. A held lock fails the crawl at once and leaves a ``locked`` line in
``runs.jsonl``.
"""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.crawler import Crawler

from archiver.exceptions import LockedError
from archiver.store.lock import acquire, lock_path, record_refused, release

logger = logging.getLogger(__name__)


class LockExtension:
    """Holds the run lock from crawler start-up to engine stop."""

    def __init__(self, crawler: Crawler) -> None:
        self.path = lock_path(crawler.settings.get)
        try:
            self.key = acquire(self.path)
        except LockedError as exc:
            record_refused(crawler.settings.get, exc)  # said by the command that started the crawl
            raise
        logger.info("holding the run lock %s", self.path)
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LockExtension:
        return cls(crawler)

    def engine_stopped(self) -> None:
        release(self.key)

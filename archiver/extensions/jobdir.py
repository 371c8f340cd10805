"""Scrapy's ``JOBDIR`` made safe for runs that may be killed: a resumed queue is one that was saved.

``--jobdir DIR`` keeps a long backfill's queue on disk; stopped with Ctrl-C or SIGTERM, the
crawl saves it and the next run with the same folder resumes. ``JobDirGuard`` covers the
rest: after ``kill -9`` the queue is discarded (the archive itself knows what is done), and
after a finished crawl the job's state is cleared so the folder can serve the next backfill.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

from archiver import config
from archiver.store.atomic import atomic_write, remove_stale_temp_files

logger = logging.getLogger(__name__)


class JobDirAddon:
    """In ``ADDONS``: with ``JOBDIR``, ``JobDirGuard`` is on (a run without one does not build it)."""

    def update_settings(self, settings: BaseSettings) -> None:
        if settings.get("JOBDIR"):
            # First of the extensions after the crawl-wide state: before Scrapy's scheduler reads the queue.
            config.enable(settings, "EXTENSIONS", f"{__name__}.JobDirGuard", -900)


class JobDirGuard:
    """``JOBDIR`` that survives ``kill -9``: an interrupted job's queue is only trusted after a clean stop.

    Scrapy saves the queue's state when the spider closes; after a kill its ``requests.seen``
    names requests that were never done, which a resumed crawl would then filter out. A marker
    file says a run is under way: found at start, it means the last run died, and the job's
    queue and seen-set are discarded -- the archive itself knows what is done. After a crawl
    that finished, the job is complete and its state is cleared, so the folder can be reused.
    """

    MARKER = "archiver-running"
    STATE = ("requests.queue", "requests.seen", "spider.state")

    def __init__(self, crawler: Crawler, jobdir: Path) -> None:
        self.crawler = crawler
        self.jobdir = jobdir
        jobdir.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files(jobdir)
        marker = jobdir / self.MARKER
        if marker.exists():
            logger.warning("JOBDIR %s: the last run did not stop cleanly; its queue is discarded", jobdir)
            self.clear()
            crawler.stats.set_value("archiver/jobdir/discarded", 1)
        atomic_write(marker, b"")
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> JobDirGuard:
        jobdir = crawler.settings.get("JOBDIR")
        if not jobdir:
            raise NotConfigured("no JOBDIR; set it (--jobdir DIR) to keep a backfill's queue across stops")
        return cls(crawler, Path(str(jobdir)))

    def clear(self) -> None:
        for name in self.STATE:
            path = self.jobdir / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)

    def engine_stopped(self) -> None:
        if self.crawler.stats.get_value("finish_reason") == "finished":
            self.clear()
        (self.jobdir / self.MARKER).unlink(missing_ok=True)

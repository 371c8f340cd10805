"""Export: hand each finished article to the exporter, and count what happened to it.

An article the exporter keeps from a better source (``Outcome.KEPT``) counts as unchanged, and as
``archiver/posts/kept_better_source``. An archive that cannot be written (``ArchiveUnwritable``:
disk full, read-only, no permission) stops the run at once (``archiver.crawl.unwritable``): one
line names the path and the OS error, no item is dumped into the log, and the articles still in
flight are left for the next run.
"""

from __future__ import annotations

import logging
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler

from archiver import config
from archiver.crawl import unwritable
from archiver.crawl.archive import ArchiveAtStart
from archiver.crawl.state import shared
from archiver.exceptions import ArchiveUnwritable
from archiver.items import Article
from archiver.store.exporter import ArchiveExporter, Outcome

logger = logging.getLogger(__name__)


class ExportPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.root = config.output_dir(crawler.settings)
        self.fsync = config.flag(crawler.settings, "ARCHIVER_FSYNC")
        self.exporter: ArchiveExporter | None = None
        # One line per post at DEBUG; its record is not even built when the log hides it.
        self.log_each = config.debug_logged(crawler.settings)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExportPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.exporter = ArchiveExporter(self.root, fsync=self.fsync)
        self.exporter.open(shared(self.crawler, ArchiveAtStart).index(self.root))
        self.stats.set_value("archiver/index/posts", len(self.exporter.index))
        logger.info("archive %s holds %d posts", self.root, len(self.exporter.index))

    def close_spider(self) -> None:
        if self.exporter is not None:
            self.exporter.close()

    def process_item(self, item: Any) -> Any:
        assert self.exporter is not None, "open_spider was not called"
        if unwritable.stopped(self.crawler):
            return item  # the run is stopping: not written, so the next run fetches it again
        article = item if isinstance(item, Article) else Article(**ItemAdapter(item).asdict())
        try:
            outcome, path = self.exporter.export(article)
        except ArchiveUnwritable as exc:
            unwritable.stop(self.crawler, exc)
            return item
        if outcome is Outcome.KEPT:
            self.stats.inc_value(f"archiver/posts/{Outcome.UNCHANGED.value}")
        self.stats.inc_value(f"archiver/posts/{outcome.value}")
        if self.log_each:
            logger.debug("%s %s", outcome.value, path)
        return item

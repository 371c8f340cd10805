"""Export: hand each finished article to the exporter, and count what happened to it."""

from __future__ import annotations

import logging
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler

from archiver import config
from archiver.crawl.archive import ArchiveAtStart
from archiver.crawl.state import shared
from archiver.items import Article
from archiver.store.exporter import ArchiveExporter

logger = logging.getLogger(__name__)


class ExportPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.root = config.output_dir(crawler.settings)
        self.fsync = config.flag(crawler.settings, "ARCHIVER_FSYNC")
        self.exporter: ArchiveExporter | None = None

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
        article = item if isinstance(item, Article) else Article(**ItemAdapter(item).asdict())
        outcome, path = self.exporter.export(article)
        self.stats.inc_value(f"archiver/posts/{outcome.value}")
        logger.debug("%s %s", outcome.value, path)
        return item

"""``ArchiveAtStart``: the archive as it was when the crawl started, scanned once for every component.

The exporter and the incremental components both start from it; each takes its own copy
(``index()``), since what the exporter adds during the run must not look archived-before to the
others. An extension, so there is one per crawl (``shared(crawler, ArchiveAtStart)``).
"""

from __future__ import annotations

import time
from pathlib import Path

from scrapy.crawler import Crawler

from archiver import config
from archiver.store.index import ArchiveIndex


class ArchiveAtStart:
    def __init__(self, crawler: Crawler) -> None:
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.root = config.output_dir(crawler.settings)
        self._scans: dict[Path, ArchiveIndex] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveAtStart:
        return cls(crawler)

    def index(self, root: Path | None = None) -> ArchiveIndex:
        """A copy of the index of ``root`` (the output folder by default), scanned on first use."""
        root = root or self.root
        if root not in self._scans:
            started = time.perf_counter()
            self._scans[root] = ArchiveIndex.scan(root)
            self.stats.set_value("archiver/index/seconds", round(time.perf_counter() - started, 4))
        return self._scans[root].copy()

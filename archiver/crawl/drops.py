"""Dropping an item with a reason that stats, logs and the run report all see."""

from __future__ import annotations

from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector

STAT_PREFIX = "archiver/items/dropped"


class ArticleDropped(DropItem):
    """An article that cannot be archived; ``reason`` is a short slug such as ``no_title``."""

    def __init__(self, reason: str, detail: str, url: str | None) -> None:
        super().__init__(f"{reason}: {detail} <{url or '?'}>")
        self.reason = reason
        self.url = url


def drop(stats: StatsCollector, reason: str, detail: str, url: str | None) -> ArticleDropped:
    """Count the drop under ``archiver/items/dropped/<reason>`` and return the exception to raise."""
    stats.inc_value(f"{STAT_PREFIX}/{reason}")
    stats.inc_value(STAT_PREFIX)
    return ArticleDropped(reason, detail, url)

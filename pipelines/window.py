"""Window: a backfill limited by ``--since``/``--until``/``--category`` writes no post outside it.

Requests whose URL shows the day or category are already dropped before they
are fetched (``archiver.crawl.incremental``); this catches the rest, by the
normalized article's own Beijing day and category slug. Filtered posts are
counted (``archiver/posts/out_of_window``, ``archiver/posts/other_category``),
not reported as drops: nothing is wrong with them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector

from archiver.crawl.window import Window
from archiver.format import dates


class WindowPipeline:
    def __init__(self, stats: StatsCollector, window: Window) -> None:
        self.stats = stats
        self.window = window

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WindowPipeline:
        return cls(crawler.stats, Window.from_settings(crawler.settings))

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        when = adapter.get("date")
        if isinstance(when, dt.datetime) and not self.window.day_ok(dates.beijing(when).date()):
            self.stats.inc_value("archiver/posts/out_of_window")
            raise DropItem(f"dated {dates.post_day(when)}, outside the window {self.window}", log_level="DEBUG")
        category = adapter.get("category")
        if self.window.categories and category not in self.window.categories:
            self.stats.inc_value("archiver/posts/other_category")
            raise DropItem(f"category {category!r} is not selected", log_level="DEBUG")
        return item

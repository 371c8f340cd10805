"""Validate: an article without a title, a time or a valid post id is dropped with its reason."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from archiver.crawl.drops import drop
from archiver.format.post import POST_ID


class ValidatePipeline:
    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        return cls(crawler.stats)

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        url = adapter.get("url")
        post_id = adapter.get("post_id")
        if not post_id:
            raise drop(self.stats, "no_post_id", "the page gives no post id", url)
        if not isinstance(post_id, str) or not POST_ID.match(post_id):
            # Post ids become file names: anything but letters and digits could leave the archive folder.
            raise drop(self.stats, "bad_post_id", f"post id {str(post_id)[:80]!r} is not [A-Za-z0-9]+", url)
        title = adapter.get("title")
        if not isinstance(title, str) or not title.strip():
            raise drop(self.stats, "no_title", "the page gives no title", url)
        date = adapter.get("date")
        if date is None or (isinstance(date, str) and not date.strip()):
            raise drop(self.stats, "no_date", "the page gives no publication time", url)
        return item

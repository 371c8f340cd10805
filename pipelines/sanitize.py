"""Sanitize: nothing an archive publishes can run code or carry markup where the layout prints text.

Bodies keep their exact bytes unless they hold something dangerous (see
``archiver.format.sanitize``); titles, tags and category titles are kept free of
markup; a link or footer that leads to ``javascript:`` and the like is left
out. Everything removed is counted under ``archiver/sanitize/removed/<what>``
(``tag/script``, ``attribute/onerror``, ``url/javascript``, ...), rewritten
fields under ``archiver/sanitize/<field>``. A body that sanitizing leaves
empty is dropped (``empty_after_sanitize``), as is a title that was only markup.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from archiver.crawl.drops import drop
from archiver.format import sanitize

logger = logging.getLogger(__name__)

STAT_PREFIX = "archiver/sanitize"
# Links a post may end with: what kramdown turns into an autolink.
LINK_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "mailto"})


class SanitizePipeline:
    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SanitizePipeline:
        return cls(crawler.stats)

    def _count(self, field: str, removed: Counter[str], url: str | None) -> None:
        self.stats.inc_value(f"{STAT_PREFIX}/{field}")
        for key, count in removed.items():
            self.stats.inc_value(f"{STAT_PREFIX}/removed/{key}", count)
            self.stats.inc_value(f"{STAT_PREFIX}/removed", count)
        logger.warning(
            "sanitized the %s of %s: removed %s", field, url, ", ".join(f"{k} x{n}" for k, n in removed.items())
        )

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        url = adapter.get("url")
        title = sanitize.sanitize_title(adapter.get("title") or "")
        if title.changed:
            self._count("title", title.removed, url)
            if not title.text.strip():
                raise drop(self.stats, "no_title", "the title is only markup", url)
            adapter["title"] = title.text
        tags = [sanitize.sanitize_tag(tag) for tag in adapter.get("tags") or []]
        if any(tag.changed for tag in tags):
            self._count("tags", sum((tag.removed for tag in tags), Counter()), url)
            adapter["tags"] = [tag.text for tag in tags]
        if category_title := adapter.get("category_title"):
            adapter["category_title"] = sanitize.sanitize_tag(category_title).text
        link = adapter.get("link")
        if link and sanitize.url_scheme(link) not in LINK_SCHEMES:
            self._count("link", Counter({f"url/{sanitize.url_scheme(link)}": 1}), url)
            adapter["link"] = None
        footer = adapter.get("footer")
        if footer and (found := sanitize.findings(footer)):
            self._count("footer", found, url)
            adapter["footer"] = None
        body = adapter.get("body") or ""
        cleaned = sanitize.sanitize_body(body)
        if cleaned.changed:
            self._count("body", cleaned.removed, url)
            if sanitize.is_blank_html(cleaned.text) and not sanitize.is_blank_html(body):
                raise drop(self.stats, "empty_after_sanitize", "nothing is left of the body once sanitized", url)
            adapter["body"] = cleaned.text.strip()
        return item

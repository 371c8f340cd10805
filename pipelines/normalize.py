"""Normalize: times to aware Beijing datetimes, text trimmed, slug and tags filled by site-independent rules."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector
from w3lib.url import safe_url_string

from archiver.crawl.drops import drop
from archiver.format import dates
from archiver.format.slug import is_valid_slug, slugify

# Lone surrogates stand for bytes lost in decoding; they cannot be written as UTF-8.
_SURROGATES = re.compile(r"[\ud800-\udfff]")
# A title or name is one line: controls and line breaks inside it become spaces.
_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


# A URL made only of URL characters is kept exactly as the page gave it (safe_url_string would
# also lower-case hosts and drop an empty query); anything else, white space, `<`, `>`, quotes or
# non-ASCII, would cut an autolink short or change it, and is percent-encoded.
_URL_CHARACTERS = re.compile(r"^[a-z][a-z0-9+.-]*:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$", re.I)


def safe_url(value: str) -> str:
    """``value`` with what an autolink cannot hold percent-encoded."""
    return value if _URL_CHARACTERS.match(value) else safe_url_string(value)


def clean_text(value: str) -> str:
    return _SURROGATES.sub("\ufffd", value)


def clean_line(value: str) -> str:
    return _LINE_BREAKING.sub(" ", clean_text(value)).strip()


class NormalizePipeline:
    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalizePipeline:
        return cls(crawler.stats)

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        url = adapter.get("url")
        adapter["date"] = self._date(adapter.get("date"), url)
        adapter["title"] = clean_line(adapter["title"])
        if not adapter["title"]:
            raise drop(self.stats, "no_title", "the title is only white space or control characters", url)
        media = adapter.get("media")
        adapter["media"] = clean_line(media) if media else None
        adapter["category"] = self._category(adapter.get("category"), adapter["media"])
        tags = [clean_line(tag) for tag in adapter.get("tags") or []]
        adapter["tags"] = [tag for tag in tags if tag]
        title = adapter.get("category_title")
        adapter["category_title"] = clean_line(title) if title else (adapter["tags"][0] if adapter["tags"] else None)
        adapter["body"] = clean_text(adapter.get("body") or "").strip()
        for key in ("link", "share_url"):
            if adapter.get(key):
                # An autolink ends at white space or `>`: percent-encode what would cut it short.
                adapter[key] = safe_url(clean_line(adapter[key]))
        if adapter.get("footer"):
            adapter["footer"] = clean_text(adapter["footer"]).strip()
        return item

    def _date(self, value: Any, url: str | None) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return dates.beijing(value)
        try:
            return dates.parse_time(str(value))
        except dates.DateError as exc:
            raise drop(self.stats, "bad_date", str(exc), url) from None

    @staticmethod
    def _category(category: str | None, media: str | None) -> str | None:
        if category and is_valid_slug(category):
            return category
        # A slug with white space or path characters is the site generator's defect: re-slug it.
        for source in (category, media):
            if source and (slug := slugify(source)):
                return slug
        return None

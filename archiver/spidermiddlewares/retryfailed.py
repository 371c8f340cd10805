"""``RetryFailedPages``: a spider middleware that asks again, after the start requests, what failed last run.

The requests come from ``<output>/.archiver/retry.json``, written by the failure log
(``archiver.crawl.failures``) when a run ends: a failed listing is tried again even when an
incremental run no longer reaches it through the posts it knows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from scrapy.crawler import Crawler
from scrapy.http import Request

from archiver import config
from archiver.crawl.failures import RETRY_FILE

logger = logging.getLogger(__name__)


class RetryFailedPages:
    """A spider middleware: after the start requests, the requests that failed in the last run."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryFailedPages:
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        walks_site = False
        async for item in start:
            # Only a crawl of the site retries: a targeted crawl (share URLs) stays targeted.
            walks_site = walks_site or (isinstance(item, Request) and bool(item.meta.get("archiver_listing")))
            yield item
        path = config.state_dir(self.crawler.settings) / RETRY_FILE
        if not walks_site or not path.exists():
            return
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            logger.warning("cannot read the pages to retry from %s: %s", path, exc)
            return
        spider = self.crawler.spider
        count = 0
        for entry in entries if isinstance(entries, list) else []:
            callback = getattr(spider, str(entry.get("callback")), None)
            errback = getattr(spider, str(entry.get("errback")), None) if entry.get("errback") else None
            if not callable(callback) or not isinstance(entry.get("url"), str):
                continue
            count += 1
            yield Request(entry["url"], callback=callback, errback=errback, meta=dict(entry.get("meta") or {}))
        self.crawler.stats.set_value("archiver/pages/retried_from_last_run", count)
        logger.info("%d pages that failed in the last run are requested again", count)

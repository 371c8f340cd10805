"""Stopping a run that cannot write its archive: disk full, read-only, no permission, quota, size limit.

Every archive write goes through ``archiver.store.atomic.atomic_write``, which raises
``ArchiveUnwritable`` on such errors. Whoever catches it (the export pipeline, the page store's
middleware, the failure log) calls ``stop``: the message goes into the stat
``archiver/archive_unwritable`` (where the runner and the run report find it), one error line
goes to the log, and the spider is closed at once with the finish reason ``archive_unwritable``
-- fetching the rest of the site would only fill the log. ``stopped`` tells components to skip
writes from then on (items still in flight are left for the next run).
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_from_coro

from archiver.exceptions import ArchiveUnwritable

logger = logging.getLogger(__name__)

STAT = "archiver/archive_unwritable"
FINISH_REASON = "archive_unwritable"


def stop(crawler: Crawler, error: ArchiveUnwritable) -> None:
    """Record ``error``, log it in one line, and close the spider (once, whoever calls first)."""
    stats = crawler.stats
    if stats is None or stats.get_value(STAT):
        return
    stats.set_value(STAT, str(error))
    logger.error("%s; stopping the run (nothing half-written; the next run completes the archive)", error)
    try:
        engine = crawler.engine
    except RuntimeError:  # no engine yet: the stat alone makes the run fail
        return
    if engine is None or engine.spider is None:
        return
    deferred_from_coro(engine.close_spider_async(reason=FINISH_REASON)).addErrback(_ignore)


def stopped(crawler: Crawler) -> bool:
    """True once the run was stopped for an unwritable archive."""
    return bool(crawler.stats is not None and crawler.stats.get_value(STAT))


def message(stats: dict[str, Any]) -> str | None:
    """The one line of a run that could not write its archive, from its stats; None for other runs."""
    value = stats.get(STAT)
    return str(value) if value else None


def _ignore(failure: Any) -> None:
    logger.debug("closing the spider after an unwritable archive: %s", failure.getErrorMessage())

"""Incremental, change-aware crawling: the archive decides what is fetched again.

Spiders mark their requests with what the URL tells (``request.meta``):

- ``archiver_post_id``, ``archiver_post_day`` (``YYYY-MM-DD``, Beijing): a post's page or share page;
- ``archiver_listing``: a listing page (home, category), always revalidated and remembered;
- ``archiver_category``: the category slug the URL names, for ``--category``.

``IncrementalState`` (an extension; ``crawler.get_extension(IncrementalState)``) holds what the
incremental components of one crawl share: the archive index, the backfill window, the page
store, and the rule ``skip(meta)``:

- a request whose day or category is outside the backfill window is not made;
- a post already in the archive (``archiver.store.index``) whose day is older than the recheck
  window (``ARCHIVER_RECHECK_DAYS``) is neither requested nor rewritten (``skipped_known``);
- everything else that has a stored copy is revalidated with a conditional request.

The components that apply it: ``archiver.spidermiddlewares.incremental`` (before requests are
scheduled; it also re-requests remembered listings) and ``archiver.downloadermiddlewares.incremental``
(conditional headers, the stored page for a 304). Spiders ask ``wanted()`` before building a
request at all. What the rule dismisses while a listing is read is recorded (``Dismissals``), so
that a listing that led to nothing wanted is marked settled and, answered 304 later, not read
again while its posts stay archived and old (``archiver.spidermiddlewares.incremental``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from archiver import config
from archiver.crawl import unwritable
from archiver.crawl.archive import ArchiveAtStart
from archiver.crawl.sitehealth import META_SITE_CHANGED
from archiver.crawl.state import shared
from archiver.crawl.window import Window, beijing_today, parse_day
from archiver.exceptions import ArchiveUnwritable
from archiver.store.index import ArchiveIndex
from archiver.store.pagestore import LISTING, PageStore, StoredPage

logger = logging.getLogger(__name__)

META_POST_ID = "archiver_post_id"
META_POST_DAY = "archiver_post_day"
META_CATEGORY = "archiver_category"
META_LISTING = "archiver_listing"
# A fetched page waiting for the spider's verdict before it is stored (keep_when_read/commit).
META_PENDING_PAGE = "archiver_store_pending"


class Dismissals:
    """What the rule dismissed while one listing page was being read (``IncrementalState.dismissals``).

    ``posts``: the ids of archived posts older than the recheck window -- dismissed by every later
    crawl too, as long as they stay archived and the window only moves forward; ``other``: something
    was dismissed for a reason of this crawl alone (``--since``, ``--until``, ``--category``).
    """

    __slots__ = ("other", "posts")

    def __init__(self) -> None:
        self.posts: list[str] = []
        self.other = False


def page_store(settings: BaseSettings) -> PageStore:
    return PageStore(config.state_dir(settings) / "pages", fsync=config.flag(settings, "ARCHIVER_FSYNC"))


class IncrementalState:
    """What the incremental components of one crawl share: the archive index, the window, the store.

    An extension, so there is one per crawler; it opens at ``spider_opened``.
    """

    def __init__(self, crawler: Crawler) -> None:
        assert crawler.stats is not None
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.root = config.output_dir(settings)
        self.enabled = config.flag(settings, "ARCHIVER_INCREMENTAL")
        self.recheck_days = config.positive_int(settings, "ARCHIVER_RECHECK_DAYS", minimum=0)
        self.window = Window.from_settings(settings)
        self.store = page_store(settings)
        self.index = ArchiveIndex(self.root)
        self.cutoff = beijing_today()
        self._skipped: set[str] = set()
        # Set by the incremental spider middleware while a listing's callback runs (synchronously):
        # what ``skip`` dismisses meanwhile is that listing's (see ``Dismissals``).
        self.dismissals: Dismissals | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalState:
        return cls(crawler)

    def spider_opened(self) -> None:
        self.store.open()
        self.cutoff = beijing_today() - dt.timedelta(days=self.recheck_days)
        if self.enabled:
            self.index = shared(self.crawler, ArchiveAtStart).index(self.root)
            logger.info(
                "incremental: %d archived posts indexed in %.3f s; posts dated before %s are not fetched again",
                len(self.index),
                self.stats.get_value("archiver/index/seconds", 0.0),
                self.cutoff,
            )
        if self.window != Window():
            logger.info("backfill window: %s", self.window)

    def spider_closed(self) -> None:
        try:
            removed = self.store.prune(self.cutoff)
        except OSError as exc:  # a read-only archive: the next run prunes (archiver.crawl.unwritable)
            logger.warning("page store: cannot remove the pages of old days: %s", exc)
            return
        if removed:
            logger.debug("page store: %d pages of days before %s removed", removed, self.cutoff)

    def skip(self, meta: Any) -> str | None:
        """Why a request with this meta is not to be made (counted in the stats), or None."""
        category = meta.get(META_CATEGORY)
        if not self.window.category_ok(category):
            self.stats.inc_value("archiver/requests/skipped/category")
            if self.dismissals is not None:
                self.dismissals.other = True
            return f"category {category} is not selected"
        day = parse_day(meta.get(META_POST_DAY))
        if day is not None and not self.window.day_ok(day):
            self.stats.inc_value("archiver/requests/skipped/out_of_window")
            if self.dismissals is not None:
                self.dismissals.other = True
            return f"post day {day} is outside the window"
        post_id = meta.get(META_POST_ID)
        if not (self.enabled and post_id):
            return None
        known = self.index.get(str(post_id))
        if known is None or known.day >= self.cutoff:
            return None
        if self.dismissals is not None:
            self.dismissals.posts.append(str(post_id))
        self._count_known(str(post_id))
        return f"post {post_id} is archived and older than the recheck window"

    def _count_known(self, post_id: str) -> None:
        if post_id not in self._skipped:
            self._skipped.add(post_id)
            self.stats.inc_value("archiver/posts/skipped_known")

    def all_known(self, post_ids: list[str]) -> bool:
        """Whether every one of these posts is archived and older than the recheck window: not wanted."""
        if not self.enabled:
            return False
        entries, cutoff = self.index.entries, self.cutoff
        for post_id in post_ids:
            known = entries.get(post_id)
            if known is None or known.day >= cutoff:
                return False
        return True

    def dismiss_known(self, post_ids: list[str]) -> None:
        """Count these posts as dismissed (``skipped_known``), as if a listing had been read and each asked for."""
        for post_id in post_ids:
            self._count_known(post_id)

    def keep_when_read(self, meta: Any, bucket: str, page: StoredPage) -> None:
        """Store ``page`` once the spider has read its response without finding the site changed.

        The downloader middleware holds a fetched page here instead of saving it at once; the
        spider middleware calls ``commit()`` when the callback is done. So a page the spider found
        changed (``archiver.crawl.sitehealth``: an anti-bot wall, a theme change) never replaces
        the good copy a listing's next conditional request and its 304 answer rely on.
        """
        meta[META_PENDING_PAGE] = (bucket, page)

    def commit(self, meta: Any) -> None:
        """Save the page held for this response, unless the spider found it changed."""
        pending = meta.pop(META_PENDING_PAGE, None)
        if pending is None:
            return
        if meta.get(META_SITE_CHANGED):
            self.stats.inc_value("archiver/store/not_saved/site_changed")
            return
        try:
            self.store.save(*pending)
        except ArchiveUnwritable as exc:  # the run stops at once (archiver.crawl.unwritable)
            unwritable.stop(self.crawler, exc)

    def bucket(self, meta: Any) -> str | None:
        """Where the page of a request is kept for revalidation, or None when it is not worth keeping."""
        if not self.enabled:
            return None
        if meta.get(META_LISTING):
            return LISTING
        post_id = meta.get(META_POST_ID)
        if not post_id:
            return None
        day = parse_day(meta.get(META_POST_DAY))
        if day is None and (known := self.index.get(str(post_id))) is not None:
            day = known.day
        # Only pages that a later crawl will revalidate.
        return day.isoformat() if day is not None and day >= self.cutoff else None


def wanted(crawler: Crawler | None) -> Callable[[Any], bool]:
    """For spiders: whether a request with a given meta is worth building at all.

    The same rule, with the same stats, as the incremental spider middleware applies to the
    request once built; a spider that asks first saves building (and the middleware dropping)
    a request for every known post of a listing -- most of a re-run's work. Asked once per page,
    it returns the test to apply to each link. It wants everything when the incremental
    components are not enabled for this crawl, or there is no crawl (None).
    """
    if crawler is None:
        return _everything
    try:
        state = crawler.get_extension(IncrementalState)
    except RuntimeError:  # the crawl's extensions are not built yet (a spider made outside a crawl)
        return _everything
    if state is None:
        return _everything
    return lambda meta: state.skip(meta) is None


def _everything(meta: Any) -> bool:
    return True

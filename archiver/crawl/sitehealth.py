"""``SiteHealth``: what a crawl found changed on the site it reads, kept apart from transient faults.

A spider declares what its site's pages look like as ``Expectation`` objects (one per way a
page of a class can fail to look like the site: ``post``/``no_title``, ``home``/``no_post_links``,
...), checks each page it reads against them, and reports the result here with ``check()``. This
extension counts the pages checked and the pages found changed, per page class and finding, in
the crawl's stats, sends ``archiver.signals.site_changed`` once per page finding, and marks the
response so that its copy is not saved in the page store (a changed page never replaces a good
stored one). Nothing here knows a site: a second site is a second set of expectations.

Stats (read by the run report, the summary line, ``archiver status`` and the monitors):

- ``archiver/site/checked/<page_class>``: pages of that class checked;
- ``archiver/site/changed/<page_class>/<finding>``: pages of that class with that finding;
- ``archiver/site/changed``: the number of distinct (page class, finding) kinds found;
- ``archiver/site/example/<page_class>/<finding>``, ``archiver/site/description/<page_class>/<finding>``:
  the first page's URL, and what the finding means (one sentence).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from scrapy.crawler import Crawler
from scrapy.http import Response

from archiver import signals as archiver_signals
from archiver.store.runlog import SITE_CHANGED_KINDS as CHANGED_KINDS
from archiver.store.runlog import SITE_CHANGED_PREFIX as CHANGED_PREFIX
from archiver.store.runlog import SITE_CHECKED_PREFIX as CHECKED_PREFIX
from archiver.store.runlog import SITE_DESCRIPTION_PREFIX as DESCRIPTION_PREFIX
from archiver.store.runlog import SITE_EXAMPLE_PREFIX as EXAMPLE_PREFIX

logger = logging.getLogger(__name__)

# Set on a response's meta when the page was found changed: its copy is not stored.
META_SITE_CHANGED = "archiver_site_changed"
# Set by whoever makes a request for a URL that no page of the site linked (a web archive's CDX
# listing): such a URL may name any leftover of the site's past (a soft 404 the archive captured, a
# file the generator broke), so a page of it that is not a page of the site at all tells nothing
# about the site's pages today and is dropped, not reported as a change.
META_UNLINKED = "archiver_unlinked"
STAT_UNLINKED_FOREIGN = "archiver/site/unlinked_foreign/"


@dataclass(frozen=True)
class Expectation:
    """One way a page of a class can fail to be what the site makes: a finding, and what it means.

    ``phrase`` completes "N of M <page_class> pages ..." (e.g. "have no title: no <h1> inside <section>").
    """

    page_class: str
    finding: str
    phrase: str
    # The page is not a page of the site at all (no layout of it): a wall, a parking or error page.
    foreign: bool = False

    @property
    def description(self) -> str:
        return f"{self.page_class} pages {self.phrase}"


class SiteHealth:
    """The crawl's findings of site changes: counted in the stats, signalled, and kept out of the page store."""

    def __init__(self, crawler: Crawler) -> None:
        assert crawler.stats is not None
        self.crawler = crawler
        self.stats = crawler.stats
        self.kinds: set[tuple[str, str]] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SiteHealth:
        return cls(crawler)

    def check(self, page_class: str, response: Response | None, url: str, findings: Iterable[Expectation]) -> bool:
        """Count one page of ``page_class`` checked, and each of its findings; True when it has none.

        A page with findings is marked (``META_SITE_CHANGED``) on ``response`` so that its copy is
        not saved in the page store; the spider must then not archive anything from it.
        """
        self.stats.inc_value(CHECKED_PREFIX + page_class)
        findings = list(findings)
        if findings and response is not None and response.meta.get(META_UNLINKED) and all(f.foreign for f in findings):
            self.stats.inc_value(STAT_UNLINKED_FOREIGN + page_class)
            logger.warning("%s, and no page of the site links it: dropped, not a site change: %s",
                           findings[0].description, url)  # fmt: skip
            return False
        found = False
        for expectation in findings:
            found = True
            self._changed(expectation, url)
        if found and response is not None and response.request is not None:
            response.meta[META_SITE_CHANGED] = True
        return not found

    def _changed(self, expectation: Expectation, url: str) -> None:
        key = f"{expectation.page_class}/{expectation.finding}"
        self.stats.inc_value(CHANGED_PREFIX + key)
        kind = (expectation.page_class, expectation.finding)
        if kind not in self.kinds:
            self.kinds.add(kind)
            self.stats.set_value(CHANGED_KINDS, len(self.kinds))
            self.stats.set_value(EXAMPLE_PREFIX + key, url)
            self.stats.set_value(DESCRIPTION_PREFIX + key, expectation.description)
            logger.error("the site changed: %s (e.g. %s); nothing is archived from them", expectation.description, url)
        else:
            logger.debug("site change: %s: %s", expectation.description, url)
        self.crawler.signals.send_catch_log(
            signal=archiver_signals.site_changed,
            page_class=expectation.page_class,
            finding=expectation.finding,
            url=url,
            description=expectation.description,
        )

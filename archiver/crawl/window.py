"""The backfill window: the Beijing days and category slugs a crawl is limited to.

``--since``, ``--until`` and ``--category`` (``ARCHIVER_SINCE``, ``ARCHIVER_UNTIL``,
``ARCHIVER_CATEGORIES``): requests whose URL shows a day or category outside it are not made
(``archiver.crawl.incremental``), and articles outside it are not written (the window pipeline).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archiver.exceptions import SettingError
from archiver.format import dates

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings


def parse_day(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def beijing_today() -> dt.date:
    return dt.datetime.now(dates.BEIJING).date()


@dataclass(frozen=True)
class Window:
    """The backfill window: days (Beijing, inclusive) and category slugs a crawl is limited to."""

    since: dt.date | None = None
    until: dt.date | None = None
    categories: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Window:
        bounds = []
        for name in ("ARCHIVER_SINCE", "ARCHIVER_UNTIL"):
            raw = settings.get(name)
            day = parse_day(raw)
            if raw and day is None:
                raise SettingError(f"{name}={raw!r} is not a date: use YYYY-MM-DD (Beijing time)")
            bounds.append(day)
        since, until = bounds
        if since and until and since > until:
            raise SettingError(f"ARCHIVER_SINCE={since} is after ARCHIVER_UNTIL={until}")
        categories = frozenset(c.strip() for c in settings.getlist("ARCHIVER_CATEGORIES") if c.strip())
        return cls(since, until, categories)

    def day_ok(self, day: dt.date) -> bool:
        return (self.since is None or day >= self.since) and (self.until is None or day <= self.until)

    def category_ok(self, category: str | None) -> bool:
        return not self.categories or category is None or category in self.categories

    def __str__(self) -> str:
        parts = [f"since {self.since}" if self.since else "", f"until {self.until}" if self.until else ""]
        if self.categories:
            parts.append("categories " + ",".join(sorted(self.categories)))
        return " ".join(p for p in parts if p) or "everything"

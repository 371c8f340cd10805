"""``MonitorsLoader``: spidermon's extension, started only when ``SPIDERMON_ENABLED`` is set.

Scrapy imports every class named in ``EXTENSIONS``, so spidermon's own extension cannot be
listed there for a project whose ``[monitor]`` extra is optional. This loader is listed instead:
off, it raises ``NotConfigured`` before importing anything of spidermon; on, it validates the
archiver's monitor settings and returns spidermon's extension built from the crawler, so
spidermon runs with nothing but its own settings. A misconfigured action (spidermon raises its own
``NotConfigured``, which Scrapy would not catch) or a missing spidermon is a ``SettingError``:
exit 64 before anything is fetched.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

from archiver import config
from archiver.exceptions import SettingError
from archiver.store.health import parse_duration

SPIDERMON_EXTENSION = "spidermon.contrib.scrapy.extensions.Spidermon"


class MonitorsLoader:
    """Not an extension itself: ``from_crawler`` returns spidermon's, or disables itself."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        settings = crawler.settings
        if not config.flag(settings, "SPIDERMON_ENABLED"):
            raise NotConfigured  # without a message: Scrapy would log a warning for it in every run
        if SPIDERMON_EXTENSION in settings.getdict("EXTENSIONS"):
            raise NotConfigured("spidermon's extension is listed in EXTENSIONS: it runs by itself")
        max_quiet(settings)  # a bad value stops the crawl before it starts
        config.positive_int(settings, "ARCHIVER_MONITOR_MAX_FAILED", minimum=0)
        try:
            from spidermon.contrib.scrapy.extensions import Spidermon
            from spidermon.exceptions import NotConfigured as ActionNotConfigured
        except ImportError as exc:
            raise SettingError(
                f"SPIDERMON_ENABLED is set but spidermon cannot be imported ({exc}): pip install 'archiver[monitor]'"
            ) from None
        # spidermon 1.27 writes its report with Spider.log(), deprecated in Scrapy 2.13: one warning
        # per run in every cron mail, about spidermon's code, not the archive.
        warnings.filterwarnings("ignore", r"Spider\.log\(\) is deprecated", module=r"spidermon\.")
        try:
            return Spidermon.from_crawler(crawler)
        except ActionNotConfigured as exc:
            raise SettingError(f"spidermon: {exc}") from None
        except ImportError as exc:  # an action whose package is missing (slack-sdk, sentry-sdk)
            raise SettingError(f"spidermon: an action cannot be imported ({exc}); see the README") from None


def max_quiet(settings: BaseSettings) -> dt.timedelta | None:
    """``ARCHIVER_MONITOR_MAX_QUIET``: a duration (``12h``, ``2d``, seconds as a number), or None when unset."""
    raw = settings.get("ARCHIVER_MONITOR_MAX_QUIET")
    if raw in (None, "", 0, "0"):
        return None
    try:
        return parse_duration(str(raw))
    except ValueError as exc:
        raise SettingError(f"ARCHIVER_MONITOR_MAX_QUIET: {exc}") from None

"""The switch to distributed crawling on scrapy-redis: ``RedisAddon`` and the Redis settings.

Nothing here imports Redis unless a Redis URL is given:

- ``RedisAddon`` (listed in ``ADDONS``): when ``ARCHIVER_REDIS_URL`` is set, the scheduler and the
  duplicate filter become scrapy-redis's (``archiver.distributed.scheduler.RunScheduler``), so any number of
  worker processes, on any number of machines, started with the same URL and spider share one
  request queue and one duplicate filter: every request is fetched by one worker only. Without
  the URL the add-on does nothing and Scrapy's own scheduler runs.
- the settings it checks: ``redis_url``, ``idle_timeout``, ``run_keys``.

N worker processes on one machine are started by ``archiver.running.workers``.

How workers write the archive: all of them write into the same output tree, through the same
exporter, which writes every file atomically (a temporary name carrying the writer's pid, then
a rename). A post page is fetched by one worker only, so one post is written by one worker;
category pages may be written by several, always with the same bytes. On several machines the
output folder must be one shared folder (an NFS mount, say).
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any
from urllib.parse import urlsplit

from scrapy.settings import BaseSettings
from scrapy.utils.misc import load_object

from archiver import config
from archiver.distributed.sharedlock import SharedRunLock
from archiver.extensions.lock import LockExtension

logger = logging.getLogger(__name__)

REDIS_SCHEMES = ("redis", "rediss", "unix")
INSTALL_HINT = "pip install 'archiver[redis]' (scrapy-redis and redis)"


# --- the settings switch --------------------------------------------------------------------------
def redis_url(settings: BaseSettings) -> str:
    """``ARCHIVER_REDIS_URL``, checked; empty when distributed crawling is off."""
    url = str(settings.get("ARCHIVER_REDIS_URL") or "").strip()
    if url and urlsplit(url).scheme not in REDIS_SCHEMES:
        raise config.SettingError(
            f"ARCHIVER_REDIS_URL={redact(url)!r} is not a Redis URL: use redis://host:6379/0 (or rediss://, unix://)"
        )
    return url


def idle_timeout(settings: BaseSettings) -> float:
    """``ARCHIVER_REDIS_IDLE_TIMEOUT``: seconds the whole run must stay idle before the workers stop."""
    value = config.number(settings, "ARCHIVER_REDIS_IDLE_TIMEOUT")
    if value > 3600:
        raise config.SettingError(f"ARCHIVER_REDIS_IDLE_TIMEOUT={value} must be between 0 and 3600 seconds")
    return value


def expected_workers(settings: BaseSettings) -> int:
    """``ARCHIVER_REDIS_WORKERS``: how many workers the run has, when one command starts them all (else 0)."""
    return config.positive_int(settings, "ARCHIVER_REDIS_WORKERS", minimum=0)


def run_keys(settings: BaseSettings | dict[str, Any], spider: str) -> dict[str, str]:
    """The Redis keys of a run of ``spider``: ``ARCHIVER_REDIS_KEY`` (``archiver:<spider>``) plus a suffix."""
    template = str(settings.get("ARCHIVER_REDIS_KEY") or "archiver:%(spider)s")
    try:
        base = template % {"spider": spider}
    except (KeyError, ValueError, TypeError):
        raise config.SettingError(f"ARCHIVER_REDIS_KEY={template!r}: only %(spider)s may be substituted") from None
    names = ("requests", "dupefilter", "workers", "busy", "captures", "joined")
    return {"base": base, **{name: f"{base}:{name}" for name in names}}


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


class RedisAddon:
    """Switches the scheduler to scrapy-redis when ``ARCHIVER_REDIS_URL`` is set; otherwise does nothing."""

    def update_settings(self, settings: BaseSettings) -> None:
        url = redis_url(settings)
        if not url:
            return
        # Looked up, not imported: the scheduler imports them when Scrapy builds it.
        for name in ("redis", "scrapy_redis"):
            if importlib.util.find_spec(name) is None:
                raise config.SettingError(f"ARCHIVER_REDIS_URL is set but {name} is missing: {INSTALL_HINT}")
        if settings.get("JOBDIR"):
            raise config.SettingError("JOBDIR and ARCHIVER_REDIS_URL: the Redis queue replaces JOBDIR; unset one")
        idle_timeout(settings)
        expected_workers(settings)
        keys = run_keys(settings, "%(spider)s")
        _share_the_run_lock(settings)
        # "addon" priority: below the project's settings and the command line, above Scrapy's defaults.
        for name, value in {
            "SCHEDULER": "archiver.distributed.scheduler.RunScheduler",
            "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
            "REDIS_URL": url,
            # The run protocol of archiver.distributed.scheduler clears the keys; scrapy-redis must never flush them.
            "SCHEDULER_PERSIST": True,
            "SCHEDULER_FLUSH_ON_START": False,
            "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
            "SCHEDULER_QUEUE_KEY": keys["requests"],
            "SCHEDULER_DUPEFILTER_KEY": keys["dupefilter"],
        }.items():
            settings.set(name, value, priority="addon")
        logger.info("distributed crawl: scheduler and duplicate filter on Redis %s", redact(url))


def _share_the_run_lock(settings: BaseSettings) -> None:
    extensions = settings.getdict("EXTENSIONS")
    if any(value is not None and _loads(key) is LockExtension for key, value in extensions.items()):
        settings.replace_in_component_priority_dict("EXTENSIONS", LockExtension, SharedRunLock)


def _loads(path: Any) -> Any:
    try:
        return load_object(path)
    except (ImportError, NameError, ValueError):
        return None

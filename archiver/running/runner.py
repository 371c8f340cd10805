"""Running one crawl in this process, as the command line and distributed workers do.

The run lock is taken before Scrapy starts, so a second run exits at once;
the crawl's outcome becomes one of the documented exit codes, and its stats
one summary line.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archiver import settings as defaults
from archiver.downloadhandlers import client
from archiver.exceptions import ArchiveUnwritable, LockedError, SettingError, UsageError
from archiver.running import startup
from archiver.running.exitcodes import ExitCode
from archiver.store import lock, runlog
from archiver.store.atomic import UNWRITABLE

if TYPE_CHECKING:
    from scrapy.settings import Settings
    from twisted.python.failure import Failure


def setting_getter(overrides: dict[str, Any]) -> Callable[[str], Any]:
    """A settings lookup for before Scrapy starts: the command line's overrides, else the defaults."""
    return lambda name: overrides[name] if name in overrides else getattr(defaults, name, None)


def take_lock(overrides: dict[str, Any]) -> Path:
    """Take the run lock before Scrapy even starts: a second run exits at once (``LockedError``)."""
    get = setting_getter(overrides)
    path = lock.lock_path(get)
    try:
        return lock.acquire(path)
    except LockedError as exc:
        lock.record_refused(get, exc)
        raise
    except OSError as exc:
        if exc.errno in UNWRITABLE:  # a full, read-only or forbidden archive: exit 1, as any write there
            raise ArchiveUnwritable(path, exc) from None
        raise UsageError(f"cannot take the run lock {path}: {exc.strerror}; check --output and --lock") from None


def run_crawl(spider: str, overrides: dict[str, Any], spider_args: dict[str, Any]) -> tuple[ExitCode, dict[str, Any]]:
    """Run one crawl in this process, holding the run lock; returns the exit code and the crawl's stats."""
    # A worker of a distributed run shares the lock instead, from Scrapy on (archiver.distributed.sharedlock).
    key = None if setting_getter(overrides)("ARCHIVER_REDIS_URL") else take_lock(overrides)
    try:
        return _run_crawl(spider, overrides, spider_args)
    finally:
        if key is not None:
            lock.release(key)


def crawl_settings(overrides: dict[str, Any]) -> Settings:
    """The project's settings with the command line's ``overrides`` on top, as a crawl of this process gets them."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "archiver.settings")
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    for name, value in overrides.items():
        settings.set(name, value, priority="cmdline")
    if client.uses_twisted(settings):
        # Before anything deep: these modules call inspect.stack() when imported, whose cost grows
        # with the depth of the stack and the number of modules loaded (tens of ms from inside the engine).
        import scrapy.core.downloader.contextfactory  # noqa: F401
    return settings


def _run_crawl(spider: str, overrides: dict[str, Any], spider_args: dict[str, Any]) -> tuple[ExitCode, dict[str, Any]]:
    failure: list[BaseException] = []
    # What exists after the start-up (modules, settings, the crawler and its components) lives as
    # long as the process: built without collections, then moved out of the collector's
    # generations, it is not walked by every full collection of the crawl either (2-5 % less CPU
    # on a crawl of 3,000 posts, lower in each of 7 pairs).
    with startup.collector_paused():
        settings = crawl_settings(overrides)
        from scrapy.crawler import CrawlerProcess

        process = CrawlerProcess(settings)
        try:
            crawler = process.create_crawler(spider)
        except KeyError:
            raise UsageError(f"no spider named {spider!r}") from None
        process.crawl(crawler, **spider_args).addErrback(lambda reason: failure.append(error_of(reason)))
    process.start()
    try:
        stats = crawler.stats.get_stats()
    except RuntimeError:  # a crawl that failed before it started (a bad spider argument) has no stats
        stats = {}
    if failure:
        error = failure[0]
        if isinstance(error, LockedError | UsageError | ArchiveUnwritable):
            raise error
        if isinstance(error, SettingError):
            raise UsageError(str(error)) from None
        raise RuntimeError(f"{type(error).__name__}: {error}") from None
    return outcome(stats), stats


def error_of(reason: Failure) -> BaseException:
    """The exception a crawl's start failed with, from the Deferred's failure."""
    return reason.value if reason.value is not None else RuntimeError(reason.getErrorMessage())


def outcome(stats: dict[str, Any]) -> ExitCode:
    """The exit code of a crawl that ran, from its stats (``archiver crawl`` and ``scrapy crawl`` alike)."""
    # archiver/archive_unwritable (archiver.crawl.unwritable.STAT): also set by a write failing at close.
    if stats.get("finish_reason") not in ("finished", None) or stats.get("archiver/archive_unwritable"):
        return ExitCode.ERROR
    # ERROR > SITE_CHANGED > PAGES_FAILED > OK: a changed site outlasts any retry.
    if runlog.site_changes(stats):
        return ExitCode.SITE_CHANGED
    if stats.get("archiver/pages/failed", 0):
        return ExitCode.PAGES_FAILED
    return ExitCode.OK


def failure_code(error: BaseException) -> ExitCode:
    """The exit code of a crawl that could not start because of ``error``."""
    if isinstance(error, LockedError):
        return ExitCode.LOCKED
    if isinstance(error, UsageError | SettingError):
        return ExitCode.USAGE
    return ExitCode.ERROR


def summary(stats: dict[str, Any]) -> str:
    def n(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    elapsed = float(stats.get("elapsed_time_seconds", 0) or 0)
    changed = runlog.site_change_sentence(stats)
    return (f"{changed}\n" if changed else "") + (
        f"posts: {n('archiver/posts/new')} new, {n('archiver/posts/updated')} updated, "
        f"{n('archiver/posts/unchanged')} unchanged, {n('archiver/posts/skipped_known')} known (not fetched), "
        f"{n('archiver/items/dropped')} dropped; "
        f"pages: {n('downloader/response_count')} fetched, {n('downloader/response_status_count/304')} not modified, "
        f"{n('archiver/pages/failed')} failed; {elapsed:.1f} s"
    )

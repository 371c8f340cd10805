"""Reaching the crawl-wide state: the extensions components share, through ``crawler.get_extension()``."""

from __future__ import annotations

from typing import TypeVar

from scrapy.crawler import Crawler

from archiver.exceptions import SettingError

T = TypeVar("T")


def shared(crawler: Crawler, cls: type[T]) -> T:
    """The crawl's instance of the extension ``cls``; a clear start-up error when it is not enabled."""
    found = crawler.get_extension(cls)
    if found is None:
        path = f"{cls.__module__}.{cls.__qualname__}"
        raise SettingError(f"{path} is not enabled: list it in EXTENSIONS (archiver.settings does)")
    return found

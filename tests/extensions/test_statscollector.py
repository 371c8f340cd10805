"""The project's stats collector is Scrapy's in-memory one, with plain attribute lookup."""

from __future__ import annotations

from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from archiver import settings as project_settings
from archiver.extensions.statscollector import StatsCollector


def test_the_project_uses_it_and_it_keeps_scrapys_methods() -> None:
    crawler = get_crawler(settings_dict={"STATS_CLASS": project_settings.STATS_CLASS})
    stats = crawler.stats
    assert isinstance(stats, StatsCollector) and isinstance(stats, MemoryStatsCollector)
    stats.inc_value("archiver/posts/new")
    stats.inc_value("archiver/posts/new", 2)
    stats.max_value("x/max", 3)
    stats.max_value("x/max", 1)
    stats.min_value("x/min", 3)
    stats.min_value("x/min", 1)
    stats.set_value("s", "v")
    assert stats.get_value("archiver/posts/new") == 3
    assert stats.get_stats() == {"archiver/posts/new": 3, "x/max": 3, "x/min": 1, "s": "v"}
    stats.clear_stats()
    assert stats.get_stats() == {}


def test_attribute_lookup_is_objects_own() -> None:
    # Scrapy's __getattribute__ wraps each stats method on every lookup; this one does not.
    assert StatsCollector.__getattribute__ is object.__getattribute__
    stats = StatsCollector(get_crawler())
    assert stats.inc_value.__func__ is MemoryStatsCollector.inc_value

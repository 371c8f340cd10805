"""pipelines.window: a backfill limited by --since/--until/--category writes no post outside it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from archiver.exceptions import SettingError
from archiver.format.dates import BEIJING
from pipelines.window import WindowPipeline
from tests.pipelines.conftest import raw_article


def window(**settings: Any) -> tuple[WindowPipeline, Any]:
    crawler = get_crawler(settings_dict=settings)
    return WindowPipeline.from_crawler(crawler), crawler.stats


def normalized(day: dt.date, category: str = "liuzhouwanbao") -> Any:
    # One minute past midnight in Beijing is still the previous day in UTC: the Beijing day counts.
    when = dt.datetime(day.year, day.month, day.day, 0, 1, tzinfo=BEIJING)
    return raw_article(date=when, category=category)


def test_days_outside_the_window_are_filtered_and_counted() -> None:
    pipeline, stats = window(ARCHIVER_SINCE="2023-03-02", ARCHIVER_UNTIL="2023-03-03")
    assert pipeline.process_item(normalized(dt.date(2023, 3, 2))) is not None
    assert pipeline.process_item(normalized(dt.date(2023, 3, 3))) is not None
    for day in (dt.date(2023, 3, 1), dt.date(2023, 3, 4)):
        with pytest.raises(DropItem):
            pipeline.process_item(normalized(day))
    assert stats.get_value("archiver/posts/out_of_window") == 2


def test_other_categories_are_filtered_and_counted() -> None:
    pipeline, stats = window(ARCHIVER_CATEGORIES=["emnews"])
    assert pipeline.process_item(normalized(dt.date(2023, 3, 1), "emnews")) is not None
    with pytest.raises(DropItem):
        pipeline.process_item(normalized(dt.date(2023, 3, 1)))
    assert stats.get_value("archiver/posts/other_category") == 1


def test_no_window_keeps_everything() -> None:
    pipeline, _ = window()
    assert pipeline.process_item(normalized(dt.date(1999, 1, 1))) is not None


@pytest.mark.parametrize(
    "settings",
    [
        {"ARCHIVER_SINCE": "March"},
        {"ARCHIVER_UNTIL": "2023-02-30"},
        {"ARCHIVER_SINCE": "2023-03-02", "ARCHIVER_UNTIL": "2023-03-01"},
    ],
)
def test_a_bad_window_fails_at_start(settings: dict[str, str]) -> None:
    with pytest.raises(SettingError):
        window(**settings)

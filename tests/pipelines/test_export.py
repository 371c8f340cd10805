"""The export pipeline: outcomes counted (kept files as unchanged), an unwritable archive stops the run."""

from __future__ import annotations

import datetime as dt
import errno
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.test import get_crawler

from archiver.crawl import unwritable
from archiver.crawl.archive import ArchiveAtStart
from archiver.exceptions import ArchiveUnwritable
from archiver.items import BODY_FROM_PAGE, BODY_FROM_SHARE, Article
from archiver.store.exporter import ArchiveExporter
from pipelines.export import ExportPipeline

BEIJING = dt.timezone(dt.timedelta(hours=8))
EXACT = "<p>一</p><p>二</p>"
REBUILT = "<p>一</p>\n<p>二</p>"


def article(body: str = EXACT, source: str = BODY_FROM_SHARE, post_id: str = "NW202205012000000001") -> Article:
    return Article(
        post_id=post_id,
        title="标题",
        date=dt.datetime(2022, 5, 1, 20, 0, 0, tzinfo=BEIJING),
        category="liuzhouwanbao",
        tags=["柳州晚报新闻"],
        body=body,
        category_title="柳州晚报新闻",
        body_source=source,
    )


@pytest.fixture
def pipeline(tmp_path: Path) -> ExportPipeline:
    crawler = get_crawler(settings_dict={"ARCHIVER_OUTPUT_DIR": str(tmp_path), "EXTENSIONS": {ArchiveAtStart: 0}})
    assert crawler.stats is not None
    crawler.stats.open_spider()
    pipeline = ExportPipeline.from_crawler(crawler)
    pipeline.open_spider()
    return pipeline


def stats(pipeline: ExportPipeline) -> dict[str, Any]:
    return pipeline.stats.get_stats()


def test_a_kept_file_counts_as_unchanged_and_as_kept(pipeline: ExportPipeline) -> None:
    pipeline.process_item(article())
    pipeline.process_item(article(REBUILT, BODY_FROM_PAGE))
    pipeline.process_item(article())
    got = stats(pipeline)
    assert got["archiver/posts/new"] == 1
    assert got["archiver/posts/unchanged"] == 2
    assert got["archiver/posts/kept_better_source"] == 1
    assert "archiver/posts/updated" not in got


def test_a_changed_post_from_a_weaker_source_counts_as_updated(pipeline: ExportPipeline) -> None:
    pipeline.process_item(article())
    pipeline.process_item(article(REBUILT + "\n<p>三</p>", BODY_FROM_PAGE))
    assert stats(pipeline)["archiver/posts/updated"] == 1


def test_an_unwritable_archive_stops_the_run_without_raising(
    pipeline: ExportPipeline, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[Article] = []

    def full(self: ArchiveExporter, item: Article) -> Any:
        calls.append(item)
        error = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        raise ArchiveUnwritable(self.root / "_posts" / "x.md", error)

    monkeypatch.setattr(ArchiveExporter, "export", full)
    first = article()
    assert pipeline.process_item(first) is first
    # Later items are not even tried: the run is stopping, the next run fetches them again.
    second = replace(article(), post_id="NW202205012000000002")
    assert pipeline.process_item(second) is second
    assert calls == [first]
    message = stats(pipeline)[unwritable.STAT]
    assert message == f"cannot write the archive: {pipeline.root / '_posts' / 'x.md'}: No space left on device"
    assert unwritable.message(stats(pipeline)) == message
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and message in errors[0].getMessage()
    assert "标题" not in caplog.text  # no item dumped into the log
    assert "archiver/posts/new" not in stats(pipeline)

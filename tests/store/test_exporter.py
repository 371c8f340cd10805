"""The exporter never degrades the archive: a weaker source replaces a file only when the post changed."""

from __future__ import annotations

import datetime as dt
import errno
import os
from dataclasses import replace
from pathlib import Path

import pytest

from archiver.exceptions import ArchiveUnwritable
from archiver.format.post import render_post
from archiver.items import BODY_FROM_PAGE, BODY_FROM_SHARE, Article
from archiver.store import atomic
from archiver.store.exporter import ArchiveExporter, Outcome

BEIJING = dt.timezone(dt.timedelta(hours=8))
# The exact body as the share page holds it, and the same body rebuilt from the rendered post page.
EXACT = '<p>一段。</p><p>他说“好”。<br></p>\n\n<p><img src="a.png?x=1&y=2"></p>'
REBUILT = '<p>一段。</p>\n<p>他说“好”。<br /></p>\n\n<p><img src="a.png?x=1&amp;y=2" /></p>'


def article(body: str = EXACT, source: str = BODY_FROM_SHARE, **changes: object) -> Article:
    base = Article(
        post_id="NW202205012000000001",
        title="稳就业 保民生",
        date=dt.datetime(2022, 5, 1, 20, 0, 0, tzinfo=BEIJING),
        category="liuzhouwanbao",
        tags=["柳州晚报新闻"],
        body=body,
        link="http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202205012000000001",
        footer="[返回柳州晚报新闻](//finews.withounder.com/category/liuzhouwanbao.html)｜[返回首页](//finews.withounder.com/)",
        category_title="柳州晚报新闻",
        body_source=source,
    )
    return replace(base, **changes)


@pytest.fixture
def exporter(tmp_path: Path) -> ArchiveExporter:
    exporter = ArchiveExporter(tmp_path)
    exporter.open()
    return exporter


def archived(exporter: ArchiveExporter, item: Article) -> tuple[Path, bytes, int]:
    outcome, path = exporter.export(item)
    assert outcome is Outcome.NEW
    # An mtime in the past, so that any rewrite would show.
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    return path, path.read_bytes(), path.stat().st_mtime_ns


def test_a_weaker_source_that_renders_the_same_keeps_the_exact_file(exporter: ArchiveExporter) -> None:
    path, data, mtime = archived(exporter, article())
    assert render_post(article(REBUILT)).encode() != data  # other bytes
    assert exporter.export(article(REBUILT, BODY_FROM_PAGE)) == (Outcome.KEPT, path)
    assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime


@pytest.mark.parametrize(
    "change",
    [
        {"body": REBUILT.replace("一段。", "一段，已更正。")},
        {"title": "稳就业 保民生（更新）"},
        {"tags": ["柳州晚报新闻", "更正"]},
        {"date": dt.datetime(2022, 5, 1, 20, 5, 0, tzinfo=BEIJING)},
    ],
    ids=["body", "title", "tags", "time"],
)
def test_a_weaker_source_of_a_changed_post_is_written(exporter: ArchiveExporter, change: dict[str, object]) -> None:
    path, _, _ = archived(exporter, article())
    changed = replace(article(REBUILT, BODY_FROM_PAGE), **change)
    outcome, written = exporter.export(changed)
    assert outcome is Outcome.UPDATED and written == path
    assert path.read_bytes() == render_post(changed).encode()


def test_an_exact_source_replaces_a_weaker_file(exporter: ArchiveExporter) -> None:
    path, _, _ = archived(exporter, article(REBUILT, BODY_FROM_PAGE))
    assert exporter.export(article()) == (Outcome.UPDATED, path)
    assert path.read_bytes() == render_post(article()).encode()
    assert exporter.export(article()) == (Outcome.UNCHANGED, path)


def test_an_exact_source_whose_text_changed_is_written(exporter: ArchiveExporter) -> None:
    path, _, _ = archived(exporter, article())
    assert exporter.export(article(EXACT + "\n\n<p>更正</p>")) == (Outcome.UPDATED, path)


def test_identical_bytes_from_a_weaker_source_are_unchanged(exporter: ArchiveExporter) -> None:
    path, data, mtime = archived(exporter, article(REBUILT, BODY_FROM_PAGE))
    assert exporter.export(article(REBUILT, BODY_FROM_PAGE)) == (Outcome.UNCHANGED, path)
    assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime


def test_a_weaker_source_is_written_when_the_archived_file_is_unreadable(exporter: ArchiveExporter) -> None:
    path, _, _ = archived(exporter, article())
    path.write_bytes(b"\xff\xfe not a post")
    assert exporter.export(article(REBUILT, BODY_FROM_PAGE)) == (Outcome.UPDATED, path)


def test_a_full_disk_raises_archive_unwritable_and_leaves_the_archive_as_it_was(
    exporter: ArchiveExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, data, mtime = archived(exporter, article())

    def full(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "replace", full)
    with pytest.raises(ArchiveUnwritable) as caught:
        exporter.export(article(EXACT + "\n\n<p>更正</p>"))
    assert caught.value.path == path
    assert str(caught.value) == f"cannot write the archive: {path}: No space left on device"
    assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]

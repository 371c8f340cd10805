"""The category slug rule and the time formats."""

from __future__ import annotations

import datetime as dt

import pytest

from archiver.format import dates
from archiver.format.slug import is_valid_slug, slugify


@pytest.mark.parametrize(
    ("media", "slug"),
    [
        ("柳州晚报", "liuzhouwanbao"),
        ("中国银行", "zhongguoyinxing"),  # the per-character table: 行 is xing, as the site had it
        ("21世纪经济报道", "21shijijingjibaodao"),
        ("21世纪经济报道 21财经APP", "21shijijingjibaodao21caijingAPP"),  # no space: Jekyll would split it
        ("Career In 投行PEVC", "CareerIntouxingPEVC"),
        ("安信国际证券(香港)", "anxinguojizhengquan(xianggang)"),
        ("券商中国", "quanshangzhongguo"),
        ("ABC123", "ABC123"),
    ],
)
def test_slug_rule(media: str, slug: str) -> None:
    assert slugify(media) == slug
    assert is_valid_slug(slug)


@pytest.mark.parametrize("media", ["../../etc", "a/b", "a\\b", "x\u200by", "a\tb", "a:b#c"])
def test_slug_has_no_path_or_separator_characters(media: str) -> None:
    slug = slugify(media)
    assert is_valid_slug(slug)
    assert not set(slug) & set("/\\ \t\u200b:#.")


def test_invalid_slugs() -> None:
    assert not is_valid_slug("")
    assert not is_valid_slug("a b")
    assert not is_valid_slug("..")
    assert not is_valid_slug("a/b")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-03-02 11:08:37", "2022-03-02 11:08:37 +0800"),
        ("2022-03-02 11:08:37 +0800", "2022-03-02 11:08:37 +0800"),
        ("2021-12-08T10:39:01Z", "2021-12-08 18:39:01 +0800"),
        ("2022/3/2 1:02", "2022-03-02 01:02:00 +0800"),
        ("2022年03月02日 11:08", "2022-03-02 11:08:00 +0800"),
    ],
)
def test_times_are_beijing(text: str, expected: str) -> None:
    assert dates.format_post_date(dates.parse_time(text)) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2022-02-30 10:00:00", "2022-01-01 25:00:00", "2022-01-01 +9999"])
def test_bad_times_raise(text: str) -> None:
    with pytest.raises(dates.DateError):
        dates.parse_time(text)


def test_post_day_is_the_beijing_day() -> None:
    assert dates.post_day(dt.datetime(2022, 1, 1, 16, 0, tzinfo=dt.UTC)) == "2022-01-02"

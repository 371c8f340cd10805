"""pipelines.normalize: Beijing times, one-line texts, slugs by the pinyin rule, URLs safe for an autolink."""

from __future__ import annotations

import datetime as dt

import pytest
from scrapy.crawler import Crawler

from archiver.crawl.drops import ArticleDropped
from archiver.format.dates import BEIJING
from pipelines.normalize import NormalizePipeline
from tests.pipelines.conftest import raw_article


def test_the_page_time_becomes_an_aware_beijing_datetime(crawler: Crawler) -> None:
    article = NormalizePipeline.from_crawler(crawler).process_item(raw_article())
    assert article.date == dt.datetime(2023, 3, 1, 10, 15, tzinfo=BEIJING)


def test_an_aware_datetime_is_kept_as_the_same_instant(crawler: Crawler) -> None:
    utc = dt.datetime(2023, 3, 1, 2, 15, tzinfo=dt.UTC)
    article = NormalizePipeline.from_crawler(crawler).process_item(raw_article(date=utc))
    assert article.date == utc and article.date.utcoffset() == dt.timedelta(hours=8)


def test_an_unparsable_time_is_dropped_as_bad_date(crawler: Crawler) -> None:
    with pytest.raises(ArticleDropped) as caught:
        NormalizePipeline.from_crawler(crawler).process_item(raw_article(date="yesterday"))
    assert caught.value.reason == "bad_date"
    assert crawler.stats.get_value("archiver/items/dropped/bad_date") == 1


def test_texts_are_trimmed_to_one_line(crawler: Crawler) -> None:
    article = NormalizePipeline.from_crawler(crawler).process_item(
        raw_article(title=" 一条\n新闻\u2028 ", tags=[" 柳州晚报新闻 ", "\x00", ""])
    )
    assert article.title == "一条 新闻"
    assert article.tags == ["柳州晚报新闻"]


def test_a_title_of_control_characters_only_is_dropped(crawler: Crawler) -> None:
    with pytest.raises(ArticleDropped) as caught:
        NormalizePipeline.from_crawler(crawler).process_item(raw_article(title="\x01\x02"))
    assert caught.value.reason == "no_title"


def test_the_category_slug_follows_the_media_name(crawler: Crawler) -> None:
    pipeline = NormalizePipeline.from_crawler(crawler)
    assert pipeline.process_item(raw_article()).category == "liuzhouwanbao"
    # A slug with white space is the generator's defect: it is made again from the name.
    assert pipeline.process_item(raw_article(category="21shijijingjibaodao  nancai")).category == (
        "21shijijingjibaodaonancai"
    )
    assert pipeline.process_item(raw_article(category="emnews")).category == "emnews"


def test_the_category_title_defaults_to_the_first_tag(crawler: Crawler) -> None:
    assert NormalizePipeline.from_crawler(crawler).process_item(raw_article()).category_title == "柳州晚报新闻"


def test_a_link_that_would_cut_an_autolink_short_is_percent_encoded(crawler: Crawler) -> None:
    pipeline = NormalizePipeline.from_crawler(crawler)
    plain = raw_article().link
    assert pipeline.process_item(raw_article()).link == plain
    encoded = pipeline.process_item(raw_article(link="http://x.example/a b>c")).link
    assert encoded is not None and " " not in encoded and ">" not in encoded

"""pipelines.validate: an article without a post id, title or time is dropped with its reason and counted."""

from __future__ import annotations

import pytest
from scrapy.crawler import Crawler

from archiver.crawl.drops import ArticleDropped
from pipelines.validate import ValidatePipeline
from tests.pipelines.conftest import raw_article


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"post_id": None}, "no_post_id"),
        ({"post_id": ""}, "no_post_id"),
        ({"post_id": "../../etc"}, "bad_post_id"),
        ({"post_id": "NW 1"}, "bad_post_id"),
        ({"title": None}, "no_title"),
        ({"title": " \t "}, "no_title"),
        ({"date": None}, "no_date"),
        ({"date": "  "}, "no_date"),
    ],
)
def test_an_article_missing_what_a_post_needs_is_dropped(crawler: Crawler, fields: dict, reason: str) -> None:
    pipeline = ValidatePipeline.from_crawler(crawler)
    with pytest.raises(ArticleDropped) as caught:
        pipeline.process_item(raw_article(**fields))
    assert caught.value.reason == reason
    assert crawler.stats.get_value(f"archiver/items/dropped/{reason}") == 1
    assert crawler.stats.get_value("archiver/items/dropped") == 1


def test_a_complete_article_passes_unchanged(crawler: Crawler) -> None:
    article = raw_article()
    assert ValidatePipeline.from_crawler(crawler).process_item(article) is article
    assert article == raw_article()
    assert not crawler.stats.get_value("archiver/items/dropped")

"""pipelines.sanitize: nothing published can run code; a body with nothing dangerous keeps its bytes."""

from __future__ import annotations

import pytest
from scrapy.crawler import Crawler

from archiver.crawl.drops import ArticleDropped
from pipelines.sanitize import SanitizePipeline
from tests.pipelines.conftest import raw_article


def test_a_clean_body_is_kept_byte_for_byte(crawler: Crawler) -> None:
    body = '<p style="text-indent:2em">正文&nbsp;<br/>第二行</p>\n<p><img src="http://x.example/a.png" alt="a &amp; b"></p>'
    article = SanitizePipeline.from_crawler(crawler).process_item(raw_article(body=body))
    assert article.body == body
    assert not crawler.stats.get_value("archiver/sanitize/body")


def test_scripts_and_event_handlers_are_removed_and_counted(crawler: Crawler) -> None:
    body = '<p onclick="steal()">正文</p><script>alert(1)</script>'
    article = SanitizePipeline.from_crawler(crawler).process_item(raw_article(body=body))
    assert "script" not in article.body and "onclick" not in article.body and "正文" in article.body
    assert crawler.stats.get_value("archiver/sanitize/body") == 1
    assert crawler.stats.get_value("archiver/sanitize/removed") >= 2


def test_a_body_that_was_only_dangerous_is_dropped(crawler: Crawler) -> None:
    with pytest.raises(ArticleDropped) as caught:
        SanitizePipeline.from_crawler(crawler).process_item(raw_article(body="<script>alert(1)</script>"))
    assert caught.value.reason == "empty_after_sanitize"


def test_titles_and_tags_carry_no_markup(crawler: Crawler) -> None:
    article = SanitizePipeline.from_crawler(crawler).process_item(
        raw_article(title="新闻<script>x</script>", tags=["<b>柳州</b>晚报新闻"])
    )
    assert "<" not in article.title and all("<" not in tag for tag in article.tags)


def test_a_link_of_another_scheme_is_left_out(crawler: Crawler) -> None:
    article = SanitizePipeline.from_crawler(crawler).process_item(raw_article(link="javascript:alert(1)"))
    assert article.link is None
    assert crawler.stats.get_value("archiver/sanitize/removed/url/javascript") == 1

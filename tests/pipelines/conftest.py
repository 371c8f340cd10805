"""What the pipeline tests share: a crawler with stats, and an article as the spider yields it."""

from __future__ import annotations

from typing import Any

import pytest
from scrapy.crawler import Crawler
from scrapy.utils.test import get_crawler

from archiver import settings as project_settings
from archiver.items import Article


@pytest.fixture
def crawler(tmp_path: Any) -> Crawler:
    defaults = {name: value for name, value in vars(project_settings).items() if name.startswith("ARCHIVER_")}
    return get_crawler(settings_dict={**defaults, "ARCHIVER_OUTPUT_DIR": str(tmp_path / "out")})


def raw_article(**fields: Any) -> Article:
    """An article as the spider yields it: strings cut from the pages, nothing normalized yet."""
    values: dict[str, Any] = {
        "post_id": "NW202303011015000202",
        "title": "  一条新闻  ",
        "date": "2023-03-01 10:15:00",
        "media": "柳州晚报",
        "tags": ["柳州晚报新闻"],
        "body": "<p>正文</p>\n",
        "link": "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202303011015000202",
        "footer": "[返回柳州晚报新闻](//finews.withounder.com/category/liuzhouwanbao.html)｜[返回首页](//finews.withounder.com/)",
        "url": "http://finews.withounder.com/liuzhouwanbao/2023/03/01/NW202303011015000202.html",
        "body_source": "share",
    }
    values.update(fields)
    return Article(**values)

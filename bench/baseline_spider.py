"""The baseline: the least a Scrapy crawler of the finews site can do.

A plain ``CrawlSpider`` with the archiver's link rules (home -> category pages -> post pages ->
share pages, category pages also reached through the post footers) that writes the title and
the body HTML of every post to one small file, with no validation, normalization, sanitizing
or exact rendering, and otherwise Scrapy's default settings (concurrency as given).

    python -m bench.baseline_spider --start-url http://finews.withounder.com/ --output DIR [--concurrency 16]

with ``http_proxy`` pointing at the benchmark's server. Not the project's settings: the
archiver's ``settings.py`` is not read.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import CrawlSpider, Rule

POST = r"/\d{4}/\d{2}/\d{2}/[^/]+\.html$"
LISTING = (r"/category/[^/]+\.html$", r"^https?://[^/]+/[^/]+/$", r"^https?://[^/]+/$")
SHARE = "NewsShare.html?infoCode="


class BaselineSpider(CrawlSpider):
    name = "baseline"
    allowed_domains: ClassVar[list[str]] = ["finews.withounder.com", "finews.zning.xyz", "choicewzp1.eastmoney.com"]
    rules = (
        Rule(LinkExtractor(allow=POST, restrict_css="section"), callback="parse_post", follow=True),
        Rule(LinkExtractor(allow=LISTING, restrict_css="section"), follow=True),
    )

    def __init__(self, start_url: str, output: str, *args: Any, **kwargs: Any) -> None:
        self.start_urls = [start_url]
        super().__init__(*args, **kwargs)
        self.output = Path(output)
        self.output.mkdir(parents=True, exist_ok=True)

    def parse_post(self, response: scrapy.http.Response) -> Iterator[scrapy.Request]:
        post_id = response.url.rsplit("/", 1)[-1].removesuffix(".html")
        title = response.css("section h1::text").get("")
        share = response.css(f'section a[href*="{SHARE}"]::attr(href)').get()
        if share:
            yield response.follow(share, self.parse_share, cb_kwargs={"post_id": post_id, "title": title})
        else:
            self.write(post_id, title, response.css("section").get(""))

    def parse_share(self, response: scrapy.http.Response, post_id: str, title: str) -> None:
        self.write(post_id, title, response.css("#ContentBody").get(""))

    def write(self, post_id: str, title: str, body: str) -> None:
        (self.output / f"{post_id}.txt").write_text(f"{title}\n{body}", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.baseline_spider", description=__doc__.splitlines()[0])
    ap.add_argument("--start-url", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--log-file")
    ap.add_argument("-s", "--set", dest="settings", action="append", default=[], metavar="NAME=VALUE")
    args = ap.parse_args(argv)
    os.environ.pop("SCRAPY_SETTINGS_MODULE", None)
    settings: dict[str, Any] = {
        "CONCURRENT_REQUESTS": args.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
        "LOG_LEVEL": "INFO",
        "TELNETCONSOLE_ENABLED": False,
    }
    if args.log_file:
        settings["LOG_FILE"] = args.log_file
    for pair in args.settings:
        name, _, value = pair.partition("=")
        settings[name] = value
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(BaselineSpider)
    process.crawl(crawler, start_url=args.start_url, output=args.output)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    print(f"baseline: {stats.get('downloader/response_count', 0)} pages, finish_reason={stats.get('finish_reason')}")
    return 0 if stats.get("finish_reason") == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())

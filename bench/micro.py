"""Micro-benchmark of the pure path of one post, in posts per second per core.

    python -m bench.micro [--posts 300] [--seconds 5]

One post's pure work, without Scrapy's engine, the network or the disk: parse its post page
and its share page (spiders/finews.py), run the project's item pipelines except the export
(validate, normalize, sanitize, ... -- whatever ``ITEM_PIPELINES`` lists), and render the post
file text and name (archiver/format/post.py). Pages are the synthetic site's own (demo/render.py),
decoded once up front as Scrapy would. Timed by the process's CPU time on one core.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
EXPORT = "pipelines.export.ExportPipeline"
COMPONENTS = ("EXTENSIONS", "DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES", "ADDONS")


def pages(count: int) -> list[tuple[str, str, str | None]]:
    """(post page URL, post page text, share page text or None) for ``count`` synthetic posts."""
    from demo.content import synthetic_articles
    from demo.generate import share_charset
    from demo.model import SITE_HOST
    from demo.render import post_page, share_page

    out = []
    for article in synthetic_articles(count, seed=1):
        share = None
        if article.has_share_page:
            share = share_page(article, share_charset(article, 4)).decode(share_charset(article, 4))
        out.append((f"http://{SITE_HOST}{article.url}", post_page(article), share))
    return out


def pipeline_chain() -> tuple[list[Callable[[Any], Any]], list[str]]:
    """The project's item pipelines (all but the export), built as Scrapy builds them."""
    from scrapy.utils.misc import build_from_crawler, load_object
    from scrapy.utils.test import get_crawler

    from archiver import settings as project

    names = [name for name, _ in sorted(project.ITEM_PIPELINES.items(), key=lambda kv: kv[1]) if name != EXPORT]
    # Settings only: the project's extensions and middlewares have no part in the pure path.
    values = {k: getattr(project, k) for k in dir(project) if k.isupper() and k not in COMPONENTS}
    crawler = get_crawler(settings_dict=values)
    steps = []
    for name in names:
        pipeline = build_from_crawler(load_object(name), crawler)
        if hasattr(pipeline, "open_spider"):
            pipeline.open_spider()
        steps.append(pipeline.process_item)
    return steps, names


def run(count: int, seconds: float) -> dict[str, Any]:
    from archiver.format.post import post_filename, render_post
    from archiver.format.unrender import source_body
    from spiders.finews import FinewsSpider

    spider = FinewsSpider(start_url="http://finews.withounder.com/")
    steps, names = pipeline_chain()
    corpus = pages(count)

    def one(url: str, page: str, share: str | None) -> int:
        # As the crawl does it: the body is rebuilt from the post page only when no share page gives it.
        article, body_html = spider.post_page(page, url)
        share_url = spider.share_url(article.link)
        exact = False
        if share_url and share is not None:
            article.share_url = share_url
            exact = spider.apply_share_page(article, share)
        if not exact:
            article.body = source_body(body_html)
        item: Any = article
        for step in steps:
            item = step(item)
        return len(render_post(item)) + len(post_filename(item))

    for args in corpus[:20]:  # warm caches (slug table, regexes), as a long crawl has them
        one(*copy.deepcopy(args))
    done = 0
    start = time.process_time()
    deadline = start + seconds
    while time.process_time() < deadline:
        for args in corpus:
            one(*args)
        done += len(corpus)
    cpu = time.process_time() - start
    return {
        "posts": done,
        "cpu_s": round(cpu, 3),
        "posts_per_s_per_core": round(done / cpu, 1),
        "us_per_post": round(1e6 * cpu / done, 1),
        "pipelines": names,
        "distinct_posts": count,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.micro", description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--posts", type=int, default=300, help="distinct synthetic posts to cycle through")
    ap.add_argument("--seconds", type=float, default=5.0, help="CPU seconds to run")
    ap.add_argument("--results", type=Path, default=RESULTS / "micro.json")
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args(argv)
    result = run(args.posts, args.seconds)
    print(
        f"pure path: {result['posts_per_s_per_core']:.0f} posts/s per core ({result['us_per_post']:.0f} µs/post; "
        f"parse post + share page, {' -> '.join(n.rsplit('.', 1)[-1] for n in result['pipelines'])}, render)"
    )
    if not args.no_save:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

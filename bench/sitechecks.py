"""What detecting site changes costs: the spider's callbacks over a generated site, with and without the checks.

    python -m bench.sitechecks [--n 3000] [--rounds 5]

Every page of the synthetic site of ``bench`` (home, categories, post pages, share pages) is read
once by the callback a crawl uses (spiders/finews.py) with the site checks (spiders/finews_site.py,
archiver/crawl/sitehealth.py), and once with them replaced by no-ops; the difference in CPU time
is the detection's cost, to set against a full crawl's CPU (``python -m bench --n 3000 --tools
archiver``). Outside Scrapy's engine, so the difference is not lost in the noise of a whole run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any
from unittest import mock

from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from bench.site import START_URL, ensure_site

RESULTS = Path(__file__).resolve().parent / "results"


def responses(root: Path) -> list[tuple[str, HtmlResponse]]:
    """(callback name, response) for every page of the site, as the crawl would fetch it."""
    from archiver.items import Article

    out: list[tuple[str, HtmlResponse]] = []
    site = root / "finews.withounder.com"
    for path in sorted(site.rglob("*.html")):
        rel = path.relative_to(site).as_posix()
        url = START_URL.rstrip("/") + "/" + (rel.removesuffix("index.html"))
        callback = "parse_post" if rel.count("/") >= 4 else "parse_listing"
        out.append((callback, HtmlResponse(url, body=path.read_bytes(), request=Request(url))))
    for path in sorted((root / "finews.zning.xyz").rglob("*.html")):
        url = f"http://finews.zning.xyz/html_News/NewsShare.html?infoCode={path.stem}"
        request = Request(url, cb_kwargs={"article": Article(post_id=path.stem), "body_html": "<p>x</p>"})
        out.append(("parse_share", HtmlResponse(url, body=path.read_bytes(), request=request)))
    for _, response in out:
        _ = response.text  # decoded once up front, as Scrapy does before a callback
    return out


def read_all(spider: Any, pages: list[tuple[str, HtmlResponse]]) -> float:
    started = time.process_time()
    for callback, response in pages:
        kwargs = response.request.cb_kwargs if response.request is not None else {}
        for _ in getattr(spider, callback)(response, **kwargs):
            pass
    return time.process_time() - started


def no_checks(spider: Any) -> list[Any]:
    from spiders import finews_site

    def none(*args: Any, **kwargs: Any) -> list[Any]:
        return []

    patches: list[Any] = [
        mock.patch.object(finews_site, name, none) for name in ("check_listing", "check_post", "check_share")
    ]
    patches.append(mock.patch.object(type(spider), "site_checked", lambda self, *a: True))
    patches.append(mock.patch.object(finews_site, "is_page_path", lambda path: False))
    return patches


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workdir", type=Path, default=RESULTS / "tmp")
    args = ap.parse_args(argv)
    from archiver.crawl.sitehealth import SiteHealth
    from spiders.finews import FinewsSpider

    root, _ = ensure_site(args.workdir, args.n)
    pages = responses(root)
    crawler = get_crawler(FinewsSpider)
    crawler.stats.open_spider()  # type: ignore[union-attr]
    spider = FinewsSpider.from_crawler(crawler, start_url=START_URL)
    health = SiteHealth(crawler)
    timed: dict[str, list[float]] = {"with": [], "without": []}
    # As in a fresh crawl: every post wanted; the crawl's SiteHealth reached as the spider reaches it.
    with (
        mock.patch("spiders.finews.shared", lambda _crawler, _cls: health),
        mock.patch("spiders.finews.wanted", lambda *a: True),
    ):
        for _ in range(args.rounds):
            timed["with"].append(read_all(spider, pages))
            patches = no_checks(spider)
            for p in patches:
                p.start()
            try:
                timed["without"].append(read_all(spider, pages))
            finally:
                for p in patches:
                    p.stop()
    best = {k: min(v) for k, v in timed.items()}
    posts = sum(1 for c, _ in pages if c == "parse_post")
    print(f"{len(pages)} pages ({posts} post pages), best of {args.rounds} rounds, CPU s:")
    print(f"  callbacks with the site checks    {best['with']:.3f}")
    print(f"  callbacks without the site checks {best['without']:.3f}")
    cost = best["with"] - best["without"]
    print(f"  the checks: {cost:.3f} s, {1e3 * cost / posts:.3f} ms per post")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The seed approach: one thread, ``requests`` + lxml, page after page, as the site's generator worked.

Fetches the home page, then every listing and post page it links to (category pages are also
reached through the post footers), and for each post its share page; writes the title and
body HTML of every post to one small file. No concurrency, no validation, no normalization.

    python -m bench.sequential --start-url http://finews.withounder.com/ --output DIR

with ``http_proxy`` pointing at the benchmark's server.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import lxml.html
import requests

SITE_HOST = "finews.withounder.com"
POST = re.compile(r"^/(?:[^/]+/)*\d{4}/\d{2}/\d{2}/[^/]+\.html$")
LISTING = re.compile(r"^/(?:category/[^/]+\.html|[^/]+/)?$")
SHARE = "NewsShare.html?infoCode="


def crawl(start_url: str, output: Path) -> tuple[int, int]:
    """(pages fetched, posts written)."""
    output.mkdir(parents=True, exist_ok=True)
    session = requests.Session()
    queue: deque[str] = deque([start_url])
    seen = {start_url}
    pages = posts = 0
    while queue:
        url = queue.popleft()
        answer = session.get(url, timeout=30)
        pages += 1
        if answer.status_code != 200:
            continue
        doc = lxml.html.fromstring(answer.content)
        sections = doc.xpath("//section")
        if not sections:
            continue
        section = sections[0]
        for href in section.xpath(".//a/@href"):
            link = urljoin(url, href)
            parts = urlsplit(link)
            if parts.hostname != SITE_HOST or not (POST.match(parts.path) or LISTING.match(parts.path)):
                continue
            link = f"{urlsplit(start_url).scheme}://{SITE_HOST}{parts.path}"
            if link not in seen:
                seen.add(link)
                queue.append(link)
        if not POST.match(urlsplit(url).path):
            continue
        post_id = url.rsplit("/", 1)[-1].removesuffix(".html")
        title = section.findtext(".//h1") or ""
        shares = section.xpath(f'.//a[contains(@href, "{SHARE}")]/@href')
        body = lxml.html.tostring(section, encoding="unicode")
        if shares:
            share = session.get(urljoin(url, shares[0]), timeout=30)
            pages += 1
            if share.status_code == 200:
                content = lxml.html.fromstring(share.content).xpath('//*[@id="ContentBody"]')
                if content:
                    body = lxml.html.tostring(content[0], encoding="unicode")
        (output / f"{post_id}.txt").write_text(f"{title}\n{body}", encoding="utf-8")
        posts += 1
    return pages, posts


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.sequential", description=__doc__.splitlines()[0])
    ap.add_argument("--start-url", required=True)
    ap.add_argument("--output", required=True, type=Path)
    args = ap.parse_args(argv)
    pages, posts = crawl(args.start_url, args.output)
    print(f"sequential: {pages} pages, {posts} posts")
    return 0


if __name__ == "__main__":
    sys.exit(main())

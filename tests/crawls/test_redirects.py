"""Redirects and refreshes: a crawl loses no page without saying so, and follows no refresh of an article body.

Crawls of a changed copy of the demo site (``spiders/demo/site``): post pages that redirect to
themselves, to each other, through more hops than ``REDIRECT_MAX_TIMES``, or to the home page the
crawl fetched already, and a post whose article body holds a meta refresh. ``SiteServer`` serves
files and redirects only a folder named without its slash, so the 301s come from ``Redirector``,
a loopback proxy in front of it.
"""

from __future__ import annotations

import http.client
import http.server
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse
from scrapy.utils.response import get_meta_refresh

from archiver.devserver.server import SiteServer
from tests.crawlrun import SITE_URL, crawl
from tests.loopback import LoopbackServer, QuietHandler

pytestmark = pytest.mark.slow

DEMO = Path(__file__).resolve().parents[2] / "spiders" / "demo" / "site"
SITE = SITE_URL.rstrip("/")
BODY_REFRESH = b'<meta http-equiv="refresh" content="0; url=//finews.withounder.com/">'
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "upgrade", "content-length"}


class Redirector(LoopbackServer):
    """A loopback HTTP proxy: 301 to ``redirects[url]`` for the URLs named there, the upstream proxy's answer otherwise."""

    def __init__(self, upstream: SiteServer, redirects: dict[str, str], max_seconds: float = 300) -> None:
        self.redirects = redirects
        self.requested: list[tuple[str, int]] = []
        redirector = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                target = redirector.redirects.get(self.path)
                if target is not None:
                    redirector.requested.append((self.path, 301))
                    self.answer(301, {"Location": target}, b"")
                    return
                connection = http.client.HTTPConnection("127.0.0.1", upstream.port, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                    connection.request("GET", self.path, headers=headers)
                    answer = connection.getresponse()
                    body = answer.read()
                finally:
                    connection.close()
                redirector.requested.append((self.path, answer.status))
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                if answer.status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler, max_seconds)

    def count(self, url: str, status: int) -> int:
        return self.requested.count((url, status))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    shutil.copytree(DEMO, root)
    return root


def post_files(root: Path) -> list[Path]:
    """The copy's post pages whose share page it serves too (so their posts are exact)."""
    shares = {p.stem for p in (root / "finews.zning.xyz" / "html_News" / "NewsShare").glob("*.html")}
    pages = sorted((root / "finews.withounder.com").glob("*/2023/*/*/*.html"))
    return [page for page in pages if page.stem in shares]


def url_of(root: Path, page: Path) -> str:
    return f"{SITE}/{page.relative_to(root / 'finews.withounder.com').as_posix()}"


def archived(output: Path) -> set[str]:
    return {p.name.split("-", 3)[3].removesuffix(".md") for p in (output / "_posts").glob("*.md")}


def last_run(output: Path) -> dict[str, Any]:
    line = (output / ".archiver" / "runs.jsonl").read_text(encoding="utf-8").splitlines()[-1]
    report: dict[str, Any] = json.loads(line)
    return report


@pytest.fixture
def servers(site: Path) -> Iterator[tuple[SiteServer, Path]]:
    with SiteServer(site, max_seconds=300) as server:
        yield server, site


def test_redirect_loops_and_too_long_chains_fail_their_page_and_the_next_run_archives_it(
    servers: tuple[SiteServer, Path], tmp_path: Path
) -> None:
    server, root = servers
    itself, pair, long, *_ = post_files(root)
    loop, pair_url, long_url = url_of(root, itself), url_of(root, pair), url_of(root, long)
    hops = [f"{long_url}?hop={n}" for n in range(1, 7)]
    redirects = {loop: loop, pair_url: pair_url.removesuffix("l"), pair_url.removesuffix("l"): pair_url}
    redirects |= dict(zip([long_url, *hops], hops, strict=False))
    output = tmp_path / "archive"
    with Redirector(server, redirects) as redirector:
        first = crawl(output, redirector.proxy_url, "--log-file", str(tmp_path / "first.log"))
    assert first.returncode == 2, (tmp_path / "first.log").read_text(encoding="utf-8")[-3000:]
    errors = {(e["url"], e["error"]) for e in last_run(output)["errors"]}
    assert errors == {
        (loop, "failed: redirect_loop"),
        (pair_url, "failed: redirect_loop"),
        (long_url, "failed: too_many_redirects"),
    }
    assert last_run(output)["status"] == "pages_failed"
    assert archived(output).isdisjoint({itself.stem, pair.stem, long.stem})
    assert len(archived(output)) == 27
    retry = json.loads((output / ".archiver" / "retry.json").read_text(encoding="utf-8"))
    assert sorted((entry["url"], entry["callback"]) for entry in retry) == sorted(
        (url, "parse_post") for url in (loop, pair_url, long_url)
    )
    # The site fixed: the next run archives them.
    second = crawl(output, server.proxy_url)
    assert second.returncode == 0, second.stderr[-3000:]
    assert {itself.stem, pair.stem, long.stem} <= archived(output)
    assert len(archived(output)) == 30


def test_a_post_redirected_to_the_home_page_is_reported_not_silently_gone(
    servers: tuple[SiteServer, Path], tmp_path: Path
) -> None:
    server, root = servers
    gone = post_files(root)[3]
    output = tmp_path / "archive"
    with Redirector(server, {url_of(root, gone): SITE_URL}) as redirector:
        result = crawl(output, redirector.proxy_url, "--log-file", str(tmp_path / "crawl.log"))
        home_fetched = redirector.count(SITE_URL, 200)
    log = (tmp_path / "crawl.log").read_text(encoding="utf-8")
    # The home page, fetched as a listing and again as the page the post stands for: read as a post,
    # it is none, which is a site change (exit 4), not a lost page (exit 0, as before).
    assert home_fetched == 2
    assert result.returncode == 4, log[-3000:]
    report = last_run(output)
    assert report["status"] == "site_changed"
    assert {finding["page_class"] for finding in report["site_changed"]} == {"post"}
    assert gone.stem not in archived(output)
    assert len(archived(output)) == 29


def test_a_meta_refresh_in_an_article_body_is_not_followed(servers: tuple[SiteServer, Path], tmp_path: Path) -> None:
    server, root = servers
    post = post_files(root)[4]
    share = root / "finews.zning.xyz" / "html_News" / "NewsShare" / f"{post.stem}.html"
    for page, start in ((post, b"<section>"), (share, b'id="ContentBody">')):
        html = page.read_bytes()
        at = html.index(b"<p>", html.index(start)) + len(b"<p>")  # the article's first paragraph
        page.write_bytes(html[:at] + BODY_REFRESH + html[at:])  # ASCII: the same bytes in gb2312 and UTF-8
        # Within the first 4,096 characters: Scrapy's middleware would follow it to the home page.
        response = HtmlResponse(f"{SITE}/x.html", body=page.read_bytes())
        assert get_meta_refresh(response) == (0.0, SITE_URL)
    output = tmp_path / "archive"
    result = crawl(output, server.proxy_url, "--log-file", str(tmp_path / "crawl.log"))
    assert result.returncode == 0, (tmp_path / "crawl.log").read_text(encoding="utf-8")[-3000:]
    assert len(archived(output)) == 30
    (written,) = (output / "_posts").glob(f"*-{post.stem}.md")
    text = written.read_text(encoding="utf-8")
    assert "refresh" not in text.lower()  # the sanitizer's part
    assert "<p>" in text

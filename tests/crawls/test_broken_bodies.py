"""Bodies that arrive but are not the page: cut short where no length tells, or not in their Content-Encoding.

A loopback proxy serves the demo site (``spiders/demo/site``) and breaks chosen pages: a body with
no ``Content-Length`` that the connection's close ends halfway (HTTP/1.0 framing, so no client can
tell it from a whole one by its length), or a plain body announced as ``Content-Encoding: gzip``.
Either is retried, then fails for good: exit 2, the page in the run report, nothing archived from
it, no archived file changed on a re-run, and the next run, on the honest site, completes the
archive exactly.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from archiver.devserver.server import SiteServer
from tests.crawlrun import crawl
from tests.incsite import archive_files
from tests.loopback import LoopbackServer, QuietHandler

pytestmark = pytest.mark.slow

DEMO_SITE = Path(__file__).resolve().parents[2] / "spiders" / "demo" / "site"
SHARE = "NW202303022300055474"  # a share page the demo serves (its post's exact body)
FAST = ("-s", "ARCHIVER_RETRY_BACKOFF=0.02", "-s", "ARCHIVER_RETRY_BACKOFF_MAX=0.1")
RECHECK = ("--recheck-days", "100000")  # the demo is dated 2023: revalidate every post


class BreakingProxy(LoopbackServer):
    """The demo site as ``archiver.devserver`` serves it, with the page at ``broken`` broken ``how``."""

    def __init__(self, broken: str, how: str) -> None:
        self.requested: list[str] = []
        proxy = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                proxy.requested.append(self.path)
                if (body := self.site_file(DEMO_SITE)) is None:
                    return
                if self.path != broken:
                    self.answer(200, {"Content-Type": "text/html"}, body)
                elif how == "cut":
                    # HTTP/1.0 without Content-Length: the close ends the body, here halfway.
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                else:
                    self.answer(200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, body)

        super().__init__(Handler)


@pytest.fixture(scope="module")
def exact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("exact") / "archive"
    with SiteServer(DEMO_SITE, max_seconds=300) as server:
        result = crawl(output, server.proxy_url)
    assert result.returncode == 0, result.stderr[-2000:]
    return output


def failures(output: Path) -> list[tuple[str, str]]:
    report: dict[str, Any] = json.loads((output / ".archiver" / "runs.jsonl").read_text().splitlines()[-1])
    return [(e["url"], e["error"].split(" ")[1]) for e in report["errors"] if e["error"].startswith("failed")]


HOME = "http://finews.withounder.com/"
SHARE_URL = f"http://finews.zning.xyz/html_News/NewsShare.html?infoCode={SHARE}"
CASES = {
    "share-cut": (SHARE_URL, "cut", "truncated"),
    "share-not-gzip": (SHARE_URL, "gzip", "bad_content_encoding"),
    "home-cut": (HOME, "cut", "truncated"),
    "home-not-gzip": (HOME, "gzip", "bad_content_encoding"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_broken_body_fails_the_page_and_the_next_run_completes_the_archive(
    exact: Path, tmp_path: Path, case: str
) -> None:
    url, how, reason = CASES[case]
    output = tmp_path / "archive"
    with BreakingProxy(url, how) as proxy:
        result = crawl(output, proxy.proxy_url, *FAST)
        tries = proxy.requested.count(url)
    assert result.returncode == 2, result.stderr[-3000:]
    assert tries == 6  # the first try and RETRY_TIMES=5 retries
    assert failures(output) == [(url, reason)]
    archived = archive_files(output)
    if url == HOME:
        assert archived == {}  # nothing is read from half a home page
    else:
        # The post waits for its exact body (a transient failure, not a share page gone).
        assert f"_posts/2023-03-02-{SHARE}.md" not in archived
        assert {name: archive_files(exact)[name] for name in archived} == archived
    with SiteServer(DEMO_SITE, max_seconds=300) as server:
        again = crawl(output, server.proxy_url)
    assert again.returncode == 0, again.stderr[-3000:]
    assert archive_files(output) == archive_files(exact)


@pytest.mark.parametrize("case", ["share-cut", "share-not-gzip"])
def test_a_rerun_over_a_good_archive_keeps_every_file(exact: Path, tmp_path: Path, case: str) -> None:
    url, how, reason = CASES[case]
    output = tmp_path / "archive"
    shutil.copytree(exact, output, copy_function=shutil.copy2)
    before = {p: p.stat().st_mtime_ns for p in output.rglob("*.md")}
    with BreakingProxy(url, how) as proxy:
        result = crawl(output, proxy.proxy_url, *FAST, *RECHECK)
    assert result.returncode == 2, result.stderr[-3000:]
    assert failures(output) == [(url, reason)]
    assert archive_files(output) == archive_files(exact)
    assert {p: p.stat().st_mtime_ns for p in output.rglob("*.md")} == before


def test_a_refused_listing_fails_the_run(tmp_path: Path) -> None:
    # Hostile pages are refused and the run stays ok; a listing refused is the site unread.
    output = tmp_path / "archive"
    with SiteServer(DEMO_SITE, max_seconds=300) as server:
        result = crawl(output, server.proxy_url, "-s", "ARCHIVER_MAX_PAGE_BYTES=1000")
    assert result.returncode == 2, result.stderr[-3000:]
    assert failures(output) == [(HOME, "too_large")]

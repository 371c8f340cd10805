"""A server (or cache) that answers 304 although the page changed hides new posts for a bounded time only.

A loopback server serves a site's files and answers 304 to every conditional request, changed or
not. A stored listing answers for a 304 only ``ARCHIVER_STORED_MAX_AGE_HOURS`` after it was last
fetched in full; older, it is fetched in full again, and the new post on it is found.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.crawlrun import crawl
from tests.incsite import archive_files, build, dated_articles
from tests.loopback import LoopbackServer, QuietHandler

pytestmark = pytest.mark.slow


class Lying304(LoopbackServer):
    """``site`` with ETags, and a 304 for every request that carries a condition."""

    def __init__(self, site: Path) -> None:
        self.full = 0
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                if self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since"):
                    self.answer(304, {"ETag": '"same"'}, b"")
                    return
                if (body := self.site_file(site)) is None:
                    return
                server.full += 1
                self.answer(200, {"Content-Type": "text/html", "ETag": '"same"'}, body)

        super().__init__(Handler)


def test_a_lying_304_hides_a_new_post_no_longer_than_the_stored_pages_max_age(tmp_path: Path) -> None:
    articles = dated_articles(old=4, young=0)
    first, _ = build(articles[:-1], tmp_path / "v1")
    second, _ = build(articles, tmp_path / "v2")  # one more post, on the home and its category page
    newest = f"_posts/{articles[-1].filename}"
    out = tmp_path / "out"
    with Lying304(first) as server:
        assert crawl(out, server.proxy_url).returncode == 0
    assert newest not in archive_files(out)
    with Lying304(second) as server:
        # Within the max age the server's 304 is believed: the new post is not seen (yet).
        assert crawl(out, server.proxy_url).returncode == 0
        assert newest not in archive_files(out)
        time.sleep(0.5)
        # Past it (here 0.36 s), every stored listing is fetched in full again.
        result = crawl(out, server.proxy_url, "-s", "ARCHIVER_STORED_MAX_AGE_HOURS=0.0001")
    assert result.returncode == 0, result.stderr[-3000:]
    assert newest in archive_files(out)
    assert "'archiver/store/full_fetch':" in result.stderr

"""The capture of a cron day: the demo site crawled with ``--warc`` four times into one archive.

Runs 1-3 are what cron runs (incremental: the re-runs revalidate the listings and get 304s);
run 4 fetches every page again (``ARCHIVER_INCREMENTAL=False``), so its 200s carry payloads
already captured. A plain crawl, and the bytes the site serves for a few post pages, are kept to
compare with.
"""

from __future__ import annotations

import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.crawlrun import crawl


@dataclass
class CronCapture:
    base: Path
    archive: Path  # the archive with its warc/ folder
    plain: Path  # the same site crawled without --warc
    served: dict[str, bytes] = field(default_factory=dict)  # post page URL -> the bytes the site serves

    @property
    def warc(self) -> Path:
        return self.archive / "warc"


@pytest.fixture(scope="session")
def cron_capture(tmp_path_factory: pytest.TempPathFactory, demo_site: Path) -> CronCapture:
    pytest.importorskip("warcio", reason="needs warcio: pip install -e '.[test]'")
    from archiver.devserver.server import SiteServer

    base = tmp_path_factory.mktemp("cron-capture")
    capture = CronCapture(base, base / "archive", base / "plain")
    with SiteServer(demo_site, max_seconds=300) as server:
        result = crawl(capture.plain, server.proxy_url)
        assert result.returncode == 0, result.stderr[-3000:]
        for extra in ((), (), (), ("-s", "ARCHIVER_INCREMENTAL=False")):
            result = crawl(capture.archive, server.proxy_url, "--warc", *extra)
            assert result.returncode == 0, result.stderr[-3000:]
            # A replay is addressed to the second: no two runs' answers for a URL may share one.
            time.sleep(1.1)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": server.proxy_url}))
        posts = sorted((demo_site / "finews.withounder.com").rglob("NW*.html"))[:3]
        for path in posts:
            url = "http://finews.withounder.com/" + str(path.relative_to(demo_site / "finews.withounder.com"))
            with opener.open(url, timeout=30) as answer:
                capture.served[url] = answer.read()
    assert capture.served, "the demo site has no post pages under finews.withounder.com"
    return capture

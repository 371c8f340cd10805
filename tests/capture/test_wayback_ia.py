"""``--from-wayback`` in the Internet Archive's dialect, against a loopback stub of its CDX API and raw replay.

``IAStub`` answers ``/cdx/search/cdx`` with the Internet Archive's JSON array (a header row, then
rows; paged with resume keys: an empty row, then ``[key]``) and ``/web/<ts>id_/<url>`` with the
fixture site's pages. It can throttle (429 with ``Retry-After``), move a capture to another
timestamp (302, as the Internet Archive does for a near miss), fail a replay for good, and list
captures that are redirects, errors and revisits, none of which may be chosen.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from archiver.capture.cdx import url_key
from archiver.devserver.server import SiteServer
from archiver.store.runlog import read_runs
from tests.capture.waybackfixtures import site_files
from tests.crawlrun import crawl, run_archiver
from tests.loopback import LoopbackServer, QuietHandler

pytestmark = pytest.mark.slow

STAMP = "20240101000000"
HEADER = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]
MOVED_POST = "http://finews.withounder.com/liuzhouwanbao/2023/03/03/NW202303032300106670.html"
REDIRECT_ONLY = "http://finews.withounder.com/liuzhouwanbao/2023/03/03/NW209901010000000001.html"
ERROR_ONLY = "http://finews.withounder.com/liuzhouwanbao/2023/03/03/NW209901010000000002.html"


class IAStub(LoopbackServer):
    """The Internet Archive's CDX and ``id_`` replay on 127.0.0.1, from a site folder; stops after ``max_seconds``."""

    def __init__(self, site: Path, *, page_rows: int = 7, throttle: int = 0, retry_after: str = "1",
                 broken: tuple[str, ...] = (), max_seconds: float = 120) -> None:  # fmt: skip
        self.files = site_files(site)
        self.page_rows = page_rows
        self.throttle = throttle
        self.retry_after = retry_after
        self.broken = broken
        self.log: list[tuple[float, int, str]] = []  # (time, status, path)
        self.rows = self._rows()
        stub = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                status, headers, body = stub.answer(self.path)
                stub.log.append((time.monotonic(), status, self.path))
                self.answer(status, headers, body)

        super().__init__(Handler, max_seconds)

    @property
    def url(self) -> str:
        return self.proxy_url

    def _rows(self) -> list[list[str]]:
        rows = []
        for url in self.files:
            rows.append([url_key(url), STAMP, url, "text/html", "200", f"D-{url_key(url)}", "1000"])
            # Later captures that must never be chosen: a redirect, an error, a revisit; a repeat of the 200.
            rows.append([url_key(url), "20240201000000", url, "text/html", "301", "R", "300"])
            rows.append([url_key(url), "20240301000000", url, "text/html", "503", "E", "300"])
            rows.append([url_key(url), "20240401000000", url, "warc/revisit", "-", f"D-{url_key(url)}", "300"])
        rows.append([url_key(REDIRECT_ONLY), STAMP, REDIRECT_ONLY, "text/html", "302", "R", "300"])
        rows.append([url_key(ERROR_ONLY), STAMP, ERROR_ONLY, "text/html", "404", "E", "300"])
        return sorted(rows)

    def answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(path)
        if parts.path == "/cdx/search/cdx":
            return self.cdx(parse_qs(parts.query))
        if not parts.path.startswith("/web/"):
            return 404, {}, b"not here"
        stamp, _, original = path[len("/web/") :].partition("/")
        if self.throttle > 0:
            self.throttle -= 1
            return 429, {"Retry-After": self.retry_after, "Content-Type": "text/html"}, b"slow down"
        if original in self.broken:
            return 503, {"Content-Type": "text/html"}, b"unavailable"
        if original == MOVED_POST and stamp == f"{STAMP}id_":
            # The Internet Archive sends a near miss to the capture it has.
            return 302, {"Location": f"{self.url}/web/20240101000500id_/{original}"}, b""
        file = self.files.get(original)
        if file is None or not stamp.endswith("id_"):
            return 404, {"Content-Type": "text/html"}, b"not archived"
        return 200, {"Content-Type": "text/html"}, file.read_bytes()

    def cdx(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        prefix = query["url"][0]
        assert query.get("output") == ["json"] and query.get("matchType") == ["prefix"]
        matching = [row for row in self.rows if url_key(row[2]).startswith(prefix)]
        start = int(query.get("resumeKey", ["0"])[0])
        page = matching[start : start + self.page_rows]
        body: list[list[str]] = [HEADER, *page]
        if start + self.page_rows < len(matching):
            body += [[], [str(start + self.page_rows)]]
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def replays(self) -> list[str]:
        return [path for _, status, path in self.log if path.startswith("/web/")]


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for folder in ("_posts", "category")
        if (root / folder).is_dir()
        for p in sorted((root / folder).iterdir())
    }


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, demo_site: Path) -> Path:
    out = tmp_path_factory.mktemp("live") / "archive"
    with SiteServer(demo_site, max_seconds=120) as server:
        assert crawl(out, server.proxy_url).returncode == 0
    return out


def wayback(url: str, out: Path, *extra: str) -> Any:
    return run_archiver("crawl", "finews", "--from-wayback", url, "--output", str(out), *extra)


def test_the_internet_archive_dialect_with_resume_keys_equals_a_live_crawl(demo_site, live, tmp_path) -> None:
    with IAStub(demo_site) as stub:
        out = tmp_path / "archive"
        result = wayback(stub.url, out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert tree(out) == tree(live)
    queries = [path for _, _, path in stub.log if path.startswith("/cdx/")]
    assert any("resumeKey=" in q for q in queries), "long listings are read page by page"
    assert all("showResumeKey=true" in q for q in queries)
    replays = stub.replays()
    assert all(f"/web/{STAMP}id_/" in p or "20240101000500id_" in p for p in replays), "only raw 200 captures"
    assert not any(REDIRECT_ONLY in p or ERROR_ONLY in p for p in replays), "redirect and error captures are not asked"
    assert sum(MOVED_POST in p for p in replays) == 2, "a near miss is followed to the capture the archive has"
    run = read_runs(out / ".archiver" / "runs.jsonl")[-1]
    assert run["source"] == {"wayback": stub.url} and run["status"] == "ok"


def test_429_pauses_the_endpoint_for_its_retry_after(demo_site, live, tmp_path) -> None:
    with IAStub(demo_site, throttle=2, retry_after="1") as stub:
        out = tmp_path / "archive"
        # One at a time, as towards the Internet Archive: no request was already under way at the 429.
        result = wayback(stub.url, out, "-s", "ARCHIVER_RETRY_BACKOFF=0", "-s", "ARCHIVER_WAYBACK_CONCURRENCY=1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert tree(out) == tree(live)
    replays = [(when, status) for when, status, path in stub.log if path.startswith("/web/")]
    assert [status for _, status in replays[:2]] == [429, 429]
    # Nothing is asked of the endpoint before the Retry-After of the last 429 has passed.
    assert replays[2][0] - replays[1][0] >= 0.9
    assert "pausing 1.0 s" in result.stderr


def test_a_replay_that_keeps_failing_is_a_failed_page_under_its_original_url(demo_site, tmp_path) -> None:
    share = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202303032300106670"
    with IAStub(demo_site, broken=(share,)) as stub:
        out = tmp_path / "archive"
        result = wayback(stub.url, out, "-s", "RETRY_TIMES=1", "-s", "ARCHIVER_RETRY_BACKOFF=0")
    assert result.returncode == 2, result.stderr[-3000:]
    run = read_runs(out / ".archiver" / "runs.jsonl")[-1]
    assert run["status"] == "pages_failed"
    assert [e["url"] for e in run["errors"]] == [share]
    # The post waits for the next run, which asks the share page again, as after a live failure.
    assert not list((out / "_posts").glob("*NW202303032300106670.md"))
    assert len(list((out / "_posts").glob("*.md"))) == 29


def test_web_archive_org_is_asked_once_a_second_one_at_a_time_by_default() -> None:
    from scrapy.settings import Settings

    from archiver import settings as project
    from archiver.capture.wayback import WaybackAddon

    settings = Settings({k: getattr(project, k) for k in dir(project) if k.isupper()}, priority="project")
    settings.set("ARCHIVER_WAYBACK_URL", "https://web.archive.org", priority="cmdline")
    WaybackAddon().update_settings(settings)
    assert settings.getdict("DOWNLOAD_SLOTS")["wayback:web.archive.org"] == {
        "delay": 1.0,
        "concurrency": 1,
        "jitter": 0,
    }
    handlers = settings.getwithbase("DOWNLOAD_HANDLERS")
    assert handlers["http"] == handlers["https"] == "archiver.capture.wayback.WaybackDownloadHandler"


def test_the_wayback_components_are_built_only_for_a_wayback_run() -> None:
    from scrapy.settings import Settings

    from archiver import settings as project
    from archiver.capture.wayback import WaybackAddon

    def components(**cmdline: str) -> set[str]:
        settings = Settings({k: getattr(project, k) for k in dir(project) if k.isupper()}, priority="project")
        settings.setdict(cmdline, priority="cmdline")
        WaybackAddon().update_settings(settings)
        names = ("EXTENSIONS", "DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES")
        return {str(path) for name in names for path, order in settings.getdict(name).items() if order is not None}

    wayback = {
        "archiver.capture.wayback.WaybackState",
        "archiver.capture.wayback.WaybackMiddleware",
        "archiver.capture.discovery.WaybackDiscovery",
    }
    # A live run does not build them (nor log at WARNING why each is off).
    assert not components() & wayback
    assert components(ARCHIVER_WAYBACK_URL="https://web.archive.org") >= wayback


def test_a_stopped_backfill_resumes_from_its_jobdir(demo_site, live, tmp_path) -> None:
    import signal
    import subprocess
    import sys

    from tests.crawlrun import REPO, archiver_env

    out, job = tmp_path / "archive", tmp_path / "job"
    # A tenth of a second between requests: slow enough to be stopped halfway.
    args = ["-s", "ARCHIVER_WAYBACK_DELAY=0.1", "-s", "ARCHIVER_WAYBACK_CONCURRENCY=1", "--jobdir", str(job)]
    with IAStub(demo_site) as stub:
        command = [
            sys.executable,
            "-m",
            "archiver",
            "crawl",
            "finews",
            "--from-wayback",
            stub.url,
            "--output",
            str(out),
        ]
        proc = subprocess.Popen(
            [*command, *args], cwd=REPO, env=archiver_env(None), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None and len(list(out.glob("_posts/*.md"))) < 3:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        assert (job / "requests.queue").is_dir(), "a clean stop saves the queue"
        first = len(stub.replays())
        result = wayback(stub.url, out, *args)
        assert result.returncode == 0, result.stderr[-3000:]
        home = [p for p in stub.replays() if p.endswith("id_/http://finews.withounder.com/")]
    assert 0 < first < len(stub.replays()), result.stderr[-6000:]
    assert len(home) == 1, "the resumed job does not start over"
    assert tree(out) == tree(live)
    assert not (job / "requests.seen").exists()

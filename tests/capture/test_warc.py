"""Raw capture as WARC (archiver.warc) and the rebuild from it (archiver.replay).

Unit tests drive the capture middleware directly; the crawl tests run the archiver in
subprocesses against the demo site: every file passes ``warcio check``, the manifest names the
records each post was made from, ``archiver rebuild --from-warc`` gives a byte-identical archive
with no server running, and a run killed with SIGKILL leaves files that read up to their last
whole record.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("warcio", reason="needs warcio: pip install -e '.[test]'")

from scrapy import Request, Spider
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator

from archiver.capture.replay import ReplayMiddleware, WarcIndex, warc_files
from archiver.capture.warc import META_CAPTURE, WarcCaptureMiddleware
from archiver.store.runlog import read_runs
from tests.crawlrun import REPO, SITE_URL, archiver_env, crawl, run_archiver

pytestmark = pytest.mark.slow


def warcio_check(*files: Path) -> subprocess.CompletedProcess[str]:
    code = "import sys; from warcio.cli import main; main(sys.argv[1:])"
    return subprocess.run(
        [sys.executable, "-c", code, "check", "-v", *map(str, files)], capture_output=True, text=True, timeout=60
    )


def tree(root: Path) -> dict[str, bytes]:
    """The archive's files (posts and category pages), by relative path."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for folder in ("_posts", "old_post", "category")
        if (root / folder).is_dir()
        for p in sorted((root / folder).iterdir())
        if p.is_file()
    }


class _Spider(Spider):
    name = "t"
    start_url = "http://example.test/"


def archiver_settings(**overrides: Any) -> dict[str, Any]:
    """The project's ARCHIVER_* defaults with ``overrides``: enough for one component, no extensions."""
    from archiver import settings

    return {**{k: getattr(settings, k) for k in dir(settings) if k.startswith("ARCHIVER_")}, **overrides}


def capture_middleware(output: Path, **settings: Any) -> WarcCaptureMiddleware:
    crawler = get_crawler(
        _Spider, archiver_settings(ARCHIVER_OUTPUT_DIR=str(output), ARCHIVER_WARC_ENABLED=True, **settings)
    )
    middleware = WarcCaptureMiddleware.from_crawler(crawler)
    middleware.spider_opened(_Spider())
    return middleware


# --- units ----------------------------------------------------------------------------------------
def test_capture_keeps_the_body_as_received_and_replays_it(tmp_path: Path) -> None:
    middleware = capture_middleware(tmp_path)
    body = gzip.compress("<html><body>新闻</body></html>".encode(), mtime=0)
    request = Request(
        "http://example.test/a.html?x=1",
        headers={"Accept-Encoding": "gzip", "Proxy-Authorization": "Basic c2VjcmV0", "Authorization": "Bearer t"},
    )
    headers = {"Content-Type": "text/html", "Content-Encoding": "gzip", "Transfer-Encoding": "chunked"}
    response = HtmlResponse(request.url, status=200, headers=headers, body=body, request=request)
    assert middleware.process_request(request) is None
    assert middleware.process_response(request, response) is response
    capture = request.meta[META_CAPTURE]
    middleware.spider_closed()

    (path,) = warc_files(tmp_path / "warc")
    assert capture["warc"] == f"warc/{path.name}" and capture["status"] == 200
    assert warcio_check(path).returncode == 0
    with path.open("rb") as stream:
        records = list(ArchiveIterator(stream))
    assert [r.rec_type for r in records] == ["warcinfo", "response", "request"]
    sent = records[2].http_headers
    assert (sent.protocol, sent.statusline) == ("GET", "/a.html?x=1 HTTP/1.1")  # warcio's split of a request line
    assert sent.get_header("Host") == "example.test"
    assert sent.get_header("Authorization") is None and sent.get_header("Proxy-Authorization") is None
    assert records[1].rec_headers.get_header("WARC-Record-ID") == capture["record_id"]
    assert records[2].rec_headers.get_header("WARC-Concurrent-To") == capture["record_id"]

    index = WarcIndex.scan(tmp_path / "warc")
    status, _protocol, pairs, replayed = index.load(request.url) or (0, "", [], b"")
    assert status == 200 and replayed == body  # still gzip: the replayed crawl decompresses it again
    assert ("Transfer-Encoding", "chunked") in pairs and ("Content-Encoding", "gzip") in pairs


def test_replay_answers_from_records_and_refuses_the_rest(tmp_path: Path) -> None:
    middleware = capture_middleware(tmp_path / "out")
    for status, url in ((503, "http://example.test/p"), (200, "http://example.test/p"), (304, "http://example.test/q")):
        request = Request(url)
        middleware.process_request(request)
        response = HtmlResponse(url, status=status, body=f"<p>{status}</p>".encode(), request=request)
        middleware.process_response(request, response)
    middleware.spider_closed()
    crawler = get_crawler(_Spider, archiver_settings(ARCHIVER_REPLAY_DIR=str(tmp_path / "out" / "warc")))
    replay = ReplayMiddleware.from_crawler(crawler)
    answer = replay.process_request(Request("http://example.test/p"))
    assert answer.status == 200 and answer.body == b"<p>200</p>" and "warc" in answer.flags  # the latest capture
    from archiver.capture.replay import NotCaptured

    for missing in ("http://example.test/q", "http://example.test/never"):  # a lone 304 holds no content
        with pytest.raises(NotCaptured):
            replay.process_request(Request(missing))


def test_files_rotate_by_size_and_each_opens_with_warcinfo(tmp_path: Path) -> None:
    middleware = capture_middleware(tmp_path, ARCHIVER_WARC_MAX_BYTES=64 * 1024)
    for i in range(40):
        request = Request(f"http://example.test/{i}.html")
        middleware.process_request(request)
        body = os.urandom(6000)  # incompressible: the files really grow
        middleware.process_response(request, HtmlResponse(request.url, body=body, request=request))
    middleware.spider_closed()
    files = warc_files(tmp_path / "warc")
    assert len(files) >= 3
    assert all(path.stat().st_size < 64 * 1024 + 8000 for path in files)
    assert warcio_check(*files).returncode == 0
    for path in files:
        with path.open("rb") as stream:
            first = next(iter(ArchiveIterator(stream)))
        assert first.rec_type == "warcinfo"
    assert len(WarcIndex.scan(tmp_path / "warc").responses) == 40


def test_workers_of_a_distributed_run_write_worker_files(tmp_path: Path) -> None:
    names = []
    for i, settings in enumerate(({}, {"ARCHIVER_REDIS_URL": "redis://127.0.0.1:1/0"})):
        middleware = capture_middleware(tmp_path, **settings)
        request = Request(f"http://example.test/{i}.html")
        middleware.process_request(request)
        middleware.process_response(request, HtmlResponse(request.url, body=b"<p>x</p>", request=request))
        names.append(request.meta[META_CAPTURE]["warc"])
        middleware.spider_closed()
    assert "-crawl-00001.warc.gz" in names[0] and "-worker-00001.warc.gz" in names[1]


def test_a_torn_last_record_is_skipped(tmp_path: Path) -> None:
    middleware = capture_middleware(tmp_path)
    for i in range(5):
        request = Request(f"http://example.test/{i}.html")
        middleware.process_request(request)
        middleware.process_response(request, HtmlResponse(request.url, body=b"x" * 500, request=request))
    middleware.spider_closed()
    (path,) = warc_files(tmp_path / "warc")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])  # as if killed in the middle of the last write
    index = WarcIndex.scan(tmp_path / "warc")
    assert sorted(index.responses) == [f"http://example.test/{i}.html" for i in range(5)]
    assert index.truncated and index.truncated[0][0] == path
    assert warcio_check(path).returncode == 0


@pytest.mark.parametrize("cut", [600, 20_000], ids=["inside-a-body", "inside-headers"])
def test_a_record_torn_anywhere_is_never_replayed_as_whole(tmp_path: Path, cut: int) -> None:
    # Cut where the last whole record before it is followed by a torn one: inside a response's
    # body (warcio reads it to the file's end, short), or inside a record's headers (warcio raises).
    middleware = capture_middleware(tmp_path)
    urls = [f"http://example.test/{i}.html" for i in range(40)]
    for url in urls:
        request = Request(url)
        middleware.process_request(request)
        body = (f"<html><body>{url}".encode() + bytes(range(256)) * 8) + b"</body></html>"
        middleware.process_response(request, HtmlResponse(url, body=body, request=request))
    middleware.spider_closed()
    (path,) = warc_files(tmp_path / "warc")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - cut])
    index = WarcIndex.scan(tmp_path / "warc")  # never raises
    replayed = {url: index.load(url) for url in urls}
    whole = [url for url, found in replayed.items() if found is not None]
    assert whole == urls[: len(whole)] and 0 < len(whole) < len(urls)
    for url in whole:
        body = (replayed[url] or (0, "", [], b""))[3]
        assert body.endswith(b"</body></html>"), url


# --- crawls ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory, demo_site: Path) -> dict[str, Path]:
    """The demo site crawled twice: plainly, and with --warc."""
    from archiver.devserver.server import SiteServer

    base = tmp_path_factory.mktemp("warc")
    with SiteServer(demo_site, max_seconds=300) as server:
        for name, extra in (("plain", ()), ("warc", ("--warc",))):
            result = crawl(base / name, server.proxy_url, *extra)
            assert result.returncode == 0, result.stderr[-3000:]
    return {"plain": base / "plain", "warc": base / "warc", "base": base}


def test_capture_changes_nothing_and_passes_warcio_check(captured: dict[str, Path]) -> None:
    assert tree(captured["warc"]) == tree(captured["plain"])
    files = warc_files(captured["warc"] / "warc")
    assert files
    result = warcio_check(*files)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "digest pass" in result.stdout and "fail" not in result.stdout


def test_manifest_names_the_records_of_each_post(captured: dict[str, Path]) -> None:
    root = captured["warc"]
    lines = [json.loads(line) for line in (root / ".archiver" / "captures.jsonl").read_text().splitlines()]
    posts = {p.name.split("-", 3)[3].removesuffix(".md") for p in (root / "_posts").iterdir()}
    assert {line["post_id"] for line in lines} == posts
    records = {}
    for path in warc_files(root / "warc"):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                records[record.rec_headers.get_header("WARC-Record-ID")] = (path.name, record.rec_headers)
    with_share = 0
    for line in lines:
        for kind in ("post", "share"):
            capture = line[kind]
            if capture is None:
                continue
            name, headers = records[capture["record_id"]]
            assert capture["warc"] == f"warc/{name}"
            assert headers.get_header("WARC-Payload-Digest") == capture["payload_digest"]
            assert headers.get_header("WARC-Target-URI") == capture["url"]
        assert line["post"]["url"] == line["url"]
        with_share += line["share"] is not None and "infoCode=" + line["post_id"] in line["share"]["url"]
    assert with_share >= len(lines) // 2  # every media post has a share page; emnews posts link elsewhere


def test_rebuild_from_warc_is_byte_identical_and_offline(captured: dict[str, Path]) -> None:
    out = captured["base"] / "rebuilt"
    # No proxy and no server: a request that reached the network would fail.
    result = run_archiver("rebuild", "--from-warc", str(captured["warc"] / "warc"), "--output", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "0 not captured" in result.stderr
    assert tree(out) == tree(captured["warc"])


def test_a_killed_run_leaves_readable_warc_files(tmp_path: Path, demo_site: Path, captured: dict[str, Path]) -> None:
    from archiver.devserver.server import SiteServer

    out = tmp_path / "killed"
    with SiteServer(demo_site, delay=0.15, max_seconds=120) as server:
        command = [sys.executable, "-m", "archiver", "crawl", "finews", "--start-url", SITE_URL]
        command += ["--output", str(out), "--warc", "--concurrency", "2"]
        proc = subprocess.Popen(
            command, cwd=REPO, env=archiver_env(server.proxy_url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and server.count(path_contains="NewsShare") < 6:
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
    files = warc_files(out / "warc")
    assert files
    assert warcio_check(*files).returncode == 0
    index = WarcIndex.scan(out / "warc")
    assert len(index.responses) >= 6
    rebuilt = tmp_path / "rebuilt"
    result = run_archiver("rebuild", "--from-warc", str(out / "warc"), "--output", str(rebuilt))
    assert result.returncode in (0, 2), result.stderr[-3000:]
    # Each post the killed run finished (a manifest line) rebuilds into exactly what a full crawl writes;
    # a post whose share page the kill cut off is made from its post page, as a crawl would make it.
    finished = [line["post_id"] for line in read_runs(out / ".archiver" / "captures.jsonl")]  # skips a torn line
    assert finished
    partial, full = tree(rebuilt), tree(captured["plain"])
    for post_id in finished:
        (name,) = [name for name in full if name.endswith(f"-{post_id}.md")]
        assert partial[name] == full[name], name


def test_the_run_after_a_kill_appends_to_the_same_file(tmp_path: Path, demo_site: Path) -> None:
    from archiver.capture import cdxj
    from archiver.capture.warcfile import index_region
    from archiver.devserver.server import SiteServer
    from tests.capture.test_warcfile import read_all

    out = tmp_path / "out"
    with SiteServer(demo_site, delay=0.1, max_seconds=120) as server:
        command = [sys.executable, "-m", "archiver", "crawl", "finews", "--start-url", SITE_URL]
        command += ["--output", str(out), "--warc", "--concurrency", "4"]
        proc = subprocess.Popen(
            command, cwd=REPO, env=archiver_env(server.proxy_url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and server.count(path_contains="NewsShare") < 4:
                time.sleep(0.02)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        (killed,) = warc_files(out / "warc")
        result = crawl(out, server.proxy_url, "--warc")  # the next cron run
        assert result.returncode == 0, result.stderr[-3000:]
    (path,) = warc_files(out / "warc")
    assert path == killed  # appended to, not a new file
    assert warcio_check(path).returncode == 0
    records = read_all(path)  # every record whole, to the last byte
    assert [kind for kind, _, _ in records].count("warcinfo") == 1
    # The index names every response and revisit of the file, the killed run's included.
    assert cdxj.read(cdxj.index_path(path)) == sorted(index_region(path, 0, path.stat().st_size))

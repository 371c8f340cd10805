"""Revisit records (archiver.capture.warc, .revisits) and their replay: by ``archiver rebuild`` and by a real pywb.

The capture of a cron day (``cron_capture``: three incremental runs and a full re-fetch into one
archive) is one WARC file where each URL has one ``response`` record and every later answer is a
``revisit``: ``server-not-modified`` for a 304, ``identical-payload-digest`` for a 200 with the
payload already captured, each naming the record it refers to. pywb (in its own venv,
``tests.pywbserver``) serves the archive's ``warc/`` folder as it is, through the CDXJ files next
to the WARC files, and replays a post page's revisit as the bytes the site served.
"""

from __future__ import annotations

import gzip
import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("warcio", reason="needs warcio: pip install -e '.[test]'")

from scrapy import Request
from scrapy.http import HtmlResponse
from warcio.archiveiterator import ArchiveIterator

from archiver.capture import cdxj
from archiver.capture.replay import ReplayMiddleware, warc_files
from archiver.capture.revisits import PROFILE_IDENTICAL, PROFILE_NOT_MODIFIED
from archiver.capture.warc import META_CAPTURE
from tests.capture.conftest import CronCapture
from tests.capture.test_warc import _Spider, archiver_settings, capture_middleware, tree, warcio_check
from tests.capture.test_warcfile import read_all
from tests.crawlrun import run_archiver
from tests.pywbserver import PywbServer, side_tool

pytestmark = pytest.mark.slow


def records(path: Path) -> list[Any]:
    """Every record's WARC headers, HTTP status and offset."""
    found = []
    with path.open("rb") as stream:
        iterator = ArchiveIterator(stream)
        for record in iterator:
            http = record.http_headers if record.rec_type in ("response", "revisit") else None
            status = http.get_statuscode() if http is not None else None
            found.append((record.rec_type, record.rec_headers, status, iterator.get_record_offset()))
    return found


# --- units ----------------------------------------------------------------------------------------
def _answer(middleware: Any, url: str, status: int, body: bytes, **headers: str) -> dict[str, Any]:
    request = Request(url, headers=headers)
    middleware.process_request(request)
    middleware.process_response(request, HtmlResponse(url, status=status, body=body, request=request))
    capture: dict[str, Any] = request.meta[META_CAPTURE]
    return capture


def test_unchanged_answers_are_revisits_that_name_the_payload(tmp_path: Path) -> None:
    url = "http://example.test/a.html"
    first = capture_middleware(tmp_path)
    original = _answer(first, url, 200, b"<p>v1</p>")
    first.spider_closed()
    second = capture_middleware(tmp_path)  # the next run: knows the last capture from .archiver/
    same = _answer(second, url, 200, b"<p>v1</p>")
    confirmed = _answer(second, url, 304, b"", **{"If-None-Match": '"x"'})
    changed = _answer(second, url, 200, b"<p>v2</p>")
    lone = _answer(second, "http://example.test/new.html", 304, b"", **{"If-Modified-Since": "Mon, 01 Jan 2024"})
    second.spider_closed()
    # The manifest's captures point at the record holding the payload; the revisit goes along.
    for capture in (same, confirmed):
        assert capture["record_id"] == original["record_id"] and capture["warc"] == original["warc"]
    assert same["revisit"]["profile"] == PROFILE_IDENTICAL and confirmed["revisit"]["profile"] == PROFILE_NOT_MODIFIED
    assert "revisit" not in changed and changed["record_id"] != original["record_id"]
    assert lone["profile"] == PROFILE_NOT_MODIFIED and lone["status"] == 304  # nothing earlier to refer to

    (path,) = warc_files(tmp_path / "warc")
    assert warcio_check(path).returncode == 0
    read_all(path)
    kinds = [(kind, headers.get_header("WARC-Profile"), status) for kind, headers, status, _ in records(path)]
    assert kinds == [
        ("warcinfo", None, None),
        ("response", None, "200"),
        ("request", None, None),
        ("revisit", PROFILE_IDENTICAL, "200"),
        ("request", None, None),
        ("revisit", PROFILE_NOT_MODIFIED, "304"),
        ("request", None, None),
        ("response", None, "200"),
        ("request", None, None),
        ("revisit", PROFILE_NOT_MODIFIED, "304"),
        ("request", None, None),
    ]
    revisit = records(path)[3][1]
    assert revisit.get_header("WARC-Refers-To") == original["record_id"]
    assert revisit.get_header("WARC-Refers-To-Target-URI") == url
    assert revisit.get_header("WARC-Refers-To-Date") == original["date"]
    assert revisit.get_header("WARC-Payload-Digest") == original["payload_digest"]
    assert records(path)[9][1].get_header("WARC-Refers-To") is None


def test_rebuild_replays_a_revisit_as_the_payload_it_refers_to(tmp_path: Path) -> None:
    from scrapy.utils.test import get_crawler

    url = "http://example.test/a.html"
    for body in (b"<p>v1</p>", b"<p>v1</p>"):
        middleware = capture_middleware(tmp_path / "out")
        _answer(middleware, url, 200, body)
        _answer(middleware, url, 304, b"", **{"If-None-Match": '"x"'})
        middleware.spider_closed()
    crawler = get_crawler(_Spider, archiver_settings(ARCHIVER_REPLAY_DIR=str(tmp_path / "out" / "warc")))
    replay = ReplayMiddleware.from_crawler(crawler)
    entry = replay.index.responses[url]
    assert entry.payload is not None  # the latest content is the identical-payload revisit ...
    answer = replay.process_request(Request(url))
    assert answer.status == 200 and answer.body == b"<p>v1</p>"  # ... replayed with the body it refers to


# --- a cron day ----------------------------------------------------------------------------------
def test_a_cron_day_is_one_file_where_every_repeat_is_a_revisit(cron_capture: CronCapture) -> None:
    (path,) = warc_files(cron_capture.warc)  # four runs, one file
    assert warcio_check(path).returncode == 0
    read_all(path)
    found = records(path)
    ids = {headers.get_header("WARC-Record-ID"): headers for kind, headers, _, _ in found if kind == "response"}
    ok = [headers for kind, headers, status, _ in found if kind == "response" and status == "200"]
    responses = Counter(headers.get_header("WARC-Target-URI") for headers in ok)
    assert responses and max(responses.values()) == 1  # a page's payload is recorded once (a 404 each time)
    profiles = Counter()
    for kind, headers, status, _ in found:
        if kind != "revisit":
            continue
        profile = headers.get_header("WARC-Profile")
        profiles[profile] += 1
        original = ids[headers.get_header("WARC-Refers-To")]  # every revisit names a record of the file
        assert original.get_header("WARC-Target-URI") == headers.get_header("WARC-Refers-To-Target-URI")
        assert original.get_header("WARC-Date") == headers.get_header("WARC-Refers-To-Date")
        assert original.get_header("WARC-Payload-Digest") == headers.get_header("WARC-Payload-Digest")
        assert status == ("304" if profile == PROFILE_NOT_MODIFIED else "200")
    # Runs 2 and 3 revalidate the listings (304s), run 4 gets every page again (200s, same payloads).
    assert profiles[PROFILE_NOT_MODIFIED] >= 2 * 8
    assert profiles[PROFILE_IDENTICAL] >= len(responses) - 2
    # The manifest names records holding payloads.
    for line in map(json.loads, (cron_capture.archive / ".archiver" / "captures.jsonl").read_text().splitlines()):
        assert line["post"]["record_id"] in ids


def test_the_index_next_to_the_file_is_what_cdxj_indexer_writes(cron_capture: CronCapture) -> None:
    (path,) = warc_files(cron_capture.warc)
    index = cdxj.index_path(path)
    lines = index.read_text().splitlines()
    assert lines == sorted(lines) and len(lines) == sum(kind in ("response", "revisit") for kind, *_ in records(path))
    indexer = side_tool("cdxj-indexer")
    result = subprocess.run([str(indexer), "-s", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert lines == result.stdout.splitlines()


def test_rebuild_from_a_capture_with_revisits_is_byte_identical(cron_capture: CronCapture) -> None:
    out = cron_capture.base / "rebuilt"
    result = run_archiver("rebuild", "--from-warc", str(cron_capture.warc), "--output", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "0 not captured" in result.stderr
    assert tree(out) == tree(cron_capture.plain)


def _decoded(headers: dict[str, str], body: bytes) -> bytes:
    return gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body


def test_pywb_serves_the_warc_folder_and_replays_revisits_as_their_payload(cron_capture: CronCapture) -> None:
    folder = cron_capture.warc
    config = f"collections:\n  archive:\n    index_paths: {folder}/\n    archive_paths: {folder}/\n"
    with PywbServer(cron_capture.base / "pywb-folder", config=config) as pywb:
        for url, served in cron_capture.served.items():
            rows = pywb.cdx(url)
            kinds = [row["mime"] for row in rows]
            assert kinds[0] == "text/html" and "warc/revisit" in kinds, rows
            revisit = next(row for row in rows if row["mime"] == "warc/revisit")
            # Raw replay of the revisit: the payload it refers to, byte for byte as the site served it.
            status, headers, body = pywb.get(f"{revisit['timestamp']}id_/{url}", {"Accept-Encoding": "gzip, br"})
            assert status == 200 and headers.get("memento-datetime")
            assert body == served or _decoded(headers, body) == served
            status, _, body = pywb.get(f"{rows[0]['timestamp']}id_/{url}")
            assert status == 200 and body == served
        # A 304 answer is kept as it was: pywb replays a server-not-modified revisit as the 304.
        home = pywb.cdx("http://finews.withounder.com/")
        assert [row.get("status") for row in home].count("304") >= 2
        not_modified = next(row for row in home if row.get("status") == "304")
        status, _, body = pywb.get(f"{not_modified['timestamp']}id_/http://finews.withounder.com/")
        assert (status, body) == (304, b"")


def test_pywb_collection_made_with_wb_manager_replays_the_same(cron_capture: CronCapture) -> None:
    (path,) = warc_files(cron_capture.warc)
    url, served = next(iter(cron_capture.served.items()))
    with PywbServer(cron_capture.base / "pywb-managed", [path]) as pywb:
        rows = pywb.cdx(url)
        assert len(rows) >= 2
        for row in rows:
            status, headers, body = pywb.get(f"{row['timestamp']}id_/{url}", {"Accept-Encoding": "gzip, br"})
            assert status == 200 and _decoded(headers, body) == served

"""Wayback endpoints and their CDX dialects (archiver.capture.cdx), and the pauses a 429 asks for."""

from __future__ import annotations

import datetime as dt
import email.utils
import json

import pytest
from scrapy.settings import Settings

from archiver.capture import cdx
from archiver.capture.wayback import politeness, retry_after
from archiver.exceptions import SettingError


def test_a_pywb_collection_and_the_internet_archive_are_told_by_their_url() -> None:
    pywb = cdx.Endpoint.parse("http://127.0.0.1:8080/coll/")
    assert (pywb.kind, pywb.replay_base) == (cdx.PYWB, "http://127.0.0.1:8080/coll")
    assert pywb.cdx_url("finews.withounder.com/").startswith("http://127.0.0.1:8080/coll/cdx?url=finews.withounder.com")
    ia = cdx.Endpoint.parse("https://web.archive.org")
    assert (ia.kind, ia.replay_base, ia.is_internet_archive) == (cdx.IA, "https://web.archive.org/web", True)
    assert cdx.Endpoint.parse("https://web.archive.org/web/").replay_base == "https://web.archive.org/web"
    query = ia.cdx_url("finews.withounder.com/", since="20220101", resume_key="k1")
    assert query.startswith("https://web.archive.org/cdx/search/cdx?url=finews.withounder.com%2F&matchType=prefix")
    assert "showResumeKey=true" in query and "resumeKey=k1" in query and "from=20220101" in query
    for bad in ("ftp://host/coll", "http://host/a/b", "http://host/coll?x=1", "web.archive.org"):
        with pytest.raises(SettingError):
            cdx.Endpoint.parse(bad)


def test_raw_replay_urls_and_back() -> None:
    ia = cdx.Endpoint.parse("https://web.archive.org")
    capture = cdx.Capture("http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW1", "20220302101500", "200")
    replay = ia.replay_url(capture)
    assert (
        replay
        == "https://web.archive.org/web/20220302101500id_/http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW1"
    )
    assert ia.original_of(replay) == ("20220302101500", capture.url)
    assert ia.original_of("http://web.archive.org/web/20220302id_/http://a.test/") == ("20220302", "http://a.test/")
    assert ia.original_of("https://elsewhere.test/web/2022id_/http://a.test/") is None
    assert capture.warc_date == "2022-03-02T10:15:00Z"


def test_urls_match_whatever_the_scheme_or_default_port() -> None:
    key = cdx.url_key("https://finews.withounder.com/a/2022/03/02/NW1.html")
    assert cdx.url_key("http://finews.withounder.com:80/a/2022/03/02/NW1.html") == key
    assert cdx.url_key("http://FINEWS.withounder.com/a/2022/03/02/NW1.html") == key
    assert cdx.url_key("http://finews.withounder.com:8080/a/2022/03/02/NW1.html") != key
    assert cdx.url_key("http://h.test/x?infoCode=A") != cdx.url_key("http://h.test/x?infoCode=B")


def test_pywb_answers_one_json_object_a_line() -> None:
    body = (
        b'{"urlkey": "test,a)/", "timestamp": "20240101100000", "url": "http://a.test/", "mime": "text/html",'
        b' "status": "200", "digest": "D1"}\n'
        b'{"urlkey": "test,a)/", "timestamp": "20240301100000", "url": "http://a.test/", "mime": "warc/revisit",'
        b' "digest": "D1"}\n\nnot json\n'
    )
    captures, resume = cdx.parse(cdx.PYWB, body)
    assert resume is None
    assert [(c.timestamp, c.status, c.mime) for c in captures] == [
        ("20240101100000", "200", "text/html"),
        ("20240301100000", "", "warc/revisit"),
    ]
    assert cdx.parse(cdx.PYWB, b"") == ([], None)


def test_the_internet_archive_answers_an_array_with_a_header_row_and_a_resume_key() -> None:
    rows = [
        ["original", "timestamp", "statuscode", "mimetype", "digest"],
        ["http://a.test/p.html", "20220101000000", "200", "text/html", "D1"],
        ["http://a.test/p.html", "20220201000000", "301", "text/html", "D2"],
        [],
        ["com,a)/p.html 20220201000000"],
    ]
    captures, resume = cdx.parse(cdx.IA, json.dumps(rows).encode())
    assert resume == "com,a)/p.html 20220201000000"
    assert [c.status for c in captures] == ["200", "301"]
    assert cdx.parse(cdx.IA, json.dumps(rows[:3]).encode())[1] is None
    assert cdx.parse(cdx.IA, b"[]") == ([], None)
    with pytest.raises(ValueError):
        cdx.parse(cdx.IA, b"<html>busy</html>")


def test_the_latest_capture_with_status_200_is_chosen() -> None:
    captures = [
        cdx.Capture("http://a.test/p.html", "20220101000000", "200", "D1"),
        cdx.Capture("https://a.test/p.html", "20220301000000", "200", "D2"),
        cdx.Capture("http://a.test/p.html", "20220401000000", "301"),
        cdx.Capture("http://a.test/p.html", "20220501000000", "-", "D2", "warc/revisit"),
        cdx.Capture("http://a.test/p.html", "20220601000000", "500"),
        cdx.Capture("http://a.test/gone.html", "20220101000000", "404"),
    ]
    chosen = cdx.latest_ok(captures)
    assert list(chosen) == ["a.test/p.html"]
    assert chosen["a.test/p.html"].timestamp == "20220301000000"
    same = [cdx.Capture("http://a.test/p.html", f"2022010{i}000000", "200", "D1") for i in range(1, 4)]
    assert len(list(cdx.distinct(same + captures[:1]))) == 1


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    assert retry_after(b"7") == 7.0
    assert retry_after("999999") == 3600.0
    now = dt.datetime(2024, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
    later = email.utils.format_datetime(now + dt.timedelta(seconds=30), usegmt=True)
    assert retry_after(later, now=now.timestamp()) == pytest.approx(30.0)
    assert retry_after(email.utils.format_datetime(now, usegmt=True), now=now.timestamp() + 60) == 0.0
    assert retry_after(b"soon") is None
    assert retry_after(None) is None


def test_polite_defaults_for_the_internet_archive_and_settings_override_them() -> None:
    ia, pywb = cdx.Endpoint.parse("https://web.archive.org"), cdx.Endpoint.parse("http://127.0.0.1:8080/c")
    settings = Settings({"ARCHIVER_WAYBACK_DELAY": "", "ARCHIVER_WAYBACK_CONCURRENCY": 0})
    assert politeness(settings, ia) == (1.0, 1)
    assert politeness(settings, pywb) == (0.0, 8)
    custom = Settings({"ARCHIVER_WAYBACK_DELAY": "2.5", "ARCHIVER_WAYBACK_CONCURRENCY": "2"})
    assert politeness(custom, ia) == (2.5, 2)
    with pytest.raises(SettingError):
        politeness(Settings({"ARCHIVER_WAYBACK_DELAY": "-1"}), ia)

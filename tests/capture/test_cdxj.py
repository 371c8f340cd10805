"""The CDXJ index (archiver.capture.cdxj): SURT keys as the ``surt`` package (pywb's) makes them, lines as pywb reads them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from archiver.capture import cdxj
from tests.pywbserver import side_tool

URLS = [
    "http://finews.withounder.com/",
    "http://finews.withounder.com/index.html",
    "http://finews.withounder.com/category/zhongguoyinxing.html",
    "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202303031902000909",
    "http://choicewzp1.eastmoney.com/html_News/NewsShare/NW202303010612000101.html",
    "https://www.Example.com:443/A/B/?b=2&a=1&C=3",
    "http://www2.example.com:8080/path/",
    "http://example.com/search?q=&x",
    "http://example.com/a%20b.html#frag",
    "http://EXAMPLE.com",
]


def test_surt_keys_are_the_surt_package_s() -> None:
    python = side_tool("python")
    code = "import json, sys, surt; print(json.dumps([surt.surt(u) for u in json.load(sys.stdin)]))"
    result = subprocess.run(
        [str(python), "-c", code], input=json.dumps(URLS), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert [cdxj.surt(url) for url in URLS] == json.loads(result.stdout)


def test_a_line_is_key_timestamp_and_json_of_strings() -> None:
    line = cdxj.line(
        "http://www.example.com/a?b=1",
        "2026-12-01T21:00:05.123456Z",
        {"mime": "text/html", "status": 200, "digest": "sha1:X", "length": 10, "offset": 0, "filename": "f.warc.gz"},
    )
    key, stamp, body = line.split(" ", 2)
    assert (key, stamp) == ("com,example)/a?b=1", "20261201210005")
    assert json.loads(body) == {
        "url": "http://www.example.com/a?b=1",
        "mime": "text/html",
        "status": "200",
        "digest": "sha1:X",
        "length": "10",
        "offset": "0",
        "filename": "f.warc.gz",
    }
    assert cdxj.end_of([line]) == 10
    assert cdxj.index_path(Path("w/a.warc.gz")) == Path("w/a.cdxj")

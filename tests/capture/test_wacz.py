"""``archiver wacz`` (archiver.capture.wacz): a WACZ 1.1.1 package of the capture, valid for ``wacz validate``.

``wacz validate`` checks little (hashes, sizes, JSON; its check of the required files is a
no-op), so the structure is checked here too: the required files, WARCs STORED, the digests,
the pages header, every page found in the index; and pywb replays a page from the unpacked WACZ.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("warcio", reason="needs warcio: pip install -e '.[test]'")

from warcio.archiveiterator import ArchiveIterator

from archiver.capture import cdxj
from archiver.capture.replay import warc_files
from archiver.capture.wacz import build
from tests.capture.conftest import CronCapture
from tests.crawlrun import run_archiver
from tests.pywbserver import PywbServer, side_tool

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wacz_file(cron_capture: CronCapture) -> Path:
    output = cron_capture.base / "capture.wacz"
    result = run_archiver("wacz", str(cron_capture.archive), "--output", str(output), "--title", "finews demo")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "1 WARC files" in result.stdout and "30 pages" in result.stdout
    return output


def test_the_package_has_the_layout_of_the_specification(wacz_file: Path, cron_capture: CronCapture) -> None:
    with zipfile.ZipFile(wacz_file) as package:
        names = package.namelist()
        infos = {info.filename: info for info in package.infolist()}
        read = package.read
        assert set(names) == {
            *(f"archive/{p.name}" for p in warc_files(cron_capture.warc)),
            "indexes/index.cdx",
            "pages/pages.jsonl",
            "datapackage.json",
            "datapackage-digest.json",
        }
        assert all(infos[n].compress_type == zipfile.ZIP_STORED for n in names if n.startswith("archive/"))
        datapackage = json.loads(read("datapackage.json"))
        assert datapackage["wacz_version"] == "1.1.1" and datapackage["title"] == "finews demo"
        digest = json.loads(read("datapackage-digest.json"))
        assert digest == {
            "path": "datapackage.json",
            "hash": "sha256:" + hashlib.sha256(read("datapackage.json")).hexdigest(),
        }
        resources = {r["path"]: r for r in datapackage["resources"]}
        assert set(resources) == set(names) - {"datapackage.json", "datapackage-digest.json"}
        for path, resource in resources.items():
            data = read(path)
            assert resource["bytes"] == len(data) and resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
        # The WARCs are the archive's files, whole; the index is theirs, sorted.
        for path in warc_files(cron_capture.warc):
            assert read(f"archive/{path.name}") == path.read_bytes()
        index = read("indexes/index.cdx").decode().splitlines()
        assert index == sorted(index) and index == cdxj.read(cdxj.index_path(warc_files(cron_capture.warc)[0]))
        keys = {(key, stamp) for key, stamp, _ in cdxj.entries(index)}
        pages = [json.loads(line) for line in read("pages/pages.jsonl").decode().splitlines()]
        assert pages[0] == {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
        posts = sorted((cron_capture.archive / "_posts").iterdir())
        assert len(pages) - 1 == len(posts) == 30
        for page in pages[1:]:
            stamp = page["ts"].replace("-", "").replace("T", "").replace(":", "").removesuffix("Z")
            assert (cdxj.surt(page["url"]), stamp) in keys, page  # each page is a record of the package
            assert page["title"] and page["id"]
        # Every record reads back from the packed WARC at the offset the index gives.
        for _key, stamp, fields in cdxj.entries(index):
            stream = io.BytesIO(read(f"archive/{fields['filename']}"))
            stream.seek(int(fields["offset"]))
            record = next(iter(ArchiveIterator(stream)))
            assert record.rec_headers.get_header("WARC-Target-URI") == fields["url"]
            assert cdxj.timestamp14(record.rec_headers.get_header("WARC-Date")) == stamp


def test_wacz_validate_accepts_it(wacz_file: Path) -> None:
    result = subprocess.run(
        [str(side_tool("wacz")), "validate", "-f", str(wacz_file)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Validation succeeded" in result.stdout


def test_pywb_replays_a_page_of_the_unpacked_package(wacz_file: Path, cron_capture: CronCapture) -> None:
    url, served = next(iter(cron_capture.served.items()))
    pywb = PywbServer(cron_capture.base / "pywb-wacz")
    pywb.prepare()
    subprocess.run(
        [str(pywb.bin / "wb-manager"), "add", "--unpack-wacz", pywb.collection, str(wacz_file)],
        cwd=pywb.root,
        check=True,
        capture_output=True,
        timeout=120,
    )
    with pywb:
        rows = pywb.cdx(url)
        assert rows
        status, _, body = pywb.get(f"{rows[-1]['timestamp']}id_/{url}", {"Accept-Encoding": "gzip, br"})
        assert status == 200 and body == served


def test_an_archive_without_a_capture_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        build(tmp_path, tmp_path / "x.wacz")
    result = run_archiver("wacz", str(tmp_path))
    assert result.returncode == 64 and "no WARC files" in result.stderr

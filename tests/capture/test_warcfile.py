"""The WARC files of a capture (archiver.capture.warcfile): one a day per kind, appended to, torn tails cut back.

A writer killed with SIGKILL in the middle of a record (stopped with SIGSTOP first, so the test
knows the file ends in a torn record) leaves a file the next writer cuts back and appends to:
``warcio check`` passes and every record reads to its end with warcio's ArchiveIterator (warcio
check alone stops quietly at a torn record, so it cannot tell).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("warcio", reason="needs warcio: pip install -e '.[test]'")

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archiver.capture import cdxj
from archiver.capture.warcfile import WarcFiles, whole_end
from tests.capture.test_warc import warcio_check
from tests.crawlrun import REPO


def _warcinfo(name: str) -> bytes:
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True, warc_version="1.1")
    writer.write_record(writer.create_warcinfo_record(name, {"software": "test"}))
    return buffer.getvalue()


def response_bytes(url: str, body: bytes) -> bytes:
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True, warc_version="1.1")
    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
    record = writer.create_warc_record(url, "response", payload=io.BytesIO(body), length=len(body), http_headers=http)
    writer.write_record(record)
    return buffer.getvalue()


def read_all(path: Path) -> list[tuple[str, str | None, int]]:
    """Every record read to its end: type, URL and the length of its block (WARC content).

    warcio hands out a torn record as if it were whole, only shorter, and ``warcio check``
    passes it: here each block must be as long as its ``Content-Length`` says, its digest right.
    """
    records = []
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream, no_record_parse=True, check_digests=True):
            block = record.raw_stream.read()
            headers = record.rec_headers
            declared = int(headers.get_header("Content-Length"))
            assert len(block) == declared, f"{path}: a record of {len(block)} bytes declares {declared}"
            records.append((record.rec_type, headers.get_header("WARC-Target-URI"), len(block)))
    return records


def files(root: Path, **kwargs: object) -> WarcFiles:
    options: dict[str, object] = {"max_bytes": 10_000_000, "kind": "crawl", "warcinfo": _warcinfo, **kwargs}
    return WarcFiles(root, **options)  # type: ignore[arg-type]


def test_runs_of_one_day_append_to_one_file_and_its_index(tmp_path: Path) -> None:
    for run in range(5):
        writer = files(tmp_path)
        for i in range(3):
            url = f"http://example.test/{run}/{i}.html"
            writer.append(response_bytes(url, b"x" * 100), lambda name, offset: [])
        writer.close()
    (path,) = sorted((tmp_path / "warc").glob("*.warc.gz"))
    assert path.name.startswith(f"archiver-{dt.datetime.now(dt.UTC):%Y%m%d}-") and "-crawl-00001" in path.name
    records = read_all(path)
    assert [kind for kind, _, _ in records] == ["warcinfo"] + ["response"] * 15  # one warcinfo: the file's
    assert warcio_check(path).returncode == 0


def test_a_new_day_and_a_full_file_start_the_next(tmp_path: Path) -> None:
    today = [dt.datetime(2026, 1, 1, 23, 59, tzinfo=dt.UTC)]
    writer = files(tmp_path, max_bytes=64 * 1024, clock=lambda: today[0])
    writer.append(response_bytes("http://example.test/a", b"a"))
    writer.append(response_bytes("http://example.test/b", b"b"))
    today[0] += dt.timedelta(minutes=5)
    writer.append(response_bytes("http://example.test/c", os.urandom(70_000)))  # the next day
    writer.append(response_bytes("http://example.test/d", os.urandom(70_000)))  # past the limit
    writer.close()
    names = sorted(p.name.split("-", 1)[1] for p in (tmp_path / "warc").glob("*.warc.gz"))
    assert [name[:8] for name in names] == ["20260101", "20260102", "20260102"]
    assert names[1].endswith("-00001.warc.gz") and names[2].endswith("-00002.warc.gz")


def test_two_writers_at_once_never_share_a_file(tmp_path: Path) -> None:
    first, second = files(tmp_path, kind="worker"), files(tmp_path, kind="worker")
    a = first.append(response_bytes("http://example.test/a", b"a"))
    b = second.append(response_bytes("http://example.test/b", b"b"))
    assert a[0] != b[0] and a[0].endswith("-worker-00001.warc.gz") and b[0].endswith("-worker-00002.warc.gz")
    first.close()
    second.close()
    again = files(tmp_path, kind="worker")  # both free again: the first has room
    assert again.append(response_bytes("http://example.test/c", b"c"))[0] == a[0]
    again.close()


def test_a_torn_tail_is_cut_back_and_the_whole_records_it_left_are_indexed(tmp_path: Path) -> None:
    writer = files(tmp_path)
    writer.append(response_bytes("http://example.test/a", b"a" * 1000))
    writer.close()
    (path,) = (tmp_path / "warc").glob("*.warc.gz")
    whole = response_bytes("http://example.test/b", b"b" * 1000)  # written whole by a run killed later
    torn = response_bytes("http://example.test/c", os.urandom(5000))
    with path.open("ab") as stream:
        stream.write(whole + torn[: len(torn) // 2])
    assert whole_end(path) == path.stat().st_size - len(torn) // 2
    assert warcio_check(path).returncode == 0  # warcio check does not see the torn record ...
    with pytest.raises(AssertionError, match="declares"):  # ... reading every record does
        read_all(path)
    writer = files(tmp_path)
    writer.append(response_bytes("http://example.test/d", b"d" * 1000), lambda name, offset: [])
    writer.close()
    assert writer.repaired == len(torn) // 2
    assert [url for _, url, _ in read_all(path)][1:] == [f"http://example.test/{c}" for c in "abd"]
    indexed = [fields["url"] for _, _, fields in cdxj.entries(cdxj.read(cdxj.index_path(path)))]
    assert "http://example.test/b" in indexed  # found whole by the repair, though its run never indexed it


# A writer of big records in small writes, so a kill lands in the middle of one.
_SLOW_WRITER = """
import io, os, sys
from pathlib import Path
from archiver.capture import warcfile
from tests.capture.test_warcfile import _warcinfo, response_bytes
real = os.write
warcfile.os.write = lambda fd, data: real(fd, bytes(data[:4096]))
writer = warcfile.WarcFiles(Path(sys.argv[1]), max_bytes=10**9, kind="crawl", warcinfo=_warcinfo)
for i in range(200):  # 80 MB at most
    writer.append(response_bytes(f"http://example.test/{i}.html", os.urandom(400_000)))
"""


def test_kill_9_in_the_middle_of_a_record_then_a_run_appends(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(tmp_path)], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    path = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = list((tmp_path / "warc").glob("*.warc.gz"))
            if found and found[0].stat().st_size > 1_500_000:
                path = found[0]
                proc.send_signal(signal.SIGSTOP)
                if whole_end(path) < path.stat().st_size:
                    break  # stopped in the middle of a record: kill it there
                proc.send_signal(signal.SIGCONT)
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert path is not None, "the writer wrote nothing in 60 s"
    size = path.stat().st_size
    torn = size - whole_end(path)
    assert torn > 0
    with pytest.raises(AssertionError, match="declares"):  # the torn record
        read_all(path)
    writer = files(tmp_path, max_bytes=10**9)  # as the killed writer's: room in its file
    writer.append(response_bytes("http://example.test/after-the-kill.html", b"<p>next run</p>"), lambda n, o: [])
    writer.close()
    assert writer.name == path.name  # appended to the same file
    assert path.stat().st_size < size
    assert warcio_check(path).returncode == 0
    records = read_all(path)
    assert records[0][0] == "warcinfo" and records[-1][1] == "http://example.test/after-the-kill.html"
    assert len({length for _, _, length in records[1:-1]}) == 1  # every record of the killed writer whole

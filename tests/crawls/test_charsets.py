"""Charsets that lie: the demo site served with wrong charset claims archives exactly what the honest site gives.

The demo site (``spiders/demo/site``) is copied to ``tmp_path``, and some copies are changed:

- F3: GB18030 share pages served as ``Content-Type: text/html; charset=utf-8``;
- F3b: share pages re-encoded to UTF-8 that keep their ``<meta charset="gb2312">``, served with
  no charset in the header and with ``charset=gb2312``;
- a server default of ``charset=iso-8859-1`` on every page (cp1252 decodes almost any bytes);
- a share page whose bytes no candidate decodes.

``archiver.devserver`` never sends a charset (share pages declare theirs in ``<meta>``, as on the
real site), so ``CharsetProxy`` below serves the copies with the header each case needs. A fresh
crawl must write the same files as a crawl of the unchanged site. A re-run over that good archive,
revalidating every post (``--recheck-days``), must change no file: not its bytes, not its mtime.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from archiver.devserver.server import SiteServer
from tests.crawlrun import crawl
from tests.incsite import archive_files, snapshot
from tests.loopback import LoopbackServer, QuietHandler

pytestmark = pytest.mark.slow

DEMO_SITE = Path(__file__).resolve().parents[2] / "spiders" / "demo" / "site"
RECHECK = ("--recheck-days", "100000")  # the demo is dated 2023: revalidate every post
SHARE_HOSTS = ("finews.zning.xyz", "choicewzp1.eastmoney.com")
GB_LABEL = b'<meta charset="gb2312">'
BROKEN = "NW202303022300055474"  # a GB share page, made undecodable by test_an_undecodable_share_page
MAX_SECONDS = 300.0


def gb_share_pages(site: Path) -> list[Path]:
    pages = [p for host in SHARE_HOSTS for p in sorted((site / host).rglob("*.html")) if GB_LABEL in p.read_bytes()]
    for p in pages:
        with pytest.raises(UnicodeDecodeError):
            p.read_bytes().decode("utf-8")  # GB18030 bytes, as the label says
    return pages


def to_utf8_keeping_the_gb_label(site: Path) -> None:
    for p in gb_share_pages(site):
        text = p.read_bytes().decode("gb18030")
        p.write_bytes(text.encode("utf-8"))
        assert GB_LABEL in p.read_bytes()


class CharsetProxy(LoopbackServer):
    """A loopback HTTP proxy answering ``ROOT/<host>/...`` like ``archiver.devserver``, with a chosen charset.

    The Content-Type is ``text/html; charset=<charset>`` for every page (no charset: none).
    It stops by itself after ``MAX_SECONDS``.
    """

    def __init__(self, root: Path, charset: str | None) -> None:
        self.root = root.resolve()
        self.content_type = f"text/html; charset={charset}" if charset else "text/html"
        self.requested: list[str] = []
        proxy = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                proxy.requested.append(self.path)
                if (body := self.site_file(proxy.root)) is not None:
                    self.answer(200, {"Content-Type": proxy.content_type}, body)

        super().__init__(Handler, MAX_SECONDS)

    def share_requests(self) -> int:
        return sum("NewsShare" in path for path in self.requested)


@contextmanager
def serve(site: Path, charset: str | None) -> Iterator[str]:
    """The proxy URL of ``site`` served with ``charset`` in every Content-Type (None: the devserver's, without)."""
    if charset is None:
        with SiteServer(site, max_seconds=MAX_SECONDS) as server:
            yield server.proxy_url
            assert server.count(status=200, path_contains="NewsShare") > 0
    else:
        with CharsetProxy(site, charset) as proxy:
            yield proxy.proxy_url
            assert proxy.share_requests() > 0


def stat(stderr: str, name: str) -> int:
    match = re.search(rf"'archiver/{re.escape(name)}': (\d+)", stderr)
    return int(match.group(1)) if match else 0


def no_replacement_character(files: dict[str, bytes]) -> None:
    garbled = [name for name, data in files.items() if "\ufffd" in data.decode("utf-8")]
    assert not garbled, garbled


@pytest.fixture(scope="module")
def exact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh crawl of the unchanged demo site: the archive every case must leave."""
    output = tmp_path_factory.mktemp("exact") / "archive"
    with SiteServer(DEMO_SITE, max_seconds=MAX_SECONDS) as server:
        result = crawl(output, server.proxy_url)
    assert result.returncode == 0, result.stderr[-2000:]
    assert stat(result.stderr, "pages/encoding_corrected") == 0
    no_replacement_character(archive_files(output))
    return output


# (site change, charset of every Content-Type, pages whose encoding the archiver must correct)
CASES: dict[str, tuple[Callable[[Path], None] | None, str | None, str]] = {
    "F3-gb-served-as-utf8": (None, "utf-8", "gb"),
    "F3b-utf8-labelled-gb2312": (to_utf8_keeping_the_gb_label, None, "gb"),
    # Every page is served as gb2312 here, the UTF-8 post pages too: all of them are corrected.
    "F3b-utf8-labelled-and-served-as-gb2312": (to_utf8_keeping_the_gb_label, "gb2312", "all"),
    "server-default-iso-8859-1": (None, "iso-8859-1", "all"),
}


def site_for(case: str, tmp_path: Path) -> Path:
    site = tmp_path / "site"
    shutil.copytree(DEMO_SITE, site)
    change = CASES[case][0]
    if change is not None:
        change(site)
    return site


def expected_corrections(case: str) -> int:
    if CASES[case][2] == "gb":
        return len(gb_share_pages(DEMO_SITE))
    # Every page that is not pure ASCII: a wrong header gives way to valid UTF-8 and to the GB <meta>.
    return sum(not p.read_bytes().isascii() for p in DEMO_SITE.rglob("*.html"))


@pytest.mark.parametrize("case", CASES)
def test_a_fresh_crawl_archives_what_the_honest_site_gives(exact: Path, tmp_path: Path, case: str) -> None:
    site = site_for(case, tmp_path)
    output = tmp_path / "archive"
    with serve(site, CASES[case][1]) as proxy:
        result = crawl(output, proxy)
    assert result.returncode == 0, result.stderr[-2000:]
    assert archive_files(output) == archive_files(exact)
    assert stat(result.stderr, "pages/encoding_corrected") == expected_corrections(case)
    assert "undecodable" not in result.stderr


@pytest.mark.parametrize("case", CASES)
def test_a_rerun_over_a_good_archive_changes_no_file(exact: Path, tmp_path: Path, case: str) -> None:
    site = site_for(case, tmp_path)
    output = tmp_path / "archive"
    shutil.copytree(exact, output, copy_function=shutil.copy2)
    files, before = archive_files(output), visible(snapshot(output))
    with serve(site, CASES[case][1]) as proxy:
        result = crawl(output, proxy, *RECHECK)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "0 new, 0 updated, 30 unchanged" in result.stderr
    assert archive_files(output) == files
    assert visible(snapshot(output)) == before


def visible(snap: dict[str, tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
    return {name: value for name, value in snap.items() if not name.startswith(".archiver/")}


def break_share_page(site: Path) -> Path:
    """A GB share page with a byte (0xFF) that is neither GB18030 nor UTF-8, inside its article."""
    (path,) = [p for p in gb_share_pages(site) if p.stem == BROKEN]
    data = path.read_bytes()
    at = data.index(b'id="ContentBody"')
    at = data.index(b"<p>", at) + len(b"<p>")
    path.write_bytes(data[:at] + b"\xff" + data[at:])
    return path


def test_an_undecodable_share_page_is_refused_and_its_post_made_from_its_post_page(exact: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(DEMO_SITE, site)
    break_share_page(site)
    output = tmp_path / "archive"
    with serve(site, "utf-8") as proxy:
        result = crawl(output, proxy)
    assert result.returncode == 0, result.stderr[-2000:]
    archived, good = archive_files(output), archive_files(exact)
    no_replacement_character(archived)
    assert set(archived) == set(good)
    differing = {name for name in good if archived[name] != good[name]}
    assert differing <= {f"_posts/2023-03-02-{BROKEN}.md"}  # its body rebuilt from the post page
    report = json.loads((output / ".archiver" / "runs.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    refused = [(e["url"], e["error"].split(" <")[0]) for e in report["errors"] if "undecodable" in e["error"]]
    assert refused == [(f"http://finews.zning.xyz/html_News/NewsShare.html?infoCode={BROKEN}", "refused: undecodable")]

    # Over the good archive, the refused page changes nothing: the post page renders the same.
    rerun = tmp_path / "rerun"
    shutil.copytree(exact, rerun, copy_function=shutil.copy2)
    before = visible(snapshot(rerun))
    with serve(site, "utf-8") as proxy:
        result = crawl(rerun, proxy, *RECHECK)
    assert result.returncode == 0, result.stderr[-2000:]
    assert archive_files(rerun) == good
    assert visible(snapshot(rerun)) == before

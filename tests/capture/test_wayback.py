"""``archiver crawl --from-wayback``: the past from a real pywb, loaded with WARC files made without the archiver.

The fixture site (``spiders/demo/site``) is captured through the loopback site server with warcio
(``tests.capture.waybackfixtures``), dated as each test needs, and served by pywb from its own
venv. A crawl from those captures must write what a live crawl of the site writes, byte for byte;
the latest capture of a page wins; a post whose share page was never captured is made from its
post page, as a live crawl does when the share page is gone; the live site is never asked.
The Internet Archive's dialect is tested against a stub in ``test_wayback_ia.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("warcio", reason="needs warcio: pip install -e '.[test]'")

from warcio.archiveiterator import ArchiveIterator

from archiver.devserver.server import SiteServer
from archiver.store.runlog import read_runs
from tests.capture.waybackfixtures import Pywb, capture_warc, pywb_missing, site_urls
from tests.conftest import shared_path
from tests.crawlrun import crawl, run_archiver

pytestmark = pytest.mark.slow

EDITED = "NW202303032300106670"  # a liuzhouwanbao post of 2023-03-03 with a share page on finews.zning.xyz
SHARE = f"http://finews.zning.xyz/html_News/NewsShare.html?infoCode={EDITED}"
DAY1 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for folder in ("_posts", "old_post", "category")
        if (root / folder).is_dir()
        for p in sorted((root / folder).iterdir())
        if p.is_file()
    }


def mtimes(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): p.stat().st_mtime_ns
        for p in root.rglob("*")
        if p.is_file() and ".archiver" not in p.parts
    }


def edit_share_page(site: Path, text: str) -> None:
    page = site / "finews.zning.xyz" / "html_News" / "NewsShare" / f"{EDITED}.html"
    html = page.read_bytes()  # some share pages are GB18030: edited as bytes, in ASCII
    marker = b'<div class="txtinfos" id="ContentBody">'
    assert marker in html
    page.write_bytes(html.replace(marker, marker + f"<p>{text}</p>".encode("ascii"), 1))


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory, demo_site: Path):
    """A pywb with collections: ``all`` (the site on day 1), ``edits`` (plus a later and an earlier edit
    of one share page), ``noshare`` (the site without its share pages)."""
    if (reason := pywb_missing()) is not None:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("wayback")
    site = work / "site"
    shutil.copytree(demo_site, site)
    urls = site_urls(site)
    warcs = work / "warcs"
    warcs.mkdir()
    with SiteServer(site, max_seconds=120) as server:
        capture_warc(server.port, urls, warcs / "day1.warc.gz", DAY1)
        capture_warc(server.port, [u for u in urls if "NewsShare" not in u], warcs / "noshare.warc.gz", DAY1)
        edit_share_page(site, "EDITED LATER")
        capture_warc(server.port, [SHARE], warcs / "later.warc.gz", DAY1 + dt.timedelta(days=31))
    edit_share_page(site, "AN OLDER TEXT")
    with SiteServer(site, max_seconds=120) as server:
        capture_warc(server.port, [SHARE], warcs / "older.warc.gz", DAY1 - dt.timedelta(days=31))
    collections = {
        "all": [warcs / "day1.warc.gz"],
        # The latest capture wins whatever the order of the files.
        "edits": [warcs / "later.warc.gz", warcs / "day1.warc.gz", warcs / "older.warc.gz"],
        "noshare": [warcs / "noshare.warc.gz"],
    }
    with Pywb(work / "pywb", collections, max_seconds=900) as pywb:
        yield pywb


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, demo_site: Path) -> Path:
    """A live crawl of the fixture site: what every archive from its captures must equal."""
    out = tmp_path_factory.mktemp("live") / "archive"
    with SiteServer(demo_site, max_seconds=120) as server:
        result = crawl(out, server.proxy_url)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def wayback(url: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    # No http_proxy: nothing but the endpoint is reachable, as in a real backfill of a vanished site.
    return run_archiver("crawl", "finews", "--from-wayback", url, "--output", str(out), *extra)


def test_archive_from_pywb_equals_a_live_crawl_and_a_second_run_changes_nothing(archives, live, tmp_path) -> None:
    out = tmp_path / "archive"
    result = wayback(archives.url("all"), out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert tree(out) == tree(live)
    assert len(list((out / "_posts").glob("*.md"))) == 30
    run = read_runs(out / ".archiver" / "runs.jsonl")[-1]
    assert run["source"] == {"wayback": archives.url("all")}
    assert run["status"] == "ok" and run["posts"]["new"] == 30
    assert run["wayback"]["urls"] == 60 and run["wayback"]["not_captured"] == run["wayback"]["replayed"] - 60 + 2
    before = mtimes(out)
    again = wayback(archives.url("all"), out)
    assert again.returncode == 0, again.stderr[-3000:]
    assert mtimes(out) == before, "a second run writes no archive file"
    assert read_runs(out / ".archiver" / "runs.jsonl")[-1]["posts"]["skipped_known"] == 30


def test_the_latest_capture_of_a_page_wins(archives, tmp_path) -> None:
    out = tmp_path / "archive"
    result = wayback(archives.url("edits"), out)
    assert result.returncode == 0, result.stderr[-3000:]
    (post,) = (out / "_posts").glob(f"*-{EDITED}.md")
    text = post.read_text("utf-8")
    assert "EDITED LATER" in text and "AN OLDER TEXT" not in text


def test_a_post_whose_share_page_was_never_captured_is_made_from_its_post_page(archives, demo_site, tmp_path) -> None:
    gone = tmp_path / "gone"
    with SiteServer(demo_site, fail_paths={"NewsShare": 404}, max_seconds=120) as server:
        assert crawl(gone, server.proxy_url).returncode == 0
    out = tmp_path / "archive"
    result = wayback(archives.url("noshare"), out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert tree(out) == tree(gone), "as a live crawl of the site whose share pages are gone"


def test_the_live_site_is_never_asked(archives, demo_site, tmp_path) -> None:
    out = tmp_path / "archive"
    with SiteServer(demo_site, max_seconds=120) as site:
        # The site is reachable through the proxy; the endpoint (loopback) is not proxied.
        result = subprocess.run(
            [sys.executable, "-m", "archiver", "crawl", "finews", "--from-wayback", archives.url("noshare"),
             "--output", str(out)],
            env={**_env(), "http_proxy": site.proxy_url, "no_proxy": "127.0.0.1"},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        assert site.requests == [], "no request reached the live site"
    assert len(list((out / "_posts").glob("*.md"))) == 30


def _env() -> dict[str, str]:
    from tests.crawlrun import archiver_env

    return archiver_env(None)


def test_a_live_archive_gets_its_past_filled_in(archives, demo_site, live, tmp_path) -> None:
    out = tmp_path / "archive"
    with SiteServer(demo_site, max_seconds=120) as server:
        recent = crawl(out, server.proxy_url, "--since", "2023-03-04")
    assert recent.returncode == 0, recent.stderr[-3000:]
    known = len(list((out / "_posts").glob("*.md")))
    assert 0 < known < 30
    result = wayback(archives.url("all"), out, "--jobdir", str(tmp_path / "job"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert tree(out) == tree(live)
    runs = read_runs(out / ".archiver" / "runs.jsonl")
    assert "source" not in runs[0] and runs[-1]["source"] == {"wayback": archives.url("all")}
    assert runs[-1]["posts"]["new"] == 30 - known
    assert not (tmp_path / "job" / "requests.queue").exists(), "a finished job leaves no queue"


def test_the_backfill_window_applies_to_the_post_day(archives, tmp_path) -> None:
    out = tmp_path / "archive"
    result = wayback(archives.url("all"), out, "--since", "2023-03-02", "--until", "2023-03-03")
    assert result.returncode == 0, result.stderr[-3000:]
    days = {p.name[:10] for p in (out / "_posts").glob("*.md")}
    assert days == {"2023-03-02", "2023-03-03"}
    assert len(list((out / "_posts").glob("*.md"))) == 16


def test_warc_records_each_capture_by_its_original_url_and_capture_time(archives, live, demo_site, tmp_path) -> None:
    out = tmp_path / "archive"
    result = wayback(archives.url("all"), out, "--warc")
    assert result.returncode == 0, result.stderr[-3000:]
    responses = []
    for path in sorted((out / "warc").glob("*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    headers = record.rec_headers
                    responses.append((headers.get_header("WARC-Target-URI"), headers.get_header("WARC-Date")))
    assert responses
    endpoint = archives.url("all")
    # CDX queries are the endpoint's; every page is recorded under its own URL, dated when it was captured.
    pages = [(url, date) for url, date in responses if not url.startswith(endpoint)]
    assert len(pages) >= 30 + 21
    assert all("127.0.0.1" not in url for url, _ in pages)
    assert all(date.startswith("2024-01-01T00:") for _, date in pages), pages[:3]
    rebuilt = tmp_path / "rebuilt"
    again = run_archiver("rebuild", "--from-warc", str(out / "warc"), "--output", str(rebuilt))
    assert tree(rebuilt) == tree(live)
    # Share pages the site never had were never captured, so the WARC files hold no answer for them
    # (a Wayback run invents none): the rebuild counts them as failed, and makes their posts as the crawl did.
    failed = {e["url"] for e in read_runs(rebuilt / ".archiver" / "runs.jsonl")[-1]["errors"]}
    assert again.returncode in (0, 2), again.stderr[-3000:]
    assert failed and all("NewsShare" in url and url not in site_urls(demo_site) for url in failed)


def test_a_bad_endpoint_is_a_usage_error(tmp_path) -> None:
    result = run_archiver("crawl", "finews", "--from-wayback", "ftp://example.test/x", "--output", str(tmp_path / "o"))
    assert result.returncode == 64, result.stderr
    assert "ARCHIVER_WAYBACK_URL" in result.stderr


# --- the measure of done: the replica of ../shared, from its captures alone -------------------------
@pytest.mark.shared
def test_the_replica_from_pywb_equals_a_live_crawl_of_it(tmp_path: Path) -> None:
    if (reason := pywb_missing()) is not None:
        pytest.skip(reason)
    if shutil.which("jekyll") is None:
        pytest.skip("compare.py renders both sides with Debian's jekyll, which is not installed")
    shared = shared_path()
    replica, corpus = shared / "replica", shared / "corpus" / "finews" / "posts"
    warc = tmp_path / "replica.warc.gz"
    live = tmp_path / "live"
    with SiteServer(replica, max_seconds=120) as server:
        assert capture_warc(server.port, site_urls(replica), warc, DAY1) > 0
        assert crawl(live, server.proxy_url).returncode == 0
    out = tmp_path / "archive"
    with Pywb(tmp_path / "pywb", {"replica": [warc]}) as pywb:
        result = wayback(pywb.url("replica"), out)
        assert result.returncode == 0, result.stderr[-3000:]
        before = mtimes(out)
        assert wayback(pywb.url("replica"), out).returncode == 0
        assert mtimes(out) == before, "a second run writes no archive file"

    def compare(archive: Path) -> dict:
        report = archive.with_suffix(".json")
        subprocess.run(
            [sys.executable, str(shared / "tools" / "compare.py"), str(corpus), str(archive), "--json", str(report)],
            check=True, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        return json.loads(report.read_text("utf-8"))

    got, want = compare(out), compare(live)
    assert got["missing"] == [] and got["extra"] == []
    assert got["archived"] == got["posts"] > 0
    assert got["front"] == got["posts"], got["front_diff"]
    assert got["render"] == got["posts"], got["render_diff"]
    assert got["bytes"] >= want["bytes"] >= 8
    assert tree(out) == tree(live)


def test_a_capture_never_takes_back_what_a_live_run_archived(tmp_path) -> None:
    from tests.incsite import archive_files, build, dated_articles, edited

    articles = dated_articles(old=2, young=3, seed=4)
    young = {a.code for a in articles[-3:]}
    v1, _ = build(articles, tmp_path / "v1")
    v2, expected = build(edited(articles, young), tmp_path / "v2")
    warc = tmp_path / "v1.warc.gz"
    out = tmp_path / "archive"
    with SiteServer(v1, max_seconds=120) as server:
        capture_warc(server.port, site_urls(v1), warc, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    with SiteServer(v2, max_seconds=120) as server:
        assert crawl(out, server.proxy_url).returncode == 0
    live = archive_files(out)
    assert live.keys() == archive_files(expected).keys()
    with Pywb(tmp_path / "pywb", {"v1": [warc]}) as pywb:
        result = wayback(pywb.url("v1"), out)
    assert result.returncode == 0, result.stderr[-3000:]
    # The posts of the recheck window keep their later text: a capture is never newer than what cron saw.
    assert archive_files(out) == live
    assert read_runs(out / ".archiver" / "runs.jsonl")[-1]["posts"]["skipped_known"] == len(articles)


def test_a_collection_that_is_not_there_fails_the_run_and_says_so(archives, tmp_path) -> None:
    out = tmp_path / "archive"
    result = wayback(archives.url("all").rsplit("/", 1)[0] + "/nosuch", out)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "pywb has no collection" in result.stderr
    run = read_runs(out / ".archiver" / "runs.jsonl")[-1]
    assert run["status"] == "pages_failed" and run["posts"]["new"] == 0
    assert run["wayback"]["urls"] == 0 and run["errors"][0]["url"].endswith("/nosuch/")

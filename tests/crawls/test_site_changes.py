"""Site changes: a changed copy of the site exits 4 with its findings and changes no archived file.

Every kind of change of ``tests/sitechanges.py`` is crawled on a fresh archive and on a re-run
over a good archive (with a recheck window that revalidates every archived post): exit 4, the
findings (page class, finding, pages of how many, an example URL) in ``runs.jsonl`` and in the
summary line, no archived file written or changed (bytes and mtime), and no stored page replaced
by a changed one. The plain sites exit 0 without findings, and injected faults are never taken
for a change. ``scrapy check finews`` passes on the demo site and fails on a changed copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from archiver.devserver.server import SiteServer
from tests import sitechanges
from tests.conftest import REPO_ROOT, shared_path
from tests.crawlrun import SITE_URL, archiver_env, crawl

DEMO = REPO_ROOT / "spiders" / "demo" / "site"
RECHECK_ALL = ("--recheck-days", "100000")  # every archived post is revalidated by a re-run
ARCHIVE_FOLDERS = ("_posts", "old_post", "category")


# The changes the issue names are also made to the replica; every kind to the demo site (ours).
ON_REPLICA = {
    "title_out_of_h1", "permalink_change", "anti_bot_wall", "share_container_renamed", "share_host_moved",
    "time_format_changed", "tags_not_in_em", "share_link_in_data_attribute", "footer_category_moved",
}  # fmt: skip


def sites() -> list[Any]:
    replica = shared_path() / "replica"
    return [
        pytest.param(DEMO, id="demo"),
        pytest.param(
            replica,
            id="replica",
            marks=pytest.mark.skipif(not replica.is_dir(), reason=f"needs the replica at {replica} (ARCHIVER_SHARED)"),
        ),
    ]


def cases() -> list[Any]:
    return [
        pytest.param(kind, site.values[0], id=f"{kind}-{site.id}", marks=site.marks)
        for kind in sorted(sitechanges.CHANGES)
        for site in sites()
        if site.id == "demo" or kind in ON_REPLICA
    ]


def archive_files(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every archived file: its bytes and mtime."""
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for folder in ARCHIVE_FOLDERS
        if (root / folder).is_dir()
        for p in sorted((root / folder).rglob("*"))
        if p.is_file()
    }


def stored_pages(root: Path) -> dict[str, bytes]:
    folder = root / ".archiver" / "pages"
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.page"))}


def last_run(root: Path) -> dict[str, Any]:
    lines = (root / ".archiver" / "runs.jsonl").read_text(encoding="utf-8").splitlines()
    return json.loads(lines[-1])


def run(output: Path, site: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    with SiteServer(site, max_seconds=120) as server:
        return crawl(output, server.proxy_url, *extra)


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Path]:
    """A good archive of each site (made with the re-run's recheck window), by site."""
    archives: dict[Path, Path] = {}
    for param in sites():
        site = param.values[0]
        if not site.is_dir():
            continue
        output = tmp_path_factory.mktemp("good") / "archive"
        result = run(output, site, *RECHECK_ALL)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "site_changed" not in last_run(output)
        archives[site] = output
    return archives


def assert_findings(
    result: subprocess.CompletedProcess[str], output: Path, change: sitechanges.Change, rerun: bool
) -> None:
    assert result.returncode == 4, result.stdout[-2000:] + result.stderr[-3000:]
    report = last_run(output)
    assert report["status"] == "site_changed"
    found = {(f["page_class"], f["finding"]): f for f in report["site_changed"]}
    assert set(found) == (change.rerun if rerun else change.fresh), report["site_changed"]
    for (page_class, _), finding in found.items():
        assert 1 <= finding["pages"] <= finding["of"]
        if page_class in change.every_page:
            assert finding["pages"] == finding["of"], finding
        if page_class == "home":
            assert finding["of"] == 1 and finding["example"] == SITE_URL
        assert finding["example"].startswith("http://"), finding
        assert finding["description"].startswith(f"{page_class} pages ")
    summary = result.stdout + result.stderr
    assert "the site changed: " in summary and "the spider needs updating" in summary
    first = report["site_changed"][0]
    assert f"{first['pages']} of {first['of']} {first['page_class']} pages" in summary


@pytest.mark.parametrize(("kind", "site"), cases())
def test_a_change_on_a_fresh_archive_exits_4_and_archives_nothing_from_it(
    kind: str, site: Path, good: dict[Path, Path], tmp_path: Path
) -> None:
    change = sitechanges.CHANGES[kind]
    changed = sitechanges.changed_copy(site, kind, tmp_path / "site")
    output = tmp_path / "archive"
    result = run(output, changed)
    assert_findings(result, output, change, rerun=False)
    # What was archived is what the good archive has, byte for byte: nothing from a changed page.
    reference = {name: data for name, (data, _) in archive_files(good[site]).items()}
    written = {name: data for name, (data, _) in archive_files(output).items()}
    assert {name: reference.get(name) for name in written} == written
    if "post" in change.every_page or "home" in change.every_page:
        assert not [name for name in written if name.startswith("_posts/")]


@pytest.mark.parametrize(("kind", "site"), cases())
def test_a_change_on_a_rerun_over_a_good_archive_changes_no_file(
    kind: str, site: Path, good: dict[Path, Path], tmp_path: Path
) -> None:
    change = sitechanges.CHANGES[kind]
    output = tmp_path / "archive"
    shutil.copytree(good[site], output)
    before, pages_before = archive_files(output), stored_pages(output)
    changed = sitechanges.changed_copy(site, kind, tmp_path / "site")
    # A second run over changed listings still revalidates against the good stored copies.
    runs = 2 if change.every_page & {"home", "category"} else 1
    for attempt in range(runs):
        result = run(output, changed, *RECHECK_ALL)
        assert_findings(result, output, change, rerun=True)
        assert archive_files(output) == before, f"run {attempt + 1}"
        pages = stored_pages(output)
        assert {name: pages.get(name) for name in pages_before} == pages_before, f"run {attempt + 1}"
    # And once the site is back, the next run finds everything as it was.
    result = run(output, site, *RECHECK_ALL)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "site_changed" not in last_run(output)
    assert archive_files(output) == before


@pytest.mark.parametrize("site", sites())
def test_the_plain_site_exits_0_with_every_page_checked_and_no_finding(good: dict[Path, Path], site: Path) -> None:
    report = last_run(good[site])
    assert report["status"] == "ok"
    assert "site_changed" not in report


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_faults_are_never_a_site_change(tmp_path: Path, seed: int) -> None:
    output = tmp_path / "archive"
    with SiteServer(DEMO, fail=0.2, drop=0.05, truncate=0.1, seed=seed, max_seconds=120) as server:
        for _ in range(2):
            result = crawl(
                output, server.proxy_url, "-s", "ARCHIVER_RETRY_BACKOFF=0.02", "-s", "ARCHIVER_RETRY_BACKOFF_MAX=0.1"
            )
            assert result.returncode in (0, 2), result.stdout[-2000:] + result.stderr[-3000:]
            assert "site_changed" not in last_run(output)
        assert server.stats().get("fail", 0) and server.stats().get("truncate", 0)


def scrapy_check(site: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    with SiteServer(site, max_seconds=120) as server:
        return subprocess.run(
            [sys.executable, "-m", "scrapy.cmdline", "check", "finews", "-a", f"start_url={SITE_URL}",
             "-s", f"ARCHIVER_OUTPUT_DIR={tmp_path / 'check'}"],
            cwd=REPO_ROOT,
            env={**archiver_env(server.proxy_url), "SCRAPY_SETTINGS_MODULE": "archiver.settings"},
            capture_output=True,
            text=True,
            timeout=120,
        )  # fmt: skip


@pytest.mark.parametrize("site", sites())
def test_scrapy_check_passes_on_the_site(site: Path, tmp_path: Path) -> None:
    result = scrapy_check(site, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "OK" in result.stderr


@pytest.mark.parametrize("kind", ["title_out_of_h1", "share_container_renamed", "anti_bot_wall", "permalink_change"])
def test_scrapy_check_fails_on_a_changed_copy(kind: str, tmp_path: Path) -> None:
    changed = sitechanges.changed_copy(DEMO, kind, tmp_path / "site")
    result = scrapy_check(changed, tmp_path)
    assert result.returncode != 0, result.stderr[-3000:]
    assert "FAILED" in result.stderr


def test_the_generators_change_only_a_copy(tmp_path: Path) -> None:
    before = {str(p.relative_to(DEMO)): p.stat().st_mtime_ns for p in DEMO.rglob("*") if p.is_file()}
    for kind in sitechanges.CHANGES:
        sitechanges.changed_copy(DEMO, kind, tmp_path / kind)
        assert os.listdir(tmp_path / kind)
    assert {str(p.relative_to(DEMO)): p.stat().st_mtime_ns for p in DEMO.rglob("*") if p.is_file()} == before

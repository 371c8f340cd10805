"""Never degrade the archive: share pages gone leave exact posts as they are; real changes still land.

Crawls of the bundled demo site (``spiders/demo/site``, dated 2023, so ``--recheck-days`` is large to
revalidate every post). Several of its posts render from bodies that a rebuild from the post page
writes in other bytes (Markdown paragraphs instead of HTML), the case that used to rewrite exact
files from a weaker source.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from archiver.devserver.server import SiteServer
from tests.crawlrun import crawl
from tests.incsite import archive_files, snapshot, temp_files

pytestmark = pytest.mark.slow

DEMO = Path(__file__).resolve().parents[2] / "spiders" / "demo"  # the demo site: DEMO / "site"
RECHECK = ("--recheck-days", "100000")
GONE = {"NewsShare": 404}


def stat(stderr: str, name: str) -> int:
    """A stat from the crawl's final stats dump (0 when absent)."""
    match = re.search(rf"'archiver/{re.escape(name)}': (\d+)", stderr)
    return int(match.group(1)) if match else 0


@pytest.fixture(scope="module")
def exact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo archived with every share page served: the exact archive."""
    output = tmp_path_factory.mktemp("exact") / "archive"
    with SiteServer(DEMO / "site", max_seconds=300) as server:
        result = crawl(output, server.proxy_url, *RECHECK)
    assert result.returncode == 0, result.stderr[-2000:]
    return output


def copy(archive: Path, dest: Path) -> Path:
    shutil.copytree(archive, dest, copy_function=shutil.copy2)
    return dest


def test_share_pages_gone_leave_every_exact_post_unchanged(exact: Path, tmp_path: Path) -> None:
    output = copy(exact, tmp_path / "archive")
    before = snapshot(output, skip=(".archiver/runs.jsonl", ".archiver/lock"))
    files = archive_files(output)
    with SiteServer(DEMO / "site", fail_paths=GONE, max_seconds=300) as server:
        result = crawl(output, server.proxy_url, *RECHECK)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "0 new, 0 updated, 30 unchanged" in result.stderr
    # Posts whose rebuilt body differs in bytes from the exact file were kept, not rewritten.
    assert stat(result.stderr, "posts/kept_better_source") >= 3
    assert archive_files(output) == files
    after = snapshot(output, skip=(".archiver/runs.jsonl", ".archiver/lock"))
    assert {k: v for k, v in after.items() if not k.startswith(".archiver/")} == {
        k: v for k, v in before.items() if not k.startswith(".archiver/")
    }


def test_a_real_change_is_archived_even_from_the_post_page(exact: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(DEMO / "site", site)
    page = site / "finews.withounder.com/shanghaizhengquanbao/2023/03/02/NW202303021645000505.html"
    text = page.read_text("utf-8")
    assert "分析人士认为" in text
    page.write_text(text.replace("分析人士认为", "多位分析人士认为"), "utf-8")
    titled = site / "finews.withounder.com/zhongguoyinxing/2023/03/01/NW202303011408000303.html"
    text = titled.read_text("utf-8")
    title = "<h1>中国银行推出小微企业线上续贷服务</h1>"
    assert text.count(title) == 1
    titled.write_text(text.replace(title, "<h1>中国银行推出小微企业线上续贷服务（更新）</h1>"), "utf-8")
    output = copy(exact, tmp_path / "archive")
    files = archive_files(output)
    with SiteServer(site, fail_paths=GONE, max_seconds=300) as server:
        result = crawl(output, server.proxy_url, *RECHECK)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "0 new, 2 updated, 28 unchanged" in result.stderr
    now = archive_files(output)
    changed = sorted(name for name in files if files[name] != now[name])
    assert changed == [
        "_posts/2023-03-01-NW202303011408000303.md",
        "_posts/2023-03-02-NW202303021645000505.md",
    ]
    assert "多位分析人士认为" in now[changed[1]].decode("utf-8")
    assert "（更新）" in now[changed[0]].decode("utf-8")


def test_a_post_page_version_is_replaced_by_the_exact_one_when_the_share_page_returns(
    exact: Path, tmp_path: Path
) -> None:
    output = tmp_path / "archive"
    with SiteServer(DEMO / "site", fail_paths=GONE, max_seconds=300) as server:
        first = crawl(output, server.proxy_url, *RECHECK)
    assert first.returncode == 0, first.stderr[-2000:]
    expected = archive_files(exact)
    weaker = sorted(name for name, data in archive_files(output).items() if data != expected[name])
    assert len(weaker) >= 3  # rebuilt from post pages: same rendering, other bytes
    with SiteServer(DEMO / "site", max_seconds=300) as server:
        second = crawl(output, server.proxy_url, *RECHECK)
    assert second.returncode == 0, second.stderr[-2000:]
    assert f"0 new, {len(weaker)} updated" in second.stderr
    assert archive_files(output) == expected
    assert temp_files(output) == []

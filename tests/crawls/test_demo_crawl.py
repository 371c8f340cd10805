"""The README's first command: `archiver demo` crawls the bundled demo site into an exact archive."""

from __future__ import annotations

from pathlib import Path

import pytest

from archiver.format.post import parse_post
from tests.crawlrun import run_archiver

pytestmark = pytest.mark.slow

EXPECTED = Path(__file__).resolve().parents[2] / "demo" / "expected"


@pytest.fixture(scope="module")
def demo_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "output"
    result = run_archiver("demo", "--output", str(out), "--log-level", "WARNING")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "30 new" in result.stdout
    # A clean run says nothing at WARNING: no component that is off explains itself at that level.
    assert " WARNING: " not in result.stderr, result.stderr[-3000:]
    return out


def test_every_post_is_archived_under_its_own_name(demo_archive: Path) -> None:
    expected = sorted(p.name for p in (EXPECTED / "_posts").glob("*.md"))
    assert sorted(p.name for p in (demo_archive / "_posts").glob("*.md")) == expected


def test_front_matter_equal_as_data(demo_archive: Path) -> None:
    for path in (EXPECTED / "_posts").glob("*.md"):
        want = parse_post(path.read_text("utf-8"), path.name)
        got = parse_post((demo_archive / "_posts" / path.name).read_text("utf-8"), path.name)
        assert (got.title, got.date, got.category, got.tags, got.layout) == (
            want.title,
            want.date,
            want.category,
            want.tags,
            want.layout,
        ), path.name
        assert (got.link, got.footer) == (want.link, want.footer), path.name


def test_posts_whose_share_page_is_served_are_byte_identical(demo_archive: Path, demo_site: Path) -> None:
    shares = {p.stem for p in demo_site.glob("*/html_News/NewsShare/*.html")}
    assert shares, "the demo serves share pages"
    checked = 0
    for path in (EXPECTED / "_posts").glob("*.md"):
        post_id = path.stem.split("-", 3)[3]
        if post_id in shares:
            assert (demo_archive / "_posts" / path.name).read_bytes() == path.read_bytes(), path.name
            checked += 1
    assert checked >= 20


def test_category_pages_have_their_titles(demo_archive: Path) -> None:
    for path in (EXPECTED / "category").glob("*.html"):
        assert (demo_archive / "category" / path.name).read_bytes() == path.read_bytes(), path.name


def test_no_temporary_file_is_left(demo_archive: Path) -> None:
    assert not [p for p in demo_archive.rglob("*") if p.name.endswith(".tmp")]

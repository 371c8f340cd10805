"""``archiver verify``: a clean archive passes; a broken one is caught, one defect class at a time (SITE.md)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from archiver.format.dates import BEIJING
from archiver.items import Article
from archiver.store.exporter import ArchiveExporter
from archiver.tools import verify
from tests.crawlrun import run_archiver

SHARE = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode="


def article(post_id: str, media: str, slug: str, day: int, body: str = "<p>正文</p>") -> Article:
    tag = f"{media}新闻"
    return Article(
        post_id=post_id,
        title=f"标题 {post_id}",
        date=dt.datetime(2022, 5, day, 9, 30, tzinfo=BEIJING),
        category=slug,
        tags=[tag],
        body=body,
        link=SHARE + post_id,
        footer=f"[返回{tag}](//finews.withounder.com/category/{slug}.html)｜[返回首页](//finews.withounder.com/)",
        category_title=tag,
    )


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    exporter = ArchiveExporter(root)
    exporter.open()
    exporter.export(article("NW202205012000000001", "柳州晚报", "liuzhouwanbao", 1))
    exporter.export(article("NW202205022000000002", "柳州晚报", "liuzhouwanbao", 2, "<p>{{ 液体 }} {% raw %}</p>"))
    exporter.export(article("NW202205032000000003", "财联社", "cailianshe", 3, '<p>引 "号" &amp; <br /></p>'))
    exporter.close()
    (root / "old_post").mkdir()
    return root


def post(root: Path, name: str = "2022-05-01-NW202205012000000001.md") -> Path:
    return root / "_posts" / name


def problems(root: Path) -> list[str]:
    return [str(problem) for problem in verify.check_archive(root)]


def test_a_clean_archive_passes(clean: Path) -> None:
    assert problems(clean) == []
    assert verify.main([str(clean)]) == 0


def test_a_bare_date_may_name_the_file_after_the_day_it_writes(clean: Path) -> None:
    # The first generator wrote Beijing time without offset and named the file after it; Jekyll reads
    # the date as UTC, a Beijing day later after 16:00.
    exporter = ArchiveExporter(clean)
    exporter.open()
    late = article("202112082206000001", "东财滚动", "emnews", 1)
    late.date, late.source_form = dt.datetime(2021, 12, 9, 1, 30, tzinfo=BEIJING), "early-bare"
    exporter.export(late)
    exporter.close()
    name = "2021-12-08-202112082206000001.md"
    assert "date: 2021-12-08 17:30:00\n" in post(clean, name).read_text(encoding="utf-8")
    assert problems(clean) == []
    moved = post(clean, name).rename(post(clean, "2021-12-07-202112082206000001.md"))
    assert [p.split(": ", 1)[1] for p in problems(clean)] == [
        "date is 2021-12-09 (Beijing), the file name says 2021-12-07"
    ]
    assert moved.exists()


def _replace(old: str, new: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        path = post(root)
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return edit


def _rename(new: str) -> Callable[[Path], None]:
    return lambda root: post(root).rename(post(root, new))


def _duplicate(root: Path) -> None:
    shutil.copy(post(root), root / "old_post" / "2022-04-30-NW202205012000000001.md")


def _category_title(root: Path) -> None:
    page = root / "category" / "liuzhouwanbao.html"
    page.write_text(page.read_text(encoding="utf-8").replace("柳州晚报新闻", "中国信用新闻"), encoding="utf-8")


def _spaced_slug(root: Path) -> None:
    _replace("categories: liuzhouwanbao", "categories: 21shijijingjibaodao 21caijingAPP")(root)
    (root / "category" / "21shijijingjibaodao 21caijingAPP.html").write_text(
        "---\nlayout: category\ntitle: 世界金属导报新闻\ncategory: 21shijijingjibaodao 21caijingAPP\n---\n",
        encoding="utf-8",
    )


DEFECTS: dict[str, tuple[Callable[[Path], None], str]] = {
    # A title holding `"` made invalid YAML.
    "quote_in_title": (_replace('title: "标题 NW202205012000000001"', 'title: "他说"涨停""'), "not valid YAML"),
    # `{{` or `{%` in a body breaks a Jekyll build.
    "liquid_in_body": (_replace("<p>正文</p>", "<p>{% include x %} {{ y }}</p>"), "unescaped Liquid"),
    # A title or date missing produced `_posts/-202205262391921712.md`.
    "missing_date_name": (_rename("-NW202205012000000001.md"), "file name is not YYYY-MM-DD-<id>.md"),
    "missing_title": (_replace('title: "标题 NW202205012000000001"', 'title: ""'), "front matter has no title"),
    "missing_date": (_replace("date: 2022-05-01 09:30:00 +0800", "date:  +0800"), "is not a time"),
    # Category page titles copied from another category.
    "category_title": (_category_title, "is not the tag of its posts"),
    # A media name with a space made a slug with a space: two categories to Jekyll.
    "spaced_slug": (_spaced_slug, "categories to Jekyll"),
    "spaced_category_page": (_spaced_slug, "holds white space"),
    # Bodies published as received: script, iframe, event handlers.
    "script": (
        _replace("<p>正文</p>", "<p>正文<script>alert(1)</script></p>"),
        "unsafe markup in the body: tag/script",
    ),
    "iframe": (_replace("<p>正文</p>", '<iframe src="http://evil/"></iframe><p>正文</p>'), "tag/iframe"),
    "handler": (_replace("<p>正文</p>", '<p onclick="x()">正文</p>'), "attribute/onclick"),
    "title_markup": (
        _replace('title: "标题 NW', 'title: "<img src=x onerror=alert(1)>标题 NW'),
        "title carries markup",
    ),
    # The archive's own invariants.
    "duplicate_id": (_duplicate, "archived twice"),
    "date_vs_name": (_rename("2022-05-09-NW202205012000000001.md"), "the file name says 2022-05-09"),
    "missing_category_page": (lambda root: (root / "category" / "cailianshe.html").unlink(), "category page missing"),
    "front_matter_not_first": (lambda root: post(root).write_text("\n" + post(root).read_text()), "at the start"),
    "title_not_string": (_replace('title: "标题 NW202205012000000001"', "title: yes"), "title is not a string"),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_each_defect_class_is_found(clean: Path, defect: str) -> None:
    edit, expected = DEFECTS[defect]
    edit(clean)
    found = problems(clean)
    assert any(expected in line for line in found), found
    assert verify.main([str(clean)]) == 1


def test_the_sites_own_corpus_shows_its_defects(tmp_path: Path) -> None:
    from tests.conftest import shared_path

    corpus = shared_path() / "corpus" / "finews"
    if not corpus.is_dir():
        pytest.skip(f"needs the shared corpus at {corpus}")
    root = tmp_path / "corpus"
    shutil.copytree(corpus / "posts", root / "_posts")
    shutil.copytree(corpus / "category", root / "category")
    found = "\n".join(problems(root))
    assert "_posts/-202205262391921712.md: file name is not YYYY-MM-DD-<id>.md" in found
    assert "category/liuzhouwanbao.html: title '中国信用新闻' is not the tag of its posts" in found
    assert "category/21shijijingjibaodao 21caijingAPP.html: category page name" in found


def test_verify_is_an_archiver_command(clean: Path) -> None:
    assert run_archiver("verify", str(clean)).returncode == 0
    _replace("<p>正文</p>", "<script>x</script><p>正文</p>")(clean)
    result = run_archiver("verify", str(clean))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "_posts/2022-05-01-NW202205012000000001.md: unsafe markup in the body: tag/script x1"
    ]
    assert run_archiver("verify", str(clean.parent / "nothing")).returncode == 64


@pytest.mark.jekyll
def test_verify_jekyll_builds_a_clean_archive_and_reports_a_broken_one(clean: Path, jekyll_bin: str) -> None:
    assert verify.jekyll_build(clean) == []
    _replace("<p>正文</p>", "<p>{% include nothere.html %}</p>")(clean)
    _replace('title: "标题 NW202205012000000001"', 'title: "他说"涨停""')(clean)
    found = [str(problem) for problem in verify.jekyll_build(clean)]
    assert found and all(line.startswith("jekyll: ") for line in found)
    assert verify.main([str(clean), "--jekyll"]) == 1

"""Rendering an article to post text and parsing it back: golden files and round trips."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from archiver.format import dates
from archiver.format.post import (
    CategoryPage,
    PostFormatError,
    parse_category_page,
    parse_post,
    post_filename,
    render_category_page,
    render_post,
    split_content,
)
from archiver.items import Article

GOLDEN = Path(__file__).parent / "golden"
BJ = dates.BEIJING


def media_article() -> Article:
    return Article(
        post_id="NW202301020304050607",
        title="测试标题 一 二",
        date=dt.datetime(2023, 1, 2, 9, 8, 7, tzinfo=BJ),
        category="zhongguoyinxing",
        tags=["中国银行新闻"],
        body='<p>第一段。</p>\n <p>第二段&nbsp;<br/>换行</p><p class="em_media">（文章来源：中国银行）</p>',
        link="http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202301020304050607",
        footer="[返回中国银行新闻](//finews.withounder.com/category/zhongguoyinxing.html)｜[返回首页](//finews.withounder.com/)",
    )


def digest_article() -> Article:
    return Article(
        post_id="202301020304050608",
        title="滚动：某公司公告",
        date=dt.datetime(2023, 1, 2, 23, 59, 59, tzinfo=BJ),
        category="emnews",
        tags=["东财滚动新闻"],
        body="> 摘要一句。\n\n<p>正文。</p>",
        link="http://finance.eastmoney.com/news/1350,202301020304050608.html",
        footer="[返回东财滚动新闻](//finews.withounder.com/emnews/)｜[返回首页](//finews.withounder.com/)",
    )


@pytest.mark.parametrize(
    ("name", "make"),
    [("media-post.md", media_article), ("digest-post.md", digest_article)],
)
def test_render_matches_golden_file(name: str, make) -> None:
    golden = (GOLDEN / name).read_bytes()
    assert render_post(make()).encode("utf-8") == golden
    assert not golden.endswith(b"\n"), "no newline follows the footer"


@pytest.mark.parametrize("make", [media_article, digest_article])
def test_parse_gives_the_article_back(make) -> None:
    article = make()
    text = render_post(article)
    back = parse_post(text, post_filename(article))
    assert back.post_id == article.post_id
    assert back.title == article.title
    assert back.date == article.date
    assert back.category == article.category
    assert back.tags == article.tags
    assert (back.body, back.link, back.footer) == (article.body, article.link, article.footer)
    back.date = dates.beijing(back.date)
    assert render_post(back) == text


def test_file_name_uses_the_beijing_day() -> None:
    article = media_article()
    article.date = dt.datetime(2023, 1, 2, 17, 30, tzinfo=dt.UTC)  # 01:30 on the 3rd in Beijing
    assert post_filename(article) == "2023-01-03-NW202301020304050607.md"


def test_file_name_refuses_a_path_in_the_id() -> None:
    article = media_article()
    article.post_id = "../../etc/passwd"
    with pytest.raises(PostFormatError):
        post_filename(article)


def test_date_without_offset_is_utc_as_jekyll_reads_it() -> None:
    text = '---\nlayout: post\ntitle: "x"\ndate: 2021-12-08 10:39:01\ncategories: emnews\n---\n\nbody\n'
    assert parse_post(text).date == dt.datetime(2021, 12, 8, 18, 39, 1, tzinfo=BJ)


def test_front_matter_must_start_the_file() -> None:
    with pytest.raises(PostFormatError):
        parse_post('\n---\ntitle: "x"\ndate: 2021-12-08 10:39:01\n---\nbody')


def test_liquid_in_the_body_is_written_as_liquid_output_of_itself() -> None:
    article = media_article()
    article.body = "<p>{{ site.title }} and {% include x %} }} %}</p>"
    text = render_post(article)
    assert "<p>{{ '{{' }} site.title }} and {{ '{%' }} include x %} }} %}</p>" in text
    assert parse_post(text, "2022-03-02-NW202203022294058095.md").body == article.body


def test_a_raw_wrapped_body_of_another_archive_is_read_as_its_content() -> None:
    text = render_post(media_article()).replace("---\n<p>", "---\n{% raw %}<p>{{ x }}", 1)
    text = text.replace("</p>\n\n<http", "</p>{% endraw %}\n\n<http", 1)
    assert parse_post(text).body.startswith("<p>{{ x }}第一段。")


def test_liquid_in_the_footer_is_escaped() -> None:
    article = media_article()
    article.footer = "[返回{{x}}新闻](//finews.withounder.com/category/x.html)"
    text = render_post(article)
    assert "[返回{{ '{{' }}x}}新闻]" in text
    assert parse_post(text, "2022-03-02-NW202203022294058095.md").footer == article.footer


def test_split_content_peels_link_and_footer_of_early_posts() -> None:
    body, link, footer = split_content("\nA\n\n<http://x.com/a,1.html>\n\n[返回X](../emnews/)\n[返回首页](../)")
    assert (body, link, footer) == ("A", "http://x.com/a,1.html", "[返回X](../emnews/)\n[返回首页](../)")


def test_category_page_round_trip() -> None:
    page = CategoryPage("liuzhouwanbao", "柳州晚报新闻")
    text = render_category_page(page)
    assert text == "---\nlayout: category\ntitle: 柳州晚报新闻\ncategory: liuzhouwanbao\n---\n"
    assert parse_category_page(text) == page
    odd = CategoryPage("null", "yes")
    assert parse_category_page(render_category_page(odd)) == odd


LIQUID_BODIES = [
    "<p>{{ site.title }} a }} %}</p>\n\n<p>{% if x %} b {% for y in z %}</p>",
    "<p>x {{ y }}</p>",
    "{{ a\n\n{% raw %}",
    "<p>{% if x %}</p>\n\n<p>{% endraw %} {{</p>",
]


@pytest.mark.jekyll
def test_liquid_in_bodies_renders_literally_under_jekyll(jekyll_bin: str, tmp_path: Path) -> None:
    import subprocess

    site = tmp_path / "site"
    (site / "_posts").mkdir(parents=True)
    (site / "_layouts").mkdir()
    # The excerpt is printed too: Jekyll's excerpt handling is where Liquid guards break.
    (site / "_layouts" / "post.html").write_text("---\n---\n{{ content }}\n<excerpt>{{ page.excerpt }}</excerpt>\n")
    (site / "_config.yml").write_text("timezone: Asia/Shanghai\n")
    for number, body in enumerate(LIQUID_BODIES):
        article = media_article()
        article.post_id, article.body = f"L{number}", body
        (site / "_posts" / post_filename(article)).write_text(render_post(article), encoding="utf-8")
    built = subprocess.run(
        [jekyll_bin, "build", "--source", str(site), "--destination", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0 and "Warning" not in built.stdout + built.stderr, built.stdout + built.stderr
    for number, body in enumerate(LIQUID_BODIES):
        (page,) = (tmp_path / "out").rglob(f"L{number}.html")
        html = page.read_text(encoding="utf-8")
        for fragment in body.split("\n\n"):
            assert fragment.removeprefix("<p>").removesuffix("</p>") in html, (number, fragment)


def test_exporter_moves_a_post_whose_day_changed_and_clears_leftover_copies(tmp_path: Path) -> None:
    from archiver.store.exporter import ArchiveExporter, Outcome

    posts = tmp_path / "_posts"
    posts.mkdir()
    # A copy a killed run left behind, under an older day.
    (posts / "2023-01-01-NW202301020304050607.md").write_text("old", encoding="utf-8")
    exporter = ArchiveExporter(tmp_path)
    exporter.open()
    article = media_article()
    outcome, path = exporter.export(article)
    assert outcome is Outcome.UPDATED and path.name == "2023-01-02-NW202301020304050607.md"
    assert sorted(p.name for p in posts.iterdir()) == [path.name]
    assert exporter.export(article) == (Outcome.UNCHANGED, path)


def test_the_post_format_imports_no_scrapy() -> None:
    """Rendering and parsing posts are pure: tools that only read an archive need no crawler."""
    code = "import sys, archiver.format.post, archiver.items; sys.exit('scrapy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.parametrize(
    ("form", "date_line"),
    [("early-bare", "date: 2021-12-08 10:39:01"), ("early-offset", "date: 2021-12-08 18:39:01 +0800")],
)
def test_early_source_forms_write_the_generators_bytes(form: str, date_line: str) -> None:
    article = Article(
        post_id="202112082206000002",
        title="标题",
        date=dt.datetime(2021, 12, 8, 18, 39, 1, tzinfo=BJ),
        category="emnews",
        tags=["东财滚动新闻"],
        body="摘要。",
        link="http://finance.eastmoney.com/news/1355,202112082206000002.html",
        footer="[返回东财滚动新闻](../emnews/)\n[返回首页](../)",
        source_form=form,
    )
    text = render_post(article)
    assert text == (
        f'---\nlayout: post\ntitle: "标题"\n{date_line}\ncategories: emnews\ntags: 东财滚动新闻\n---\n\n摘要。\n\n'
        "<http://finance.eastmoney.com/news/1355,202112082206000002.html>\n\n"
        "[返回东财滚动新闻](../emnews/)\n[返回首页](../)"
    )
    back = parse_post(text, post_filename(article))
    assert (back.source_form, back.date, back.body) == (form, article.date, article.body)
    assert post_filename(article) == "2021-12-08-202112082206000002.md"


def test_an_unknown_source_form_is_refused() -> None:
    article = media_article()
    article.source_form = "v0"
    with pytest.raises(PostFormatError):
        render_post(article)

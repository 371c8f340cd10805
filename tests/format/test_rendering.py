"""archiver.format.rendering: what a post renders to, and whether two post files render the same."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver.format import htmlsource
from archiver.format.post import parse_post, render_post
from archiver.format.rendering import canonical_html, markdown_to_html, rendered, same_rendering
from archiver.format.unrender import source_body, split_tail
from archiver.items import Article
from tests.conftest import shared_path

BEIJING = dt.timezone(dt.timedelta(hours=8))


def article(body: str, **changes: object) -> Article:
    base = Article(
        post_id="NW202205012000000001",
        title="稳就业 保民生",
        date=dt.datetime(2022, 5, 1, 20, 0, 0, tzinfo=BEIJING),
        category="liuzhouwanbao",
        tags=["柳州晚报新闻"],
        body=body,
        link="http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202205012000000001",
        footer="[返回柳州晚报新闻](//finews.withounder.com/category/liuzhouwanbao.html)｜[返回首页](//finews.withounder.com/)",
    )
    return replace(base, **changes)


def same(a: Article, b: Article) -> bool:
    return same_rendering(render_post(a), render_post(b))


@pytest.mark.parametrize(
    ("exact", "rebuilt"),
    [
        # kramdown puts each element of an HTML block on its own line
        ("<p>一</p><p>二</p>", "<p>一</p>\n<p>二</p>"),
        # `&` in attributes, <br> forms, attribute order and quotes
        ('<p><a href="/q?a=1&b=2">链接</a><br></p>', "<p><a href='/q?a=1&amp;b=2'>链接</a><br /></p>"),
        ('<p class="x" id="y">文</p>', '<p id="y" class="x">文</p>'),
        # a Markdown paragraph and the HTML it renders to
        ("一段文字。", "<p>一段文字。</p>"),
        ("第一段\n\n第二段", "<p>第一段</p>\n\n<p>第二段</p>"),
        # typographic quotes kramdown makes of Markdown text
        ('他说"好"', "<p>他说“好”</p>"),
        ("it's -- done...", "<p>it’s – done…</p>"),
        # a digest quote
        ("> 摘要\n\n<p>正文</p>", "<blockquote>\n<p>摘要</p>\n</blockquote>\n<p>正文</p>"),
        # inline HTML and Markdown links inside a paragraph
        (
            "文 <strong>粗</strong> [链接](http://x.example/)",
            '<p>文 <strong>粗</strong> <a href="http://x.example/">链接</a></p>',
        ),
        # white space inside and between blocks
        (" <p>一</p>\n <p>二</p>", "<p>一</p>\n\n<p>二</p>"),
        ("<!-- c --><p>一</p>", "<!-- c -->\n<p>一</p>"),
    ],
)
def test_bodies_that_render_the_same(exact: str, rebuilt: str) -> None:
    assert same(article(exact), article(rebuilt))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("<p>一</p>", "<p>二</p>"),
        ("<p>一</p>", "<p>一</p><p>二</p>"),
        ("<p>一</p>", "<div>一</div>"),
        ('<p class="a">一</p>', '<p class="b">一</p>'),
        ('<img src="a.png">', '<img src="b.png">'),
        ("一段文字。", "一段文字"),
        ("<p>一</p>", "<p><strong>一</strong></p>"),
        ("> 摘要", "摘要"),
    ],
)
def test_bodies_that_render_differently(old: str, new: str) -> None:
    assert not same(article(old), article(new))


def test_front_matter_is_compared_as_data() -> None:
    body = "<p>一</p>"
    assert not same(article(body), article(body, title="稳就业 保民生（更新）"))
    assert not same(article(body), article(body, tags=["另一个新闻"]))
    assert not same(article(body), article(body, category="other"))
    assert not same(article(body), article(body, date=dt.datetime(2022, 5, 1, 20, 0, 1, tzinfo=BEIJING)))
    # the same instant in another offset is the same date
    assert same(article(body), article(body, date=dt.datetime(2022, 5, 1, 12, 0, 0, tzinfo=dt.UTC)))
    # the title is printed as HTML: entity forms that show the same text are the same title
    assert same(article(body, title="A &amp; B"), article(body, title="A &#38; B"))


def test_link_and_footer_count() -> None:
    body = "<p>一</p>"
    assert not same(article(body), article(body, link="http://finews.zning.xyz/html_News/NewsShare.html?infoCode=X1"))
    assert not same(article(body), article(body, footer="[返回首页](//finews.withounder.com/)"))


def test_identical_texts_and_texts_that_are_no_posts() -> None:
    assert same_rendering("no front matter", "no front matter")
    assert not same_rendering("no front matter", render_post(article("<p>一</p>")))


def test_liquid_escapes_render_as_the_text_they_print() -> None:
    text = render_post(article("<p>{{ 液体 }}</p>"))
    assert "{{ '{{' }}" in text
    assert rendered(text).content == rendered(render_post(article("<p>{{ 液体 }}</p>"))).content
    assert ("p", (), "{{ 液体 }}", "") in rendered(text).content


def test_markdown_to_html_keeps_an_html_block_across_blank_lines() -> None:
    out = markdown_to_html("<div>\n\n<p>一</p>\n\n</div>\n\n二")
    assert canonical_html(out) == canonical_html("<div><p>一</p></div><p>二</p>")


def test_a_body_rebuilt_from_its_rendering_renders_the_same() -> None:
    # What the spider does when the share page is gone: the body rebuilt from the post page.
    source = '<p>一</p><p>他说“好”</p>\n\n第二段\n\n> 摘要\n\n<p><img src="a.png?x=1&y=2"></p>'
    page = markdown_to_html(source)
    assert same(article(source), article(source_body(split_tail(page).body_html)))


@pytest.fixture(scope="module")
def replica() -> Path:
    root = shared_path() / "replica" / "finews.withounder.com"
    if not root.is_dir():
        pytest.skip(f"needs the replica of ../shared ({root})")
    return root


def test_the_corpus_renders_as_jekyll_rendered_it(replica: Path) -> None:
    """For every post of the corpus, the canonical rendering equals Jekyll's page (title and body)."""
    corpus = shared_path() / "corpus" / "finews" / "posts"
    pages = {p.stem: p for p in replica.rglob("*.html") if re.search(r"/\d{4}/\d{2}/\d{2}/", str(p))}
    checked = 0
    for post in sorted(corpus.glob("*.md")):
        page = pages.get(post.stem[11:])
        text = page.read_text("utf-8") if page else ""
        section = htmlsource.find(text, "section") if text else None
        if section is None:
            continue  # a post Jekyll did not publish as a page of this layout
        h1 = htmlsource.find(text, "h1", None, section.start, section.stop)
        assert h1 is not None
        tags = text.rfind("<small>tags:", section.start, section.stop)
        got = rendered(post.read_text("utf-8"))
        assert got.content == canonical_html(text[h1.outer_stop : tags]), post.name
        assert got.front[1] == canonical_html(h1.inner(text)), post.name
        checked += 1
    assert checked >= 30


def test_the_demo_bodies_render_as_jekyll_rendered_them() -> None:
    """``demo/kramdown.json`` holds what real Jekyll made of the demo bodies kramdown rewrites."""
    demo = Path(__file__).resolve().parents[2] / "demo"
    renderings = json.loads((demo / "kramdown.json").read_text("utf-8"))
    assert renderings
    for name, jekyll_html in renderings.items():
        body = parse_post((demo / "expected" / "_posts" / name).read_text("utf-8")).body or ""
        # The demo renders an emnews digest (the leading `> ` block) apart from the body.
        body = re.sub(r"\A> [^\n]*\n\n", "", body)
        assert canonical_html(markdown_to_html(body)) == canonical_html(jekyll_html), name


_TEXT = st.text(alphabet="一二三文字，。；：“”‘’（）abcXYZ019 -_.\"'", min_size=1, max_size=30).filter(str.strip)
_BLOCK = st.one_of(
    _TEXT.map(lambda t: t.strip()),
    _TEXT.map(lambda t: f"<p>{html.escape(t)}</p>"),
    _TEXT.map(lambda t: f'<p class="em_media"><strong>{html.escape(t)}</strong></p>'),
    _TEXT.map(lambda t: f"> {t.strip()}"),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_BLOCK, st.sampled_from(["\n\n", "\n", ""])), min_size=1, max_size=6))
def test_a_body_rebuilt_from_its_rendered_page_renders_the_same(blocks: list[tuple[str, str]]) -> None:
    # Blocks after a Markdown block need a blank line; HTML blocks may follow each other closely.
    source = ""
    for block, separator in blocks:
        if source:
            html_before = source.rstrip().endswith(">") and not source.rsplit("\n\n", 1)[-1].startswith(">")
            source += separator if html_before and block.startswith("<") else "\n\n"
        source += block
    page = markdown_to_html(source)
    assert same(article(source), article(source_body(split_tail(page).body_html)))

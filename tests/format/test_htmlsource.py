"""Exact cuts from HTML text, and rebuilding post source from a rendered body."""

from __future__ import annotations

import random

import pytest

from archiver.format import htmlsource
from archiver.format.unrender import unrender

PAGE = """<html><head><title>a <div> in a title</title>
<script>var s = "<div id='ContentBody'>not it</div>";</script></head><body>
<!-- <div id="ContentBody">a comment</div> -->
<div class="newsContent"><div class=txtinfos id='ContentBody'>
<p>one<br>two &nbsp; &amp; <a href="x?a=1&b=2">l</a></p><div><div>nested</div></div>
</div></div></body></html>"""


def test_find_cuts_the_exact_source_of_an_element() -> None:
    span = htmlsource.find(PAGE, None, lambda tag: tag.attrs().get("id") == "ContentBody")
    assert span is not None and span.closed
    assert span.inner(PAGE) == (
        '\n<p>one<br>two &nbsp; &amp; <a href="x?a=1&b=2">l</a></p><div><div>nested</div></div>\n'
    )


# Pieces a page can hold around the element looked for: comments (closed or not), raw text that
# mentions it, attribute values holding `<`, `>` and the value, stray `<`, upper case, nesting.
PIECES = [
    "text ", "<p>", "</p>", "<br/>", "<!-- c -->", "<!-- <div id='X'> -->", "<!--", "-->", "<!doctype html>",
    "<?pi x?>", "<script>var a = '<div id=\"X\">';</script>", "<SCRIPT>", "</script >", "<title>X</title>",
    "<style>.X{}</style>", '<a title="<div id=X>">', "<a title='>' id=X>", '<div class="X Y">', "<div id=X>",
    '<div id="X" hidden>', "<DIV ID=X>", "<div id=Xs>", "<div data-id=X>", "</div>", "< div id=X>", "a < b",
    "<textarea><div id=X></textarea>", "<span id=X/>", "<img id=X>", "<div id='X", "\n", "X", "<div x=\"a>b\" id=X>",
    '<img alt="</div>">', "<p title='<p>'>", "<b<div>", '</a title="</div>">', "<i x='a>b</p>'>",
]  # fmt: skip


@pytest.mark.parametrize("seed", range(300))
def test_find_by_attr_finds_what_a_scan_of_every_tag_finds(seed: int) -> None:
    rng = random.Random(seed)
    page = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 14)))
    for attr, word in (("id", False), ("class", True)):

        def predicate(tag: htmlsource.Tag, attr: str = attr, word: bool = word) -> bool:
            found = tag.attrs().get(attr)
            return "X" in tag.attrs_text and found is not None and ("X" in found.split() if word else found == "X")

        expected = htmlsource.find(page, None, predicate)
        assert htmlsource.find_by_attr(page, attr, "X", word=word) == expected, page


@pytest.mark.parametrize("seed", range(300))
def test_find_by_name_finds_what_a_scan_of_every_tag_finds(seed: int) -> None:
    rng = random.Random(seed)
    page = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 14)))
    for name in ("div", "p", "title", "script"):
        expected = htmlsource.find(page, None, lambda tag, name=name: tag.name == name)  # type: ignore[misc]
        assert htmlsource.find(page, name) == expected, (name, page)


def test_unclosed_element_runs_to_the_end_and_says_so() -> None:
    span = htmlsource.find("<div id=a><p>x</p>", "div")
    assert span is not None and not span.closed
    assert span.inner("<div id=a><p>x</p>") == "<p>x</p>"


def test_attributes_are_decoded_and_first_wins() -> None:
    assert htmlsource.parse_attrs(" href=\"a&amp;b\" HREF=c data-x='1' checked") == {
        "href": "a&b",
        "data-x": "1",
        "checked": "",
    }


def test_text_content() -> None:
    assert htmlsource.text_content("<b>A</b>&amp;B&lt;") == "A&B<"


RENDERED_EARLY = """<p>记者今天了解到。(央视新闻)</p>

<p><a href="http://finance.eastmoney.com/news/1355,1.html">http://finance.eastmoney.com/news/1355,1.html</a></p>

<p><a href="../emnews/">返回东财滚动新闻</a>
<a href="../">返回首页</a></p>"""


def test_unrender_early_post() -> None:
    source = unrender(RENDERED_EARLY)
    assert source.body == "记者今天了解到。(央视新闻)"
    assert source.link == "http://finance.eastmoney.com/news/1355,1.html"
    assert source.footer == "[返回东财滚动新闻](../emnews/)\n[返回首页](../)"


def test_unrender_keeps_html_blocks_and_markdown_digest() -> None:
    rendered = (
        "<blockquote>\n  <p>摘要。</p>\n</blockquote>\n\n<p>正文 “引号” *星*</p>\n"
        '<p class="em_media">（文章来源：X）</p>\n\n'
        '<p><a href="http://a.b/c?d=1&amp;e=2">http://a.b/c?d=1&amp;e=2</a></p>\n\n'
        '<p><a href="//h/category/x.html">返回X新闻</a>｜<a href="//h/">返回首页</a></p>'
    )
    source = unrender(rendered)
    # The generator wrote the article's HTML on one line, as the API returned it.
    assert source.body == '> 摘要。\n\n<p>正文 “引号” *星*</p><p class="em_media">（文章来源：X）</p>'
    assert source.link == "http://a.b/c?d=1&e=2"
    assert source.footer == "[返回X新闻](//h/category/x.html)｜[返回首页](//h/)"


def test_unrender_lone_link_is_the_link_not_a_footer() -> None:
    source = unrender('<p>x</p>\n\n<p><a href="http://a/b">http://a/b</a></p>')
    assert (source.body, source.link, source.footer) == ("x", "http://a/b", None)


def test_unrender_keeps_one_html_block_together_and_blank_line_blocks_apart() -> None:
    # kramdown keeps the elements of one HTML block on consecutive lines, and puts a blank line between blocks;
    # the generator wrote one HTML block on one line.
    assert unrender("<p>a</p>\n<p>b</p>\n\n<p>c</p>\n\n<!-- x -->\n<p>d</p>").body == (
        "<p>a</p><p>b</p>\n\nc\n\n<!-- x --><p>d</p>"
    )


def test_unrender_keeps_line_breaks_where_a_span_element_would_start_a_paragraph() -> None:
    # kramdown reads a line that starts with a span element (<img>, <span>) as a paragraph, not as HTML.
    assert unrender("<p>a</p>\n<span>b</span>").body == "<p>a</p>\n<span>b</span>"


def test_unrender_writes_attribute_ampersands_as_the_article_had_them() -> None:
    rendered = '<p><img src="g?a=1&amp;b=2&amp;copy=3&amp;lt;&amp;#38;" alt="x&amp;y" /></p>\n<p>m&amp;n</p>'
    assert (
        unrender(rendered).body == '<p><img src="g?a=1&b=2&amp;copy=3&amp;lt;&amp;#38;" alt="x&y" /></p><p>m&amp;n</p>'
    )


def test_unrender_plain_lines_go_back_to_markdown() -> None:
    assert unrender("<p>标题\n摘要。</p>").body == "标题\n摘要。"
    assert unrender("<p>标题\n# 摘要</p>").body == "<p>标题\n# 摘要</p>"


def test_unrender_plain_text_that_markdown_would_change_stays_html() -> None:
    for text in ['say "hi"', "a_b_c", "1. item", "# head", "a -- b", "x & y"]:
        assert unrender(f"<p>{text}</p>").body == f"<p>{text}</p>"


def test_unrender_writes_markdown_ampersands_bare_where_kramdown_reads_them_as_themselves() -> None:
    # kramdown writes `&amp;` for `S&P` and for `&amp;`; `&copy` without `;` is not an entity to it.
    assert unrender("<p>S&amp;P 500 &amp;amp; x &amp;lt; &amp;copy</p>").body == "S&P 500 &amp;amp; x &amp;lt; &copy"
    assert unrender("<blockquote>\n  <p>A&amp;B</p>\n</blockquote>").body == "> A&B"

"""Property tests: rendering an article and parsing the file back gives the same article, for any text."""

from __future__ import annotations

import datetime as dt

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archiver.format.dates import BEIJING
from archiver.format.frontmatter import double_quoted, scalar
from archiver.format.post import SOURCE_FORMS, escape_liquid, parse_post, post_filename, render_post, unescape_liquid
from archiver.items import Article

# Any Unicode but lone surrogates (they cannot be written as UTF-8; normalize replaces them).
TEXT = st.text(st.characters(exclude_categories=("Cs",)))
LIQUIDISH = st.lists(st.sampled_from(["{", "}", "%", "'", " ", "{{", "{%", "%}", "}}", "a", "\n", "raw"])).map("".join)
MARKUP = st.text(st.sampled_from([*"<>&\"' \n\t\r{}%[]()!*#:-`\\", "é", "镕", "𠮷"]))
BODY = st.one_of(TEXT, LIQUIDISH, MARKUP)
SLUG = st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True)
TAG = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=20)
LABEL = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="[]\n\r"), max_size=20)
INSTANT = st.datetimes(
    min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(BEIJING)
).map(lambda d: d.replace(microsecond=0))


@st.composite
def articles(draw: st.DrawFn) -> Article:
    slug = draw(SLUG)
    post_id = draw(st.from_regex(r"[A-Za-z0-9]{1,30}", fullmatch=True))
    label = draw(LABEL)
    return Article(
        post_id=post_id,
        title=draw(TEXT),
        date=draw(INSTANT),
        category=slug,
        tags=draw(st.lists(TAG, max_size=3)),
        # normalize strips bodies: a post file cannot tell leading or trailing white space from the layout's
        body=draw(BODY).strip(),
        link=f"http://finews.zning.xyz/html_News/NewsShare.html?infoCode={post_id}",
        footer=f"[返回{label}](//finews.withounder.com/category/{slug}.html)｜[返回首页](//finews.withounder.com/)",
        source_form=draw(st.sampled_from(sorted(SOURCE_FORMS, key=str))),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(articles())
def test_render_then_parse_gives_the_article_back(article: Article) -> None:
    text = render_post(article)
    back = parse_post(text, post_filename(article))
    assert back.title == article.title
    assert back.date == article.date
    assert back.category == article.category
    assert back.tags == article.tags
    assert back.body == article.body
    assert back.link == article.link
    assert back.footer == article.footer
    assert back.post_id == article.post_id
    assert back.source_form == article.source_form
    assert render_post(back) == text


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_every_title_is_valid_yaml_and_reads_back_as_the_same_string(title: str) -> None:
    assert yaml.safe_load(f"title: {double_quoted(title)}\n") == {"title": title}
    assert yaml.safe_load(f"k: {scalar(title)}\n") == {"k": title}


@settings(max_examples=300, deadline=None)
@given(st.one_of(TEXT, LIQUIDISH))
def test_liquid_escaping_is_undone_exactly_and_leaves_no_liquid(text: str) -> None:
    escaped = escape_liquid(text)
    assert unescape_liquid(escaped) == text
    # What Liquid sees outside its own output tags holds no markup of the text.
    rest = escaped.replace("{{ '{{' }}", "").replace("{{ '{%' }}", "")
    assert "{{" not in rest and "{%" not in rest

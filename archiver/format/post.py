r"""Post files: rendering an article to the site's post text, and parsing a post file back.

Pure functions, no Scrapy. The layout is the site's own (see SITE.md):

    ---
    layout: post
    title: "<title>"
    date: YYYY-MM-DD HH:MM:SS +0800
    categories: <slug>
    tags: <tag>
    ---
    <body>

    <link>

    <footer>

with no newline after the footer. Jekyll runs Liquid over a post before
Markdown, so every ``{{`` and ``{%`` of the content is written as a Liquid
output of itself (``{{ '{{' }}``, ``{{ '{%' }}``): the page shows it
literally in every Jekyll version and in excerpts too, with no warning.
(``{% raw %}`` wrapping breaks where Jekyll cuts an excerpt inside the raw
block and appends end tags for the tags it sees there; ``render_with_liquid:
false`` is Jekyll 4.1+ only and prints the end tags an excerpt gains.)
``parse_post`` undoes the escapes exactly, and reads a ``{% raw %}`` wrapping
as other archives write it.

Source forms: how each version of the site's generator wrote a post
--------------------------------------------------------------------

The site's generator (the scripts of ``zning1994/finews`` run by GitHub
Actions every few minutes) wrote every post as one string concatenation, so
its versions differ only in a few bytes. A post page shows most of them
(the footer's links, a ``> digest`` blockquote or a plain digest paragraph, the
article's HTML); two never show, and ``SOURCE_FORMS`` names the combinations:

================  ===========  ==========  ==============================================
form              blank line   date        generator versions, and when they ran
                  after ---
================  ===========  ==========  ==============================================
None (the         no           ``+0800``   from 2021-12-08 afternoon on: ``emnews`` posts
archive's own)                             ``---\n> <digest>\n\n<content>\n\n<url>\n\n<footer>``
                                           (get_emnews.py with ``content``, then
                                           get_news_with__threads.py), media posts
                                           ``---\n<text>\n\n<share url>\n\n<footer>``
                                           (get_emnews_2.py: ``simtitle\nsimdigest``, and
                                           every later script)
``early-offset``  yes          ``+0800``   2021-12-08, the plain-digest ``emnews`` versions
                                           that appended ``+0800`` (get_emnews.py with
                                           ``---\n\n<digest>``, early afternoon; a morning
                                           one too): ``---\n\n<digest>\n\n<url>`` and
                                           a footer (``｜`` or on two lines) or none
``early-bare``    yes          bare        2021-12-08 from the first run (10:20), the
                                           plain-digest versions before the offset (the
                                           first get_emnews.py): the same, the date
                                           ``YYYY-MM-DD HH:MM:SS`` with no offset, which
                                           YAML and Jekyll read as UTC (``archiver.dates``)
``bare``          no           bare        no generator version; other archives' files,
                                           read so that every file round-trips
================  ===========  ==========  ==============================================

Which form a post page stands for is decided by ``archiver.unrender.source_form``
from what the page shows; ``render_post`` writes the form's bytes (and
``post_filename`` the day of a bare date, as the generator named its files) and
``parse_post`` reads the form back, so ``render_post(parse_post(t)) == t`` for
the files of every form. Never reproduced: the generator's defects (SITE.md),
nor the file of one version that began with a blank line (no front matter).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from archiver.format import dates
from archiver.format.frontmatter import double_quoted, scalar, word_list
from archiver.items import Article

# A post id names a file: letters and digits only, and short enough for any file system.
POST_ID = re.compile(r"^[A-Za-z0-9]{1,120}$")
POST_FILE = re.compile(r"^(?P<day>\d{4}-\d{2}-\d{2})-(?P<post_id>[A-Za-z0-9]{1,120})\.md$")
LIQUID = re.compile(r"\{\{|\{%")
RAW_OPEN, RAW_CLOSE = "{% raw %}", "{% endraw %}"
# A Liquid output of the markup itself: Liquid prints `{{` and `{%`, kramdown never sees Liquid.
_LIQUID_ESCAPES = {"{{": "{{ '{{' }}", "{%": "{{ '{%' }}"}
_LIQUID_ESCAPED = re.compile(r"\{\{ '(\{\{|\{%)' \}\}")
# Blocks are separated by a blank line; the last one is found from the end, so a body stays as it was.
_BLANK_LINE = re.compile(r"(?=\n[ \t\r]*\n)")
_SEPARATOR = re.compile(r"\n[ \t\r]*\n")
# A footer paragraph: Markdown links only, separated by the site's ｜ or a line break.
_LINK = r"\[[^\[\]\n]*\]\([^()\s]*\)"
_FOOTER = re.compile(rf"^{_LINK}(?:(?:｜|\n){_LINK})*$")
_AUTOLINK = re.compile(r"^<([a-z][a-z0-9+.-]*:[^<>\s]*)>$", re.I)
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)?---[ \t]*(?:\r?\n|\Z)", re.S)


class PostFormatError(ValueError):
    """Text that is not a post file of this layout."""


@dataclass(frozen=True)
class SourceForm:
    """The bytes a generator version wrote that a post page never shows."""

    # A blank line between the front matter and the content (`---\n\n<digest>`).
    gap: bool
    # The date without offset: the instant's UTC wall time, as YAML and Jekyll read a bare date.
    bare_date: bool


# The forms of the site generator's versions, by name (see the module docstring). None: the archive's own.
SOURCE_FORMS: dict[str | None, SourceForm] = {
    None: SourceForm(gap=False, bare_date=False),
    "early-offset": SourceForm(gap=True, bare_date=False),
    "early-bare": SourceForm(gap=True, bare_date=True),
    "bare": SourceForm(gap=False, bare_date=True),
}
_FORM_NAMES = {form: name for name, form in SOURCE_FORMS.items()}


def source_form(article: Article) -> SourceForm:
    """The source form ``article`` is written in."""
    try:
        return SOURCE_FORMS[article.source_form]
    except KeyError:
        raise PostFormatError(f"not a source form: {article.source_form!r}") from None


@dataclass(frozen=True)
class CategoryPage:
    slug: str
    title: str


def guard_body(body: str) -> str:
    """``body`` as Jekyll must read it to print it literally: every ``{{`` and ``{%`` escaped."""
    return escape_liquid(body)


def unguard_body(body: str) -> str:
    """The body a post file means: escapes undone, or a ``{% raw %}`` wrapping (other archives use it) removed."""
    if body.startswith(RAW_OPEN) and body.endswith(RAW_CLOSE):
        return body[len(RAW_OPEN) : -len(RAW_CLOSE)]
    return unescape_liquid(body)


def escape_liquid(text: str) -> str:
    """``text`` with every ``{{`` and ``{%`` written as a Liquid output of itself."""
    return LIQUID.sub(lambda m: _LIQUID_ESCAPES[m.group()], text)


def unescape_liquid(text: str) -> str:
    """The inverse of ``escape_liquid``: ``unescape_liquid(escape_liquid(s)) == s`` for every ``s``."""
    return _LIQUID_ESCAPED.sub(lambda m: m.group(1), text)


def post_filename(article: Article) -> str:
    """``YYYY-MM-DD-<id>.md``, the day in Beijing time."""
    if not isinstance(article.date, dt.datetime) or not article.post_id:
        raise PostFormatError("a post file name needs a normalized date and a post id")
    if not POST_ID.match(article.post_id):
        raise PostFormatError(f"not a post id: {article.post_id!r}")
    return f"{dates.post_day(article.date, source_form(article).bare_date)}-{article.post_id}.md"


def render_post(article: Article) -> str:
    """The post file text of a normalized article."""
    if not isinstance(article.date, dt.datetime):
        raise PostFormatError("render_post needs a normalized (datetime) date")
    form = source_form(article)
    parts = [
        guard_body(article.body or ""),
        escape_liquid(f"<{article.link}>") if article.link else "",
        escape_liquid(article.footer or ""),
    ]
    content = "\n\n".join(part for part in parts if part)
    lines = [
        "---",
        f"layout: {scalar(article.layout)}",
        f"title: {double_quoted(article.title or '')}",
        f"date: {dates.format_post_date(article.date, form.bare_date)}",
    ]
    if article.category:
        lines.append(f"categories: {word_list([article.category])}")
    if article.tags:
        lines.append(f"tags: {word_list(article.tags)}")
    lines.append("---")
    return "\n".join(lines) + ("\n\n" if form.gap else "\n") + content


def split_front_matter(text: str) -> tuple[dict[str, object], str]:
    """(front matter as data, content) the way Jekyll splits a file: front matter only at byte 0."""
    match = _FRONT.match(text)
    if match is None:
        raise PostFormatError("no front matter at the start of the file")
    import yaml  # here: a run that reads no post file (a cron re-run) is spared its import, 0.09 s

    try:
        data = yaml.safe_load(match.group(1) or "")
    except yaml.YAMLError as exc:
        raise PostFormatError(f"front matter is not valid YAML: {str(exc).splitlines()[0]}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PostFormatError("front matter is not a mapping")
    return data, text[match.end() :]


def _words(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    return str(value).split()


def _is_bare(value: object) -> bool:
    """Whether a front matter date names no offset (YAML and Jekyll read it as UTC)."""
    if isinstance(value, dt.datetime):
        return value.tzinfo is None
    if isinstance(value, str):
        return dates.has_no_offset(value)
    return isinstance(value, dt.date)


def _date(value: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        # A date without offset is UTC to YAML and so to Jekyll.
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if isinstance(value, str):
        try:
            return dates.parse_time(value, default_tz=dt.UTC)
        except dates.DateError as exc:
            raise PostFormatError(f"bad date: {exc}") from None
    raise PostFormatError("the front matter has no date")


def _last_block(content: str) -> tuple[str, str]:
    """(everything before the last blank line, the block after it); the head is "" when there is none."""
    content = content.rstrip()
    starts = [match.start() for match in _BLANK_LINE.finditer(content)]
    if not starts:
        return "", content
    separator = _SEPARATOR.match(content, starts[-1])
    assert separator is not None
    return content[: starts[-1]], content[separator.end() :]


def split_content(content: str) -> tuple[str, str | None, str | None]:
    """(body, link, footer) of a post's content: the trailing autolink and footer paragraphs are peeled off.

    The body is the content before them exactly (white space around it stripped), so any body
    ``render_post`` wrote comes back unchanged.
    """
    footer = link = None
    head, last = _last_block(content)
    if _FOOTER.match(last.strip()):
        footer, content = last.strip(), head
        head, last = _last_block(content)
    if match := _AUTOLINK.match(last.strip()):
        link, content = match.group(1), head
    return content.strip(), link, footer


def parse_post(text: str, filename: str | None = None) -> Article:
    """The article a post file holds. ``filename`` supplies the post id when given."""
    data, content = split_front_matter(text)
    body, link, footer = split_content(content)
    categories = _words(data.get("categories", data.get("category")))
    post_id = None
    if filename is not None and (match := POST_FILE.match(filename)):
        post_id = match.group("post_id")
    title = data.get("title")
    form = SourceForm(gap=content.startswith(("\n", "\r\n")), bare_date=_is_bare(data.get("date")))
    return Article(
        post_id=post_id,
        title=None if title is None else str(title),
        date=_date(data.get("date")),
        category=" ".join(categories) or None,
        tags=_words(data.get("tags")),
        body=unguard_body(body),
        link=None if link is None else unescape_liquid(link),
        footer=None if footer is None else unescape_liquid(footer),
        layout=str(data.get("layout") or "post"),
        source_form=_FORM_NAMES[form],
    )


def render_category_page(page: CategoryPage) -> str:
    return f"---\nlayout: category\ntitle: {scalar(page.title)}\ncategory: {scalar(page.slug)}\n---\n"


def parse_category_page(text: str) -> CategoryPage:
    data, _ = split_front_matter(text)
    slug, title = data.get("category"), data.get("title")
    if not isinstance(slug, str) or not isinstance(title, str):
        raise PostFormatError("a category page needs a string category and title")
    return CategoryPage(slug=slug, title=title)

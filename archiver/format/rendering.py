"""What a post file renders to, decided without Jekyll: a canonical form of its page, and equality of two.

The archive keeps the exact source of a post (its share page's article) whenever it has it, and a
body rebuilt from the rendered post page (``archiver.format.unrender``) only when it has nothing
better. Two files of one post that differ in bytes may still render to the same page: kramdown
normalizes white space between blocks, ``&`` in attributes, ``<br>`` forms and quotes, and the
rebuilt body writes as HTML what the source wrote as Markdown. ``same_rendering`` tells whether
two post texts render the same, so a weaker source never replaces a better file for nothing.

Both sides are brought to one canonical form, the way ``../shared/tools/compare.py`` compares
pages Jekyll rendered: the front matter as data (layout, title, date as an instant, categories,
tags) and the content as a canonical DOM (tags, sorted attributes, text with white space
collapsed). The content is rendered by the Markdown this site's posts use -- HTML blocks,
paragraphs with inline HTML, ``[text](url)`` links and ``<autolinks>``, ``> digest`` quotes --
and kramdown's typographic substitutions (quotes, dashes, ellipsis) are folded to ASCII on both
sides. Pure functions, no Scrapy.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from typing import Any

from lxml import etree
from lxml import html as lhtml

from archiver.format.post import PostFormatError, parse_post

# Elements kramdown reads as the start of an HTML block (a line starting with any other tag is a
# paragraph, whose inline HTML is kept inside ``<p>``).
_BLOCK_WORDS = (
    "address article aside blockquote body center dd details dir div dl dt fieldset figcaption figure "
    "footer form frameset h1 h2 h3 h4 h5 h6 header hgroup hr html iframe legend li listing main map menu "
    "nav noframes noscript object ol optgroup option p pre script section style summary table tbody td "
    "tfoot th thead title tr ul video math svg"
)
_BLOCK_ELEMENTS = frozenset(_BLOCK_WORDS.split())
_HTML_BLOCK = re.compile(r"^ {0,3}<(?:!--|/?(?P<name>[A-Za-z][A-Za-z0-9]*)(?=[\s/>]|$))")
_AUTOLINK = re.compile(r"<([a-z][a-z0-9+.-]*:[^<>\s]*)>", re.I)
_LINK = re.compile(r"\[([^\[\]\n]*)\]\(([^()\s]*)\)")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", re.S)
_EMPHASIS = re.compile(r"(?<![*\w])([*_])(?=\S)(.+?)(?<=\S)\1(?![*\w])", re.S)
_CODE = re.compile(r"`([^`]+)`")
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~$\"':])")
_BARE_AMPERSAND = re.compile(r"&(?!(?:[A-Za-z][A-Za-z0-9]*|#\d+|#x[0-9A-Fa-f]+);)")
_SPACE = re.compile(r"\s+")
# kramdown's typographic substitutions in Markdown text, folded to what was typed, on both sides.
_TYPOGRAPHY = str.maketrans(
    {"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'"}
    | {"…": "...", "–": "--", "—": "---", "«": "<<", "»": ">>"}
)


@dataclass(frozen=True)
class Rendered:
    """A post as its page shows it: front matter as data, content as a canonical DOM."""

    front: tuple[Any, ...]
    content: tuple[Any, ...]


def _norm(text: str | None) -> str:
    return _SPACE.sub(" ", (text or "").translate(_TYPOGRAPHY)).strip()


def canonical_html(fragment: str) -> tuple[Any, ...]:
    """A canonical, hashable form of an HTML fragment: elements, sorted attributes, collapsed text."""
    if not fragment.strip():
        return ()
    try:
        root = lhtml.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return ("#unparsed", _norm(fragment))
    out: list[Any] = [("#text", _norm(root.text))]
    for element in root.iterdescendants():
        if element.tag is etree.Comment:
            out.append(("#comment", _norm(element.text), _norm(element.tail)))
        elif isinstance(element.tag, str):
            attrs = tuple(sorted((name, _norm(value)) for name, value in element.attrib.items()))
            out.append((element.tag, attrs, _norm(element.text), _norm(element.tail)))
        else:  # processing instructions and the like: only their tail shows
            out.append(("#", _norm(element.tail)))
    return tuple(out)


def _inline(text: str) -> str:
    """The HTML of a Markdown paragraph's text (the span syntax this site's posts use)."""
    text = _BARE_AMPERSAND.sub("&amp;", text)
    text = _ESCAPED.sub(lambda m: html.escape(m.group(1)), text)
    text = _CODE.sub(lambda m: f"<code>{html.escape(m.group(1), quote=False)}</code>", text)
    text = _AUTOLINK.sub(lambda m: f'<a href="{html.escape(m.group(1))}">{html.escape(m.group(1))}</a>', text)
    text = _LINK.sub(lambda m: f'<a href="{html.escape(m.group(2))}">{m.group(1)}</a>', text)
    text = _STRONG.sub(lambda m: f"<strong>{m.group(2)}</strong>", text)
    return _EMPHASIS.sub(lambda m: f"<em>{m.group(2)}</em>", text)


def _blocks(content: str) -> list[str]:
    """Blank-line separated blocks; an HTML block runs on to its closing tag across blank lines."""
    raw = [block for block in re.split(r"\n[ \t\r]*\n", content.strip("\n")) if block.strip()]
    blocks: list[str] = []
    for block in raw:
        if blocks and _open_html_block(blocks[-1]):
            blocks[-1] += "\n\n" + block
        else:
            blocks.append(block)
    return blocks


def _open_html_block(block: str) -> bool:
    match = _HTML_BLOCK.match(block)
    name = match.group("name") if match else None
    if not name or name.lower() not in _BLOCK_ELEMENTS or block.lstrip().startswith("</"):
        return False
    opened = len(re.findall(rf"<{name}(?=[\s>])", block, re.I))
    closed = len(re.findall(rf"</{name}\s*>", block, re.I))
    return opened > closed


def markdown_to_html(content: str) -> str:
    """The HTML kramdown makes of post content in the forms this site uses, up to canonical equality."""
    parts = []
    for block in _blocks(content):
        match = _HTML_BLOCK.match(block)
        name = (match.group("name") or "").lower() if match else None
        if match and (name == "" or name in _BLOCK_ELEMENTS):
            parts.append(block)  # kramdown passes an HTML block through (re-serialized)
        elif all(line.lstrip().startswith(">") for line in block.splitlines()):
            inner = "\n".join(re.sub(r"^\s*> ?", "", line) for line in block.splitlines())
            parts.append(f"<blockquote>{markdown_to_html(inner)}</blockquote>")
        else:
            parts.append(f"<p>{_inline(block.strip())}</p>")
    return "\n".join(parts)


def rendered(text: str) -> Rendered:
    """The canonical rendering of a post file's text; ``PostFormatError`` when it is no post file."""
    article = parse_post(text)
    date = article.date.astimezone(dt.UTC) if isinstance(article.date, dt.datetime) else article.date
    front = (
        article.layout,
        canonical_html(article.title or ""),  # the layout prints the title as HTML
        date,
        tuple((article.category or "").split()),
        tuple(article.tags),
    )
    pieces = [article.body or ""]
    if article.link:
        pieces.append(f"<{article.link}>")
    if article.footer:
        pieces.append(article.footer)
    return Rendered(front, canonical_html(markdown_to_html("\n\n".join(pieces))))


def same_rendering(old: str, new: str) -> bool:
    """True when the two post texts render to the same page (identical texts always do)."""
    if old == new:
        return True
    try:
        return rendered(old) == rendered(new)
    except PostFormatError:
        return False

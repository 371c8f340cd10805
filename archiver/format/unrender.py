r"""Turning a post's rendered body (kramdown's HTML, as Jekyll wrote it) back into post source.

When the exact source of a body is gone, the archive keeps a source that
Jekyll renders to the same page. Blocks that came from plain Markdown go
back to Markdown (a paragraph of text, a ``> quote``, a lone ``<autolink>``,
a paragraph of links); everything else stays as the HTML block it is, which
kramdown passes through. A block is written as Markdown only when its text
holds nothing that Markdown would read differently, so the round trip never
changes what the page shows.

Where the page cannot tell two sources apart, the source is the one the site's
generator wrote (its versions: ``archiver.post``, "Source forms"):

- the elements of one HTML block are written on one line, with nothing between
  them: the generator wrote the article's HTML as the API returned it, on one
  line (kramdown puts every block element of it on a line of its own);
- an ``&`` in an attribute value is written as the article's HTML has it, bare
  (kramdown writes ``&amp;`` for both), unless the HTML parser could read an
  entity there;
- an ``&`` of Markdown text is written bare (``S&P``, as the API's digest had it) where
  kramdown reads it as itself: it writes ``&amp;`` for both;
- a paragraph of plain lines is written as those lines (early media posts:
  ``simtitle + "\n" + simdigest``);
- ``source_form`` names the generator version a post page stands for. The
  plain-digest ``emnews`` versions (``---\n\n<digest>\n\n<url>`` and a footer,
  or none) ran on 2021-12-08 only, from the generator's first run (its first
  posts are of 10:18) to the afternoon (its last plain-digest posts are of
  15:46). Those before the offset wrote the API's Beijing time bare: Jekyll read
  it as UTC, so their posts show their time 8 hours late, 18:00 or later; the
  versions that appended ``+0800`` show it as it was, before 18:00. So the
  ``<small>`` time of a plain-digest page decides (whatever its footer: both
  kinds of version wrote ``｜`` and two-line footers):

  ===============================================  ================
  the page of a plain-digest ``emnews`` post       form
  ===============================================  ================
  shows 2021-12-08 18:00 to 2021-12-09 07:59       ``early-bare``
  shows 2021-12-08 00:00 to 17:59                  ``early-offset``
  any other time                                   None
  ===============================================  ================

  Every other page is in the archive's own form (None).
"""

from __future__ import annotations

import datetime as dt
import html
import html.entities
import re
from dataclasses import dataclass

from archiver.format import dates, htmlsource

# Text that Markdown (kramdown's GFM flavour, with typographic quotes) would change or parse.
_MARKDOWN_ACTIVE = re.compile(
    r"""[\\`*_{}\[\]<>#|~$"'^]|--|\.\.\.|^\s|\s$|^\d+\.\s|^[-+=:]|&(?!(?:[a-z]+|#\d+|#x[\da-f]+);)""", re.I
)
_ANCHOR = re.compile(r'^<a href="([^"<>]*)">([^<>]*)</a>$')
_ANCHOR_SEPARATOR = re.compile(r"(｜|\n)")
_AUTOLINK_URL = re.compile(r"^[a-z][a-z0-9+.-]*:[^<>\s]*$", re.I)
_NOT_IN_MARKDOWN_URL = re.compile(r"[\s()<>]")


# A start tag as kramdown writes it: attribute values double-quoted, with `<`, `>` and `"` escaped.
_START_TAG = re.compile(r"<[A-Za-z][^<>]*>")
_AMP = re.compile(r"&amp;(?=(#?[A-Za-z0-9]*)(;?))")
# Entities an HTML parser reads without a `;` (e.g. `&copy`): after them `&amp;` stays.
_LEGACY_ENTITIES = tuple(sorted(name for name in html.entities.html5 if not name.endswith(";")))


def _bare_amp(match: re.Match[str]) -> str:
    word, semicolon = match.group(1), match.group(2)
    if semicolon or word.startswith(_LEGACY_ENTITIES) or word.startswith("#"):
        return match.group()
    return "&"


def bare_attribute_amps(fragment: str) -> str:
    """``fragment`` with every ``&amp;`` of its start tags' attributes written ``&``, where that reads the same."""
    if "&amp;" not in fragment:
        return fragment
    return _START_TAG.sub(lambda tag: _AMP.sub(_bare_amp, tag.group()), fragment)


# kramdown reads `&name;`, `&#1;` and `&#x1;` in Markdown text as entities, any other `&` as itself.
_TEXT_AMP = re.compile(r"&amp;(?!(?:[A-Za-z][A-Za-z0-9]*|#\d+|#x[\da-fA-F]+);)")


def bare_text_amps(text: str) -> str:
    """Markdown text with kramdown's ``&amp;`` written ``&`` where kramdown reads ``&`` as itself (``S&P``)."""
    return _TEXT_AMP.sub("&", text)


@dataclass(frozen=True)
class Unrendered:
    body: str
    link: str | None
    footer: str | None


def _is_plain(text: str) -> bool:
    return bool(text) and "\n" not in text and _MARKDOWN_ACTIVE.search(text) is None


def _is_plain_lines(text: str) -> bool:
    """A paragraph kramdown renders from these lines as they are (it keeps a line break as one)."""
    return all(_is_plain(line) for line in text.split("\n"))


def _anchors(inner: str) -> list[tuple[str, str]] | None:
    """[(text, href)] when ``inner`` is one or more anchors joined by ｜ or a line break, else None."""
    parts = _ANCHOR_SEPARATOR.split(inner.strip())
    anchors = []
    for i, part in enumerate(parts):
        if i % 2:
            continue
        match = _ANCHOR.match(part)
        if match is None:
            return None
        anchors.append((html.unescape(match.group(2)), html.unescape(match.group(1))))
    return anchors


def _autolink(span: htmlsource.Span, text: str) -> str | None:
    if span.name != "p":
        return None
    anchors = _anchors(span.inner(text))
    if anchors is None or len(anchors) != 1:
        return None
    label, href = anchors[0]
    if label != href or not _AUTOLINK_URL.match(href):
        return None
    return href


def _footer(span: htmlsource.Span, text: str) -> str | None:
    if span.name != "p":
        return None
    inner = span.inner(text).strip()
    anchors = _anchors(inner)
    if not anchors:
        return None
    if any(not _is_plain(label) or _NOT_IN_MARKDOWN_URL.search(href) for label, href in anchors):
        return None
    separators = _ANCHOR_SEPARATOR.findall(inner)
    out = f"[{anchors[0][0]}]({anchors[0][1]})"
    for sep, (label, href) in zip(separators, anchors[1:], strict=True):
        out += f"{sep}[{label}]({href})"
    return out


def _block(span: htmlsource.Span, text: str, article_html: bool = False) -> str:
    """One top-level block in source form (``article_html``: a one-line paragraph was the article's HTML)."""
    inner = span.inner(text)
    plain = span.name == "p" and not span.attrs_text.strip() and _is_plain_lines(inner)
    if plain and ("\n" in inner or not article_html):
        return bare_text_amps(inner)
    if span.name == "blockquote":
        paragraphs = [
            part
            for part in htmlsource.children(text, span.start, span.stop)
            if part[0] != "text" or text[part[1] : part[2]].strip()
        ]
        if len(paragraphs) == 1 and paragraphs[0][3] is not None:
            para = paragraphs[0][3]
            if para.name == "p" and not para.attrs_text.strip() and _is_plain(para.inner(text)):
                return "> " + bare_text_amps(para.inner(text))
    return bare_attribute_amps(span.outer(text))


@dataclass(frozen=True)
class Tail:
    """A rendered body split from its trailing link and footer paragraphs (still rendered HTML)."""

    body_html: str
    link: str | None
    footer: str | None


def _blocks(fragment: str, start: int = 0) -> list[tuple[str, htmlsource.Span | None]]:
    """Top-level blocks of ``fragment[start:]``: (source, element span or None for loose text)."""
    blocks: list[tuple[str, htmlsource.Span | None]] = []
    for kind, begin, stop, span in htmlsource.children(fragment, start, len(fragment)):
        chunk = fragment[begin:stop]
        if kind == "text":
            if chunk.strip():
                # kramdown never leaves text at the top level; a page that does keeps it as it was.
                blocks.append((chunk.strip(), None))
            continue
        blocks.append((chunk, span))
    return blocks


def _last_block(fragment: str) -> htmlsource.Span | None:
    """The last top-level element when it ends the fragment, looked up from the end.

    kramdown separates blocks with a blank line, so the last one is almost always the text after
    the last blank line; only when that is not one whole element are all blocks scanned.
    """
    cut = fragment.rfind("\n\n")
    for start in (cut + 2, 0) if cut >= 0 else (0,):
        blocks = _blocks(fragment, start)
        if blocks and blocks[-1][1] is not None and blocks[-1][1].closed and (start == 0 or len(blocks) == 1):
            return blocks[-1][1]
    return None


def split_tail(fragment: str) -> Tail:
    """Peel the footer paragraph and the autolink paragraph off the end of a rendered body."""
    rest = fragment.strip()
    footer = link = None
    last = _last_block(rest)
    # A lone autolink is the post's link, never a footer.
    if last is not None and _autolink(last, rest) is None and (footer := _footer(last, rest)) is not None:
        rest = rest[: last.outer_start].rstrip()
        last = _last_block(rest)
    if last is not None and (link := _autolink(last, rest)) is not None:
        rest = rest[: last.outer_start].rstrip()
    return Tail(body_html=rest, link=link, footer=footer)


def source_body(body_html: str, article_html: bool = False) -> str:
    """Post source of a rendered body (without its link and footer).

    kramdown writes a blank line between the blocks it renders from Markdown, and keeps the
    elements of one HTML block on consecutive lines. So elements that follow each other without
    a blank line came from one HTML block of the source and stay one HTML block, on one line;
    a block on its own goes back to Markdown when that renders the same, unless ``article_html``
    says the body is an article's HTML (the generator's API text), where a lone one-line paragraph
    stays the ``<p>`` it was.
    """
    groups: list[list[tuple[int, int, htmlsource.Span | None]]] = []
    previous_stop = None
    for kind, start, stop, span in htmlsource.children(body_html, 0, len(body_html)):
        if kind == "text" and not body_html[start:stop].strip():
            continue
        if previous_stop is None or "\n\n" in body_html[previous_stop:start] or kind == "text":
            groups.append([])
        groups[-1].append((start, stop, span if kind == "element" else None))
        previous_stop = stop if kind != "text" else None
    parts = []
    for group in groups:
        start, stop, span = group[0]
        if len(group) == 1 and span is not None:
            parts.append(_block(span, body_html, article_html))
        elif all(_starts_html_block(member, body_html) for member in group):
            # One HTML block: the generator wrote it on one line, as the API returned it.
            parts.append(bare_attribute_amps("".join(body_html[begin:end] for begin, end, _ in group)))
        else:
            # kramdown never leaves text at the top level; a page that does keeps it as it was.
            parts.append(body_html[start : group[-1][1]].strip())
    return "\n\n".join(parts)


# kramdown's HTML_SPAN_ELEMENTS: a line that starts with one of these is a paragraph, not an HTML block.
_SPAN_ELEMENTS = frozenset(
    ("a", "abbr", "acronym", "b", "big", "bdo", "br", "button", "cite", "code", "del", "dfn", "em", "i", "img",
     "input", "ins", "kbd", "label", "mark", "option", "q", "rb", "rbc", "rp", "rt", "rtc", "ruby", "samp",
     "select", "small", "span", "strike", "strong", "sub", "sup", "textarea", "tt", "u", "var")
)  # fmt: skip


def _starts_html_block(member: tuple[int, int, htmlsource.Span | None], text: str) -> bool:
    """Whether kramdown reads this element, written where the previous one ends, as (part of) an HTML block."""
    begin, end, span = member
    if span is None:
        # A comment (kramdown passes a block-level comment through as it is).
        return text.startswith("<!--", begin) and text.endswith("-->", begin, end)
    return span.closed and span.name.lower() not in _SPAN_ELEMENTS


# The plain-digest `emnews` versions of the site's generator ran on 2021-12-08 only, from its first run
# (its first posts are of 10:18, Beijing) to the afternoon (its last plain-digest posts are of 15:46).
# Those that wrote the date without offset published each post at its Beijing time read as UTC:
# 8 hours late, so their posts show 18:00 or later; those that appended `+0800` show their time, before 18:00.
PLAIN_DIGEST_START = dt.datetime(2021, 12, 8, 0, 0, tzinfo=dates.BEIJING)
PLAIN_DIGEST_BARE_FROM = dt.datetime(2021, 12, 8, 18, 0, tzinfo=dates.BEIJING)
PLAIN_DIGEST_END = dt.datetime(2021, 12, 9, 8, 0, tzinfo=dates.BEIJING)


def source_form(
    body: str, link: str | None, footer: str | None, category: str | None, shown: dt.datetime | str | None
) -> str | None:
    """The source form (``archiver.post.SOURCE_FORMS``) of the generator version a post page stands for.

    ``body``, ``link`` and ``footer`` are the page's content in source form (``unrender``),
    ``category`` the post's slug, ``shown`` the time the page shows (Beijing).
    """
    # Only the plain-digest versions wrote a post otherwise than the archive does: their posts are
    # an `emnews` digest paragraph and its link (a `> digest` blockquote came with the later versions).
    if category != "emnews" or not link or body.startswith(">") or "\n\n" in body:
        return None
    if isinstance(shown, str):
        try:
            shown = dates.parse_time(shown)
        except dates.DateError:
            return None
    if not isinstance(shown, dt.datetime) or not PLAIN_DIGEST_START <= shown < PLAIN_DIGEST_END:
        return None
    return "early-bare" if shown >= PLAIN_DIGEST_BARE_FROM else "early-offset"


def is_article_html(body_html: str, link: str | None, category: str | None) -> bool:
    """Whether a rendered body (without link and footer) is the article's HTML the generator got from its API.

    Every generator version wrote a link after the body; all but the plain-digest ``emnews``
    ones (a digest paragraph, no blockquote) and get_emnews_2.py (``simtitle\nsimdigest``, a
    paragraph of two lines, kept as lines) wrote the API's HTML, after a ``> digest`` on ``emnews`` posts.
    """
    return bool(link) and not (category == "emnews" and not body_html.lstrip().startswith("<blockquote"))


def unrender(fragment: str) -> Unrendered:
    """Source form of a rendered post body: (body, trailing autolink, trailing footer paragraph)."""
    tail = split_tail(fragment)
    return Unrendered(body=source_body(tail.body_html), link=tail.link, footer=tail.footer)

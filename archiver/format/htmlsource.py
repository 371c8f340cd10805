"""Exact cuts from HTML source text.

Re-serializing a parsed tree changes what a page said (``<br />`` becomes
``<br>``, ``&`` in attributes becomes ``&amp;``, ``&nbsp;`` becomes U+00A0,
attributes are requoted), so the parts of a page an archive must keep
byte-exact are cut from the decoded page text instead. This module finds
elements in the text with a small tag scanner that knows comments and raw
text elements, and gives back source offsets.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

_ATTRS = r"""(?P<attrs>(?:[^>"']|"[^"]*"|'[^']*')*)>"""
_TOKEN = re.compile(
    r"""<!--.*?(?:-->|\Z)
    |<![^>]*>
    |<\?[^>]*>
    |<(?P<end>/?)(?P<name>[A-Za-z][^\s/>]*)"""
    + _ATTRS,
    re.S | re.X,
)
_ATTR = re.compile(r"""([^\s"'=<>/`]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
# Elements whose content is text, not markup: a `<div>` inside a script is no element.
RAW_TEXT = frozenset({"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript"})
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
)


_ATTRS_BODY = r"""(?:[^>"']|"[^"]*"|'[^']*')*"""


def _nocase(*words: str) -> str:
    """Any of ``words`` in any case, as a pattern.

    Case is ignored only there: a pattern compiled with re.I is tried at every offset of the text
    instead of jumping from `<` to `<`, and a case-insensitive alternation is tried word by word
    unless a plain character class has ruled its first letter out.
    """
    firsts = "".join(sorted({c for w in words for c in (w[0].lower(), w[0].upper())}))
    return rf"(?=[{re.escape(firsts)}])(?i:{'|'.join(re.escape(w) for w in sorted(words))})"


def _raw_elements(names: frozenset[str]) -> str:
    return rf"|<(?P<raw>{_nocase(*names)})(?=[\s/>]){_ATTRS_BODY}>.*?(?:</(?i:(?P=raw))\s*>|\Z)"


# Another element's tag whose name or attribute text holds a `<` (`<img alt="</div>">`): read
# whole, as iter_tags reads it, so that no tag is seen inside it. Other tags need not be read at
# all: with no `<` inside, nothing in them can be taken for a tag.
# The look-ahead is possessive: it only decides whether to read the tag whole, and backtracking
# into it made every scan three times as slow.
_HIDING_TAG = rf"""</?[A-Za-z]
    (?=[^\s/><]*+<|[^\s/>]*+(?:[^>"'<]++|"[^"<]*+"|'[^'<]*+')*+(?:<|"[^"<]*<|'[^'<]*<))
    [^\s/>]*{_ATTRS_BODY}>"""


@functools.lru_cache(maxsize=64)
def _scanner(name: str) -> re.Pattern[str]:
    """A pattern that finds start and end tags of one element name, stepping over comments and raw text.

    Skipping everything else inside the regular expression engine is what makes cutting a few
    elements out of a page cheap: no Python code runs for the hundreds of other tags.
    """
    return re.compile(
        rf"""<!--.*?(?:-->|\Z)
        {_raw_elements(RAW_TEXT - {name})}
        |<(?P<end>/?)(?P<name>{_nocase(name)})(?=[\s/>])"""
        + _ATTRS
        + rf"""|{_HIDING_TAG}""",
        re.S | re.X,
    )


@functools.cache
def _skipper() -> re.Pattern[str]:
    """A pattern stepping over every token that ends before a given offset, as iter_tags reads them.

    It stops at the first `<` whose token does not end before the offset. Nothing here may match
    a token only partly: unterminated comments and raw text elements, and start tags of raw text
    elements whose end tag lies beyond the offset, stop it instead. One alternative per raw text
    element: CPython's re cannot capture inside an atomic repeat. Compiled on first use, as the
    scanners are: compiling it at import would cost every start 40 ms.
    """
    raw_elements = "".join(rf"|{_nocase(n)}(?=[\s/>]){_ATTRS_BODY}>.*?</{_nocase(n)}\s*>" for n in sorted(RAW_TEXT))
    return re.compile(
        rf"""(?:[^<]++
        |<(?:!--.*?-->|!(?!--)[^>]*+>|\?[^>]*+>
        {raw_elements}
        |/[A-Za-z][^\s/>]*{_ATTRS_BODY}>
        |(?!{_nocase(*RAW_TEXT)}[\s/>])[A-Za-z][^\s/>]*{_ATTRS_BODY}>
        ))*+""",
        re.S | re.X,
    )


class Tag(NamedTuple):
    # Tuples: a page's scan creates hundreds of these, and a frozen dataclass is slow to build.
    name: str  # lower case
    end: bool  # an end tag
    start: int  # offset of `<`
    stop: int  # offset after `>`
    attrs_text: str
    self_closing: bool

    def attrs(self) -> dict[str, str]:
        return parse_attrs(self.attrs_text)

    def has_class(self, cls: str) -> bool:
        return cls in self.attrs().get("class", "").split()


class Span(NamedTuple):
    """An element's offsets: ``text[outer_start:outer_stop]`` is the element, ``text[start:stop]`` its content."""

    outer_start: int
    start: int
    stop: int
    outer_stop: int
    name: str
    attrs_text: str
    closed: bool  # False when the end tag was missing and the span runs to the end of its scope

    def inner(self, text: str) -> str:
        return text[self.start : self.stop]

    def outer(self, text: str) -> str:
        return text[self.outer_start : self.outer_stop]

    def attrs(self) -> dict[str, str]:
        return parse_attrs(self.attrs_text)


def parse_attrs(attrs_text: str) -> dict[str, str]:
    """Attributes of a start tag, values entity-decoded; the first of a repeated name wins, as in browsers."""
    attrs: dict[str, str] = {}
    for match in _ATTR.finditer(attrs_text.rstrip("/")):
        name = match.group(1).lower()
        if name in attrs:
            continue
        value = next((g for g in match.groups()[1:] if g is not None), "")
        attrs[name] = html.unescape(value)
    return attrs


def iter_tags(text: str, pos: int = 0, endpos: int | None = None, name: str | None = None) -> Iterator[Tag]:
    """Start and end tags of ``text[pos:endpos]`` in order (only those named ``name`` when given).

    Comments, doctypes and the content of raw text elements (script, style, ...) are skipped.
    """
    endpos = len(text) if endpos is None else endpos
    pattern = _TOKEN if name is None else _scanner(name.lower())
    while True:
        match = pattern.search(text, pos, endpos)
        if match is None:
            return
        pos = match.end()
        tag_name = match.group("name")
        if tag_name is None:
            continue
        lname = tag_name.lower()
        attrs_text = match.group("attrs")
        is_end = bool(match.group("end"))
        yield Tag(lname, is_end, match.start(), pos, attrs_text, attrs_text.endswith("/"))
        if name is None and lname in RAW_TEXT and not is_end:
            pos = _raw_text_end(text, lname, pos, endpos)


@functools.cache
def _raw_close(name: str) -> re.Pattern[str]:
    return re.compile(rf"</{_nocase(name)}\s*>")


def _raw_text_end(text: str, name: str, pos: int, endpos: int) -> int:
    """Where the text of raw text element ``name`` opened before ``pos`` ends: its end tag, or ``endpos``."""
    close = _raw_close(name).search(text, pos, endpos)
    return close.start() if close else endpos


def close_of(text: str, tag: Tag, endpos: int | None = None) -> Span:
    """The span of the element ``tag`` opens, balancing same-name tags."""
    endpos = len(text) if endpos is None else endpos
    if tag.name in VOID or tag.self_closing:
        return Span(tag.start, tag.stop, tag.stop, tag.stop, tag.name, tag.attrs_text, True)
    if tag.name in RAW_TEXT:
        close = _raw_close(tag.name).search(text, tag.stop, endpos)
        if close is None:
            return Span(tag.start, tag.stop, endpos, endpos, tag.name, tag.attrs_text, False)
        return Span(tag.start, tag.stop, close.start(), close.end(), tag.name, tag.attrs_text, True)
    pattern = _scanner(tag.name)
    pos = tag.stop
    depth = 1
    while (match := pattern.search(text, pos, endpos)) is not None:
        pos = match.end()
        if match.group("name") is None or match.group("attrs").endswith("/"):
            continue  # a comment, raw text, or a self-closing tag
        if not match.group("end"):
            depth += 1
        elif (depth := depth - 1) == 0:
            return Span(tag.start, tag.stop, match.start(), pos, tag.name, tag.attrs_text, True)
    return Span(tag.start, tag.stop, endpos, endpos, tag.name, tag.attrs_text, False)


def find(
    text: str,
    name: str | None = None,
    predicate: Callable[[Tag], bool] | None = None,
    pos: int = 0,
    endpos: int | None = None,
) -> Span | None:
    """The first element named ``name`` (any when None) whose start tag satisfies ``predicate``."""
    for tag in iter_tags(text, pos, endpos, name):
        if tag.end:
            continue
        if predicate is None or predicate(tag):
            return close_of(text, tag, endpos)
    return None


def find_by_attr(
    text: str, attr: str, value: str, *, word: bool = False, pos: int = 0, endpos: int | None = None
) -> Span | None:
    """The first element whose attribute ``attr`` is ``value``, or with ``word`` holds it among its words (class).

    The same element ``find`` gives with that predicate, found from where ``value`` occurs in the
    text: only the start tags holding it are looked at, so a value written with character
    references (``id="Content&#66;ody"``) is not found.
    """
    endpos = len(text) if endpos is None else endpos
    needle = text.find(value, pos, endpos)
    while needle >= 0:
        skipped = _skipper().match(text, pos, needle)
        pos = skipped.end() if skipped else pos
        if pos >= needle:  # the value is in text
            needle = text.find(value, needle + 1, endpos)
            continue
        token = _TOKEN.match(text, pos, endpos)
        if token is None:  # a `<` that opens nothing
            pos += 1
            continue
        pos = token.end()
        name = token.group("name")
        if name is not None and not token.group("end"):
            attrs_text = token.group("attrs")
            tag = Tag(name.lower(), False, token.start(), pos, attrs_text, attrs_text.endswith("/"))
            if needle < pos:
                found = tag.attrs().get(attr)
                if found is not None and (value in found.split() if word else found == value):
                    return close_of(text, tag, endpos)
            if tag.name in RAW_TEXT:
                pos = _raw_text_end(text, tag.name, pos, endpos)
        if needle < pos:
            needle = text.find(value, pos, endpos)
    return None


def find_all(text: str, name: str, pos: int = 0, endpos: int | None = None) -> list[Span]:
    """Every element named ``name``, outermost first; nested ones are not listed again."""
    spans: list[Span] = []
    cursor = pos
    while (span := find(text, name, None, cursor, endpos)) is not None:
        spans.append(span)
        cursor = max(span.outer_stop, span.start)
    return spans


def children(text: str, pos: int, endpos: int) -> Iterator[tuple[str, int, int, Span | None]]:
    """Top-level parts of ``text[pos:endpos]``: ("element", span), ("comment", ...), ("text", ...)."""
    cursor = pos
    while cursor < endpos:
        match = _TOKEN.search(text, cursor, endpos)
        if match is None:
            break
        if match.start() > cursor:
            yield "text", cursor, match.start(), None
        if match.group("name") is None:
            yield "comment", match.start(), match.end(), None
            cursor = match.end()
            continue
        if match.group("end"):
            # A stray end tag at this level: keep it as text so nothing is lost.
            yield "text", match.start(), match.end(), None
            cursor = match.end()
            continue
        attrs_text = match.group("attrs")
        tag = Tag(
            match.group("name").lower(),
            False,
            match.start(),
            match.end(),
            attrs_text,
            attrs_text.endswith("/"),
        )
        span = close_of(text, tag, endpos)
        yield "element", span.outer_start, span.outer_stop, span
        cursor = max(span.outer_stop, tag.stop)
    if cursor < endpos:
        yield "text", cursor, endpos, None


_TAGS = re.compile(r"<[^>]*>")


def text_content(fragment: str) -> str:
    """The text of an HTML fragment: tags dropped, entities decoded."""
    return html.unescape(_TAGS.sub("", fragment))

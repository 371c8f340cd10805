"""Sanitizing what an archive publishes: post bodies, titles and tags that Jekyll prints as they are.

The site's generator published whatever it received, so a ``<script>`` or an
``onerror=`` in a source article went straight onto the site. Here a body is
cleaned with nh3 (ammonia, over the html5ever parser that browsers' HTML
parsing is specified by), with an allowlist that keeps the markup the site
really uses.

A body holding nothing dangerous is kept byte for byte: re-serializing HTML
changes it (``<br />`` becomes ``<br>``), and the archive must keep the exact
source. Whether a body is dangerous is decided by the sanitizer itself: the
body is cleaned twice, with the strict allowlist and with one that allows
every tag, attribute and URL scheme the body holds; the outputs differ
exactly when the strict allowlist removed something. Only then is the
body replaced by its cleaned form.

Bodies are Markdown with HTML in it, and kramdown can make markup of its own:
links ``[x](javascript:...)``, reference definitions and attribute lists
``{: onclick="..."}``. Those are found and defused here too.

Titles and tags are printed unescaped by the site's layouts (the home page
even puts tags inside ``id="..."``): they are kept as text, escaped just
enough that no markup can form.
"""

from __future__ import annotations

import functools
import html
import re
from collections import Counter
from dataclasses import dataclass, field

import nh3

from archiver.format import htmlsource

# The markup the site's articles use (and the usual formatting markup of news articles).
ALLOWED_TAGS = frozenset(nh3.ALLOWED_TAGS) | {
    "big", "font", "section", "tfoot", "caption", "u", "video", "audio", "source", "picture", "nobr", "label",
}  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": {
        "class", "id", "style", "title", "lang", "dir", "align", "valign", "width", "height", "border",
        "bgcolor", "color", "face", "size", "href", "web", "name", "target", "rel", "cite", "datetime",
    },
    "img": {"src", "alt", "hspace", "vspace", "srcset", "sizes", "loading"},
    "table": {"cellpadding", "cellspacing", "summary", "frame", "rules"},
    "td": {"colspan", "rowspan", "headers", "nowrap", "abbr", "scope"},
    "th": {"colspan", "rowspan", "headers", "nowrap", "abbr", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "type", "reversed"},
    "ul": {"type"},
    "li": {"value", "type"},
    "a": {"hreflang", "type", "download"},
    "video": {"src", "poster", "controls", "preload", "muted", "loop"},
    "audio": {"src", "controls", "preload", "muted", "loop"},
    "source": {"src", "srcset", "type", "media", "sizes"},
    "bdo": {"dir"},
}  # fmt: skip
SAFE_URL_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "mailto", "tel"})
# Schemes that run code when followed (or did, in browsers still around).
UNSAFE_URL_SCHEMES = frozenset({"javascript", "vbscript", "data", "livescript", "mocha"})
# Elements removed together with what they hold: code, and fallback content nobody reads.
REMOVED_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "object", "embed", "applet", "noscript", "template", "noembed", "noframes", "xmp"}
)

# A `<` that starts a tag, end tag, comment or processing instruction in HTML.
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")
_TAG_NAME = re.compile(r"</?([A-Za-z][^\t\n\f\r />]*)")
# ASCII letters of either case: lowering a whole body to match costs more than lowering what matched.
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_CHAR_REF = re.compile(r"&(?:#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[A-Za-z][A-Za-z0-9]*;?)")
_CONTROLS = re.compile(r"[\x00-\x20\x7f]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_CSS_DANGER = re.compile(r"expression\s*\(|javascript:|vbscript:|-moz-binding|behavior\s*:|@import", re.I)
# kramdown: inline link and image targets, reference definitions, attribute lists.
_MD_INLINE = re.compile(r"(\]\(\s*)(<[^>\n]*>|[^\s)]*)")
_MD_REFERENCE = re.compile(r"(^ {0,3}\[[^\]\n]+\]:[ \t]*)(<[^>\n]*>|\S+)", re.M)
_MD_IAL = re.compile(r"\{:[^}\n]*\}")
_MD_HANDLER = re.compile(r"(?:^|[\s{:.#\"'])on[a-z0-9_-]*\s*=", re.I)
# Markdown the HTML serializer would escape: quote markers are shielded while it runs, autolinks
# are rewritten as Markdown links (restoring `<...>` into cleaned HTML could make a live tag again).
_MD_QUOTE = re.compile(r"^(?: {0,3}>)+", re.M)
_MD_AUTOLINK = re.compile(r"<((?:https?|ftps?|mailto):[^\s<>\"'`()\[\]]+)>", re.I)
_SHIELD = re.compile("\ue000([0-9]+)\ue001")
_START_TAG_NAME = re.compile(r"<([A-Za-z][^\t\n\f\r />]*)")


@dataclass
class Cleaned:
    """A sanitized value; ``removed`` counts what was taken out (``tag/script``, ``attribute/onerror``, ...)."""

    text: str
    removed: Counter[str] = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return bool(self.removed)


def _css_filter(element: str, attribute: str, value: str) -> str | None:
    if attribute == "style" and _CSS_DANGER.search(_CONTROLS.sub("", html.unescape(value))):
        return None
    return value


@functools.cache
def _strict(*, strip_comments: bool = False) -> nh3.Cleaner:
    """The allowlist. Comments are kept to compare (they are harmless and bodies hold them), and
    stripped from a body that is rewritten, so that nothing restored into it can close one."""
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(REMOVED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_css_filter,
        generic_attribute_prefixes={"data-"},
        url_schemes=set(SAFE_URL_SCHEMES),
        strip_comments=strip_comments,
        link_rel=None,
    )


def _permissive(body: str) -> nh3.Cleaner:
    """A cleaner that keeps every tag, attribute and URL scheme ``body`` could hold."""
    names = frozenset(name.translate(_ASCII_LOWER) for name in set(_TAG_NAME.findall(body)))
    decoded = html.unescape(body).replace("\t", "").replace("\n", "").replace("\r", "")
    schemes = frozenset(scheme.translate(_ASCII_LOWER) for scheme in set(_SCHEME.findall(decoded)))
    return _permissive_cleaner(names, schemes)


@functools.lru_cache(maxsize=256)
def _permissive_cleaner(names: frozenset[str], schemes: frozenset[str]) -> nh3.Cleaner:
    # Bodies of one site use the same few tags and schemes: building a cleaner costs more than using it.
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS | REMOVED_WITH_CONTENT) | names,
        clean_content_tags=set(),
        attributes={},
        generic_attribute_prefixes={""},
        url_schemes=set(SAFE_URL_SCHEMES | UNSAFE_URL_SCHEMES) | schemes,
        strip_comments=False,
        link_rel=None,
    )


def url_scheme(url: str) -> str | None:
    """The scheme a browser sees in ``url`` (entities decoded, controls and white space dropped), if any."""
    match = _SCHEME.match(_CONTROLS.sub("", html.unescape(url)))
    return match.group(1).translate(_ASCII_LOWER) if match else None


def is_unsafe_url(url: str) -> bool:
    return url_scheme(url) in UNSAFE_URL_SCHEMES


def _counted_removals(kept: str, cleaned: str) -> Counter[str]:
    """What the strict cleaner removed, from the two serializations of the same parse."""
    removed: Counter[str] = Counter()
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    for text, counter in ((kept, before), (cleaned, after)):
        for tag in htmlsource.iter_tags(text):
            if tag.end:
                continue
            counter[f"tag/{tag.name}"] += 1
            for name, value in tag.attrs().items():
                scheme = url_scheme(value) if name in ("href", "src", "action", "formaction", "data") else None
                key = f"url/{scheme}" if scheme in UNSAFE_URL_SCHEMES else f"attribute/{name}"
                counter[key] += 1
    for key, count in before.items():
        if count > after[key]:
            removed[key] = count - after[key]
    return removed


def html_findings(body: str) -> Counter[str]:
    """What the allowlist removes from ``body`` read as HTML; empty when it removes nothing.

    Always decided on ``body`` exactly as it is: any rewriting before the comparison could make
    the sanitizer read markup differently from a browser.
    """
    if "<" not in body:
        return Counter()
    cleaned = _strict().clean(body)
    if cleaned == body:
        # A body the allowlist leaves exactly as it is holds nothing it would remove.
        return Counter()
    kept = _permissive(body).clean(body)
    if kept == cleaned:
        return Counter()
    return _counted_removals(kept, cleaned) or Counter({"markup": 1})


def _markdown_fix(text: str) -> tuple[str, Counter[str]]:
    """``text`` with kramdown's own routes to markup defused: unsafe link targets, handler attribute lists."""
    removed: Counter[str] = Counter()

    def link(match: re.Match[str]) -> str:
        target = match.group(2).strip("<>")
        if not is_unsafe_url(target):
            return match.group()
        removed[f"url/{url_scheme(target)}"] += 1
        return match.group(1) + ("<>" if match.group(2).startswith("<") else "")

    def reference(match: re.Match[str]) -> str:
        target = match.group(2).strip("<>")
        if not is_unsafe_url(target):
            return match.group()
        removed[f"url/{url_scheme(target)}"] += 1
        return match.group(1) + "#"

    def attribute_list(match: re.Match[str]) -> str:
        decoded = html.unescape(match.group())
        if _MD_HANDLER.search(decoded) or any(f"{s}:" in _CONTROLS.sub("", decoded) for s in UNSAFE_URL_SCHEMES):
            removed["markdown/attribute_list"] += 1
            return ""
        return match.group()

    if "](" in text:
        text = _MD_INLINE.sub(link, text)
    if "]:" in text:
        text = _MD_REFERENCE.sub(reference, text)
    if "{:" in text:
        text = _MD_IAL.sub(attribute_list, text)
    return text, removed


def findings(body: str) -> Counter[str]:
    """What sanitizing ``body`` would remove; empty when the body is safe as it is."""
    _, markdown = _markdown_fix(body)
    return html_findings(body) + markdown


def _clean_markdown_html(body: str) -> str:
    """The strict cleaning of a Markdown body, keeping the Markdown the HTML serializer would escape."""
    text = _MD_AUTOLINK.sub(r"[\1](\1)", body)
    cleaner = _strict(strip_comments=True)
    if "\ue000" in text or "\ue001" in text:
        return cleaner.clean(text)
    shielded: list[str] = []

    def shield(match: re.Match[str]) -> str:
        shielded.append(match.group())
        return f"\ue000{len(shielded) - 1}\ue001"

    # Only `>` comes back, into text or a quoted attribute value of the cleaned HTML: never markup.
    return _SHIELD.sub(lambda m: shielded[int(m.group(1))], cleaner.clean(_MD_QUOTE.sub(shield, text)))


def sanitize_body(body: str) -> Cleaned:
    """``body`` unchanged when it holds nothing dangerous, else its cleaned form and what was removed."""
    found = html_findings(body)
    text = _clean_markdown_html(body) if found else body
    text, markdown = _markdown_fix(text)
    return Cleaned(text if (found or markdown) else body, found + markdown)


def is_blank_html(text: str) -> bool:
    """True when ``text`` shows nothing: no text and no image."""
    return not htmlsource.text_content(text).strip() and "<img" not in text.lower()


# --- titles and tags -------------------------------------------------------------------------------


def text_to_html(text: str, *, attribute_safe: bool = False) -> str:
    """Plain text as the HTML that shows it, escaping only what would otherwise be read as markup.

    ``<`` that would open a tag and ``&`` that would start a character reference are escaped;
    an ordinary title stays byte for byte. ``attribute_safe`` also escapes quotes, for values a
    layout prints inside an attribute (tags become ``id="..."`` on the site's home page).
    """

    def ref(match: re.Match[str]) -> str:
        token = match.group()
        return "&amp;" + token[1:] if html.unescape(token) != token else token

    out = _CHAR_REF.sub(ref, text)
    out = _TAG_OPEN.sub("&lt;", out)
    if attribute_safe:
        out = out.replace('"', "&quot;").replace("'", "&#39;")
    return out


def html_to_text(fragment: str) -> str:
    """The text an HTML fragment shows: tags removed (scripts and styles with their content)."""
    cleaned = nh3.clean(
        fragment, tags=set(), clean_content_tags=set(REMOVED_WITH_CONTENT), attributes={}, link_rel=None
    )
    return html.unescape(cleaned)


def sanitize_title(title: str) -> Cleaned:
    """A title (HTML the layout prints as it is) without markup: unchanged unless it holds a tag."""
    if not _TAG_OPEN.search(title):
        return Cleaned(title)
    names = Counter(f"title/{m.group(1).translate(_ASCII_LOWER)}" for m in _START_TAG_NAME.finditer(title))
    text = " ".join(html_to_text(title).split())
    return Cleaned(text_to_html(text), names or Counter({"title/markup": 1}))


def tag_is_safe(tag: str) -> bool:
    """True when a layout can print ``tag`` as it is, in text or inside a quoted attribute."""
    return not _TAG_OPEN.search(tag) and '"' not in tag and "'" not in tag


def sanitize_tag(tag: str) -> Cleaned:
    """A tag or category title (text a layout prints as it is, also inside an attribute)."""
    escaped = text_to_html(tag, attribute_safe=True)
    return Cleaned(escaped, Counter({"tag/markup": 1}) if escaped != tag else Counter())

"""``MetaRefreshMiddleware``: Scrapy's, which follows only a refresh of the document's head, and looks cheaply first.

**Only the head refreshes.** The site's pages carry ``<meta http-equiv="refresh">`` only where
Jekyll's redirect plugins write one, in the head of a small page (jekyll-redirect-from's, which
has no ``<head>`` or ``<body>`` tag at all: the refresh comes before its first text). Article
bodies come from an upstream API and may hold anything, a refresh included: Scrapy looks for one
anywhere in a page's first 4,096 characters, so a post whose body held one was redirected to
wherever it pointed and lost. A ``<meta>`` that an HTML parser puts in the body is not head
metadata (browsers ignore a refresh there), so only the head counts: the text before
``head_end()``, where an HTML parser's tree construction leaves the head. That is the first of

- a start tag other than those a head holds (``html``, ``head``, ``base``, ``basefont``,
  ``bgsound``, ``link``, ``meta``, ``title``, ``style``, ``script``, ``noscript``, ``noframes``,
  ``template``): ``<body>``, or any element of content, ``<p>``, ``<h1>``, ``<div>``;
- the end tags ``</body>``, ``</html>`` and ``</br>``, which open the body too;
- a character of text other than HTML whitespace (``&amp;`` included);

skipping comments, the doctype, processing instructions and other end tags (``</head>`` among
them: a parser puts a ``<meta>`` between ``</head>`` and ``<body>`` back in the head), and the
contents of ``title``, ``style``, ``script``, ``noscript``, ``noframes`` and ``template``, as a
browser does (scripting on, which also makes ``noscript`` raw text). Tags are read the way the
HTML tokenizer reads them: a quote opens a value only after ``=``, and ``>`` inside a quoted
value does not end the tag. One anchored regular expression, whose possessive repeats never read
a character twice: 3 µs for the head of a post page here, paid only by pages that pass the check
below.
A refresh in the body is ignored and the page is processed as itself (the sanitizer strips the
tag from archived bodies).

**Looking cheaply first.** Scrapy looks for ``<meta http-equiv="refresh">`` in the first 4,096
characters of every HTML answer, through a cache keyed by response and w3lib's tag scanner: 24 µs
a page, 2 % of a crawl here. A refresh needs the word "refresh" in those characters: w3lib 2.5
looks for it, in any case, in a meta tag's attributes, and older versions decoded ``&#...;``
references first. A page whose first 4,096 characters hold neither "refresh" (ignoring case the
way a regular expression does, which admits more than ``str.lower``) nor "&#" cannot refresh and
is passed on after a 2 µs search; every other page gets w3lib's scan of its head.

**As a redirect.** A refresh that is followed is a redirect like a 301 (``redirect.py``,
``RedirectChain``): never dropped as a duplicate, a loop or a chain too long fails the page. A
refresh to the page's own URL is a reload, not a redirect: the page in hand is the page, and is
passed on as itself. Listed in ``DOWNLOADER_MIDDLEWARES_BASE`` in place of Scrapy's; like the
redirect middleware, it does not warn at every start that the Referer middleware is off.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares import redirect
from scrapy.http import HtmlResponse
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import get_base_url
from w3lib.html import get_meta_refresh

from archiver.downloadermiddlewares.redirect import RedirectChain, WithoutReferer, without_fragment

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.http import Response

# Scrapy's pattern (w3lib's) is case-insensitive over Unicode: "refreſh" matches too.
_MAY_REFRESH = re.compile("refresh|&#", re.IGNORECASE)
_HEAD_CHARS = 4096  # what scrapy.utils.response.get_meta_refresh reads

# --- where the head ends (see the module docstring) --------------------------------------------
_WS = r"[\t\n\f\r ]"
_NAME_END = r"(?=[\t\n\f\r />]|\Z)"
# The rest of a tag after its name, to its ">": a quote opens a value only after "=", and an
# unclosed one runs to the end of the text, as in the HTML tokenizer.
_TAG_REST = rf"""(?:[^>=]++|={_WS}*+"[^"]*+(?:"|\Z)|={_WS}*+'[^']*+(?:'|\Z)|=)*+(?:>|\Z)"""
_HEAD_TOKEN = "|".join(
    [
        rf"{_WS}++",
        r"<!--(?:-?>|.*?(?:--!?>|\Z))",  # a comment; "<!-->" and "<!--->" are whole ones
        r"<[!?][^>]*+(?:>|\Z)",  # the doctype, a processing instruction or CDATA (bogus comments)
        r"</(?:>|[^a-zA-Z>][^>]*+(?:>|\Z))",  # "</>" is ignored, "</ x>" a bogus comment
        rf"</(?!(?:body|html|br){_NAME_END})[a-zA-Z]{_TAG_REST}",  # end tags that open no body
        rf"<(?:html|head|base|basefont|bgsound|link|meta){_NAME_END}{_TAG_REST}",
        # Elements whose content is text to the parser, a "<p>" in a script included.
        rf"<(?P<raw>title|style|script|noscript|noframes|template){_NAME_END}{_TAG_REST}"
        rf".*?(?:</(?P=raw){_NAME_END}{_TAG_REST}|\Z)",
    ]
)
_HEAD = re.compile(rf"(?:{_HEAD_TOKEN})*+", re.IGNORECASE | re.ASCII | re.DOTALL)


def may_refresh(response: HtmlResponse) -> bool:
    """False when the page's first 4,096 characters cannot hold a meta refresh."""
    return _MAY_REFRESH.search(response.text, 0, _HEAD_CHARS) is not None


def head_end(text: str) -> int:
    """Where the document's head ends: the offset of the first thing that opens the body."""
    match = _HEAD.match(text)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def head_refresh(response: HtmlResponse, ignore_tags: Iterable[str] = ("noscript",)) -> tuple[float, str] | None:
    """The delay and absolute URL of the page's refresh, if its head declares one (in its first 4,096 characters)."""
    text = response.text[:_HEAD_CHARS]
    interval, url = get_meta_refresh(
        text[: head_end(text)], get_base_url(response), response.encoding, ignore_tags=ignore_tags
    )
    if interval is None or url is None:
        return None
    return interval, url


class MetaRefreshMiddleware(RedirectChain, WithoutReferer, redirect.MetaRefreshMiddleware):
    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        # Scrapy's checks, in Scrapy's order, with the head in place of the first 4,096 characters.
        if (
            request.meta.get("dont_redirect", False)
            or request.method == "HEAD"
            or not isinstance(response, HtmlResponse)
            or urlparse_cached(request).scheme not in {"http", "https"}
            or not may_refresh(response)
        ):
            return response
        refresh = head_refresh(response, self._ignore_tags)
        if refresh is None:
            return response
        interval, url = refresh
        redirected = self._redirect_request_using_get(request, response, url)
        if urlparse_cached(redirected).scheme not in {"http", "https"}:
            return response
        if interval >= self._maxdelay or without_fragment(redirected.url) == without_fragment(request.url):
            return response
        return self._redirect(redirected, request, "meta refresh")

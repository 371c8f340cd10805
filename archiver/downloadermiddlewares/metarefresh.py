"""``MetaRefreshMiddleware``: Scrapy's, which first looks whether a page can hold a refresh at all.

Scrapy's looks for ``<meta http-equiv="refresh">`` in the first 4,096 characters of every HTML
answer, through a cache keyed by response and w3lib's tag scanner: 24 µs a page, 2 % of a crawl
here. A refresh needs the word "refresh" in those characters: w3lib 2.5 looks for it, in any
case, in a meta tag's attributes, and older versions decoded ``&#...;`` references first. A page
whose first 4,096 characters hold neither "refresh" (ignoring case the way a regular expression
does, which admits more than ``str.lower``) nor "&#" cannot refresh and is passed on after a
2 µs search; every other page gets Scrapy's check, and its answer. Listed in
``DOWNLOADER_MIDDLEWARES_BASE`` in place of Scrapy's; like the redirect middleware
(``redirect.py``), it does not warn at every start that the Referer middleware is off.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares import redirect
from scrapy.http import HtmlResponse

from archiver.downloadermiddlewares.redirect import WithoutReferer

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.http import Response

# Scrapy's pattern (w3lib's) is case-insensitive over Unicode: "refreſh" matches too.
_MAY_REFRESH = re.compile("refresh|&#", re.IGNORECASE)
_HEAD_CHARS = 4096  # what scrapy.utils.response.get_meta_refresh reads


def may_refresh(response: HtmlResponse) -> bool:
    """False when the page's first 4,096 characters cannot hold a meta refresh."""
    return _MAY_REFRESH.search(response.text, 0, _HEAD_CHARS) is not None


class MetaRefreshMiddleware(WithoutReferer, redirect.MetaRefreshMiddleware):
    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        if isinstance(response, HtmlResponse) and not may_refresh(response):
            return response
        return super().process_response(request, response)

"""How the finews spider reads the site's links: which lead to posts, which to listings, and what a URL tells.

Listings link posts by Jekyll's default permalink (``/<slug>/YYYY/MM/DD/<id>.html``) and
categories as ``/category/<slug>.html`` or ``/<slug>/``; footers link protocol-relative. A mixin of
``spiders.finews.FinewsSpider``, which sets ``site`` (the start URL's scheme and host) and
``site_hosts``.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit, urlunsplit

from archiver.crawl.incremental import META_CATEGORY, META_LISTING, META_POST_DAY, META_POST_ID

# A link by absolute path alone, or by a lower-case host and path, made of unreserved characters.
PLAIN_HREF = re.compile(r"(?:(?:https?:)?//(?P<host>[a-z0-9.-]+))?(?P<path>/(?!/)[A-Za-z0-9._~/-]*)")
PLAIN_HREF_ATTR = re.compile(r'\s+href="([^"&]*)"\s*')
POST_PATH = re.compile(r"^/(?:[^/]+/)*\d{4}/\d{2}/\d{2}/[^/]+\.html$")
CATEGORY_PATH = re.compile(r"^/(?:category/(?P<file>[^/]+)\.html|(?P<dir>[^/]+)/)$")
# What a post URL tells: categories, the day (Beijing: the site's Jekyll runs in Asia/Shanghai), the id.
POST_PARTS = re.compile(r"^/(?P<cats>(?:[^/]+/)*)(?P<day>\d{4}/\d{2}/\d{2})/(?P<id>[^/]+)\.html$")


class Link(NamedTuple):
    kind: str  # "post" or "listing"
    url: str
    path: str
    meta: dict[str, Any]  # request meta the link itself calls for


class SiteLinks:
    """Link classification of the site: a mixin of the spider, which sets the attributes below."""

    site: tuple[str, str]
    site_hosts: set[str]
    _base: str
    _base_is_site: bool
    _site_is_verbatim: bool

    # --- links ------------------------------------------------------------------------------
    def _site_url(self, url: str) -> str | None:
        parts = urlsplit(url)
        if parts.hostname not in self.site_hosts or parts.scheme not in ("http", "https", ""):
            return None
        return urlunsplit((*self.site, parts.path or "/", parts.query, ""))

    def _plain_site_path(self, base: str, href: str) -> str | None:
        """The path of ``href`` when it names a site page by a plain absolute path, else None.

        Nearly every link of a listing is such a path (``/x/y.html``, ``//host/x/y.html``);
        reading it off directly gives what urljoin and _site_url give, at a fraction of the
        cost, which is most of a re-run's work on a listing of thousands of posts.
        """
        match = PLAIN_HREF.fullmatch(href)
        if match is None or "/." in match["path"]:  # dot segments are urljoin's to resolve
            return None
        if match["host"] is not None:
            return match["path"] if match["host"] in self.site_hosts else None
        if base != self._base:
            self._base, self._base_is_site = base, self._site_url(base) is not None
        return match["path"] if self._base_is_site else None

    def _classify(self, base: str, href: str) -> Link | None:
        """What a link to a page of the site leads to, else None."""
        href = href.strip()
        path = self._plain_site_path(base, href)
        plain = path is not None
        if path is not None:
            url = f"{self.site[0]}://{self.site[1]}{path}"
        else:
            site_url = self._site_url(urljoin(base, href))
            if site_url is None:
                return None
            url, path = site_url, urlsplit(site_url).path
        # A URL built of the start URL's site and a plain path is final as it is: Scrapy's own
        # making it safe (w3lib's safe_url_string) would return it unchanged, at 10 µs a link.
        meta = {"verbatim_url": True} if plain and self._site_is_verbatim else {}
        if POST_PATH.match(path):
            return Link("post", url, path, meta)
        if path == "/" or CATEGORY_PATH.match(path):
            return Link("listing", url, path, meta)
        return None

    @classmethod
    def post_meta(cls, url: str) -> dict[str, Any]:
        """What a post URL tells the archiver (``archiver.crawl.incremental``): post id, day and category."""
        return cls.post_path_meta(urlsplit(url).path)

    @staticmethod
    def post_path_meta(path: str) -> dict[str, Any]:
        match = POST_PARTS.match(path)
        if match is None:
            return {}
        meta: dict[str, Any] = {META_POST_ID: match.group("id"), META_POST_DAY: match.group("day").replace("/", "-")}
        if category := " ".join(match.group("cats").strip("/").split("/")):
            meta[META_CATEGORY] = category
        return meta

    @staticmethod
    def listing_meta(path: str) -> dict[str, Any]:
        """What a listing's path tells the archiver: that it is a listing, and its category."""
        match = CATEGORY_PATH.match(path)
        meta: dict[str, Any] = {META_LISTING: True}
        if match is not None:
            meta[META_CATEGORY] = match.group("file") or match.group("dir")
        return meta

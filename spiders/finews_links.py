"""How the finews spider reads the site's links: which lead to posts, which to listings, and what a URL tells.

Listings link posts by Jekyll's default permalink (``/<slug>/YYYY/MM/DD/<id>.html``) and
categories as ``/category/<slug>.html`` or ``/<slug>/``; footers link protocol-relative; posts
link their share page (``/html_News/NewsShare.html?infoCode=<id>`` on the share hosts), and a
backfill reads a file of share links. A mixin of ``spiders.finews.FinewsSpider``, which sets
``site`` (the start URL's scheme and host) and ``site_hosts``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urljoin, urlsplit, urlunsplit

from archiver.crawl.incremental import META_CATEGORY, META_LISTING, META_POST_DAY, META_POST_ID
from archiver.exceptions import UsageError
from archiver.format import dates
from archiver.format.post import POST_ID
from archiver.items import Article

SITE_HOST = "finews.withounder.com"
SHARE_HOSTS = ("finews.zning.xyz", "choicewzp1.eastmoney.com")
SHARE_PATH = "/html_News/NewsShare.html"
# A share link as the site writes it, whose infoCode is a post id (archiver.post.POST_ID): taken
# as it is, unparsed.
PLAIN_SHARE_URL = re.compile(
    rf"https?://(?:{'|'.join(re.escape(h) for h in SHARE_HOSTS)}){re.escape(SHARE_PATH)}\?infoCode=[A-Za-z0-9]{{1,120}}"
)

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

    @staticmethod
    def share_url(link: str | None) -> str | None:
        if not link:
            return None
        if PLAIN_SHARE_URL.fullmatch(link):
            return link
        parts = urlsplit(link)
        if parts.hostname not in SHARE_HOSTS or parts.path != SHARE_PATH:
            return None
        codes = parse_qs(parts.query).get("infoCode")
        return link if codes and codes[0] else None

    def read_share_urls(self, path: Path) -> list[str]:
        """Share links or bare infoCodes, one a line (blank lines and ``#`` comments skipped)."""
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"share_urls: cannot read {path}: {exc}") from None
        urls: list[str] = []
        for number, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if POST_ID.match(line):
                url: str | None = f"http://{SHARE_HOSTS[0]}{SHARE_PATH}?infoCode={line}"
            else:
                url = self.share_url(line)
                code = (parse_qs(urlsplit(url).query).get("infoCode") or [""])[0] if url else ""
                if not POST_ID.match(code):
                    url = None
            if url is None:
                raise UsageError(f"share_urls: {path}:{number} is neither a share link nor an infoCode: {line[:80]!r}")
            urls.append(url)
        return urls

    def post_url_of(self, article: Article) -> str | None:
        """Where the post page of a share-page article is (Jekyll's permalink), if the article says."""
        if not (article.category and article.post_id and isinstance(article.date, str)):
            return None
        try:
            day = dates.parse_time(article.date).date()
        except dates.DateError:
            return None
        return urlunsplit((*self.site, f"/{article.category}/{day:%Y/%m/%d}/{article.post_id}.html", "", ""))

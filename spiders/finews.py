"""The finews spider: crawls finews.withounder.com (a Jekyll site) and the share pages its posts link to.

Everything this spider knows is the site's: its hosts, its URL scheme, its
page structure and its conventions (tags are ``<media>新闻``, the footer
links back to the category page and home). It parses pages into
``Article`` items and follows links; it writes nothing. Which links are
worth following it asks ``archiver.crawl.incremental.wanted()``, the archive's
rule, so that a listing of thousands of known posts builds no requests.

Pages:
- listings (the home page, ``/category/<slug>.html``, ``/<slug>/``): links to posts and categories;
- post pages ``/<slug>/YYYY/MM/DD/<id>.html``: time, title, the rendered body, tags;
- share pages ``/html_News/NewsShare.html?infoCode=<id>``: the article as the site received it,
  whose ``#ContentBody`` is the exact source of the post body.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.utils.response import get_base_url
from twisted.python.failure import Failure
from w3lib.url import canonicalize_url, safe_url_string

from archiver.crawl.failures import FailureLog, is_transient
from archiver.crawl.incremental import META_LISTING, META_POST_ID, wanted
from archiver.crawl.sitehealth import Expectation, SiteHealth
from archiver.crawl.state import shared
from archiver.exceptions import ArchiveUnwritable, UsageError
from archiver.format import htmlsource
from archiver.format.post import POST_ID
from archiver.format.sanitize import text_to_html
from archiver.format.slug import slugify
from archiver.format.unrender import is_article_html, source_body, source_form, split_tail
from archiver.items import Article
from spiders import finews_site
from spiders.finews_links import (
    CATEGORY_PATH,
    PLAIN_HREF_ATTR,
    PLAIN_SHARE_URL,
    POST_PATH,
    SHARE_HOSTS,
    SHARE_PATH,
    SITE_HOST,
    SiteLinks,
)

TAG_SUFFIX = "新闻"

TIME = re.compile(r"\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}(?::\d{2})?")
# Footer links name their category as `/category/<slug>.html`, `/<slug>/` or, on early posts, `../<slug>/`.
FOOTER_CATEGORY = re.compile(r"\]\((?:[^)]*/)?(?:category/(?P<file>[^/)]+)\.html|(?P<dir>[^/.)][^/)]*)/)\)")


def _class_is(value: str) -> Any:
    return lambda tag: value in tag.attrs_text and tag.has_class(value)


class FinewsSpider(SiteLinks, scrapy.Spider):
    name = "finews"
    default_start_url = f"https://{SITE_HOST}/"

    def __init__(self, start_url: str | None = None, share_urls: str | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # `-a share_urls=FILE`: only these articles, each from its share page (and its post page if still there).
        self.share_list = self.read_share_urls(Path(share_urls)) if share_urls else []
        url = start_url or self.default_start_url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"start_url must be an http(s) URL of the site, not {url!r}")
        self.start_url = url
        # Site links are followed on the start URL's scheme and host: the page header's https
        # link and the protocol-relative footers all name the same site.
        self.site = (parts.scheme, parts.netloc)
        self.site_hosts = {SITE_HOST, parts.hostname}
        self.allowed_domains = sorted(self.site_hosts | set(SHARE_HOSTS))
        self._base, self._base_is_site = "", False
        root = f"{self.site[0]}://{self.site[1]}/"
        self._site_is_verbatim = safe_url_string(root) == root == canonicalize_url(root)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.share_list:
            for url in self.share_list:
                code = parse_qs(urlsplit(url).query)["infoCode"][0]
                yield scrapy.Request(url, callback=self.parse_share_only, meta={META_POST_ID: code})
            return
        yield scrapy.Request(self.start_url, callback=self.parse_listing, meta={META_LISTING: True})

    # --- reading from a web archive (`--from-wayback`, archiver.capture.wayback) ----------------
    # The CDX prefix queries of the site's captures: the site, and the share pages of both share hosts.
    wayback_prefixes = (f"{SITE_HOST}/", *(f"{host}{SHARE_PATH}" for host in SHARE_HOSTS))

    def request_for_url(self, url: str) -> scrapy.Request | None:
        """The request a captured URL stands for: post pages and listings (share pages come from their posts)."""
        site_url = self._site_url(url)
        path = urlsplit(site_url).path if site_url else ""
        if site_url is None or urlsplit(url).query:
            return None
        if POST_PATH.match(path):
            return scrapy.Request(site_url, callback=self.parse_post, meta=self.post_path_meta(path))
        if path == "/" or CATEGORY_PATH.match(path):
            return scrapy.Request(site_url, callback=self.parse_listing, meta=self.listing_meta(path))
        return None

    def site_checked(self, page_class: str, response: Response, findings: list[Expectation]) -> bool:
        """Report a page's findings (``spiders.finews_site``) to the crawl's ``SiteHealth``; True when none."""
        crawler = getattr(self, "crawler", None)  # None: parsing outside a crawl
        if crawler is None:
            return not findings
        # A page reached by a redirect (a deleted post sent to the home page) is named by the URL asked for.
        redirected = response.meta.get("redirect_urls") if response.request is not None else None
        url = redirected[0] if redirected else response.url
        return shared(crawler, SiteHealth).check(page_class, response, url, findings)

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        """Home and category pages: follow every post and category link.

        Nothing is followed from a page that is not what the site makes (``spiders.finews_site``).

        @url http://finews.withounder.com/
        @returns requests 1
        @unchanged
        """
        home = CATEGORY_PATH.match(urlsplit(response.url).path) is None
        if not isinstance(response, TextResponse):
            self.site_checked(
                "home" if home else "category",
                response,
                finews_site.check_listing(None, None, home=home, posts=0, unknown=0),
            )
            return
        text = response.text
        base = get_base_url(response)  # the page's <base href>, else its URL, as a browser resolves links
        want = wanted(getattr(self, "crawler", None))  # no crawler: parsing outside a crawl
        section = htmlsource.find(text, "section")
        start, stop = (section.start, section.stop) if section else (0, len(text))
        requests: list[scrapy.Request] = []
        posts = unknown = 0
        for tag in htmlsource.iter_tags(text, start, stop, "a"):
            if tag.end:
                continue
            # `<a href="...">` with nothing to decode, as the site's listings write every link:
            # read without parsing the attributes (what a listing of thousands costs a re-run).
            plain = PLAIN_HREF_ATTR.fullmatch(tag.attrs_text)
            href = plain.group(1) if plain else tag.attrs().get("href")
            target = self._classify(base, href) if href else None
            if target is None:
                # A page of the site by a URL form this spider does not know: the site changed.
                if href and self._unknown_site_page(base, href):
                    unknown += 1
                continue
            if target.kind == "post":
                posts += 1
                meta = self.post_path_meta(target.path)
                if not want(meta):  # archived, and settled: not followed again
                    continue
                requests.append(scrapy.Request(target.url, callback=self.parse_post, meta={**meta, **target.meta}))
            else:
                meta = self.listing_meta(target.path)
                requests.append(scrapy.Request(target.url, callback=self.parse_listing, meta={**meta, **target.meta}))
        findings = finews_site.check_listing(text, section, home=home, posts=posts, unknown=unknown)
        if self.site_checked("home" if home else "category", response, findings):
            yield from requests

    # --- post pages -------------------------------------------------------------------------
    def parse_post(self, response: Response) -> Iterator[Article | scrapy.Request]:
        """A post page: its article, completed from its share page when it links one.

        Nothing is archived from a page that is not what the site makes (``spiders.finews_site``).

        @url http://finews.withounder.com/category/liuzhouwanbao.html
        @follow parse_listing
        @returns requests 1 2
        @unchanged
        """
        if not isinstance(response, TextResponse):
            self.site_checked(
                "post", response, finews_site.check_post(None, post_id=None, title=None, time=None, body="", tags=[])
            )
            return
        article, body_html = self.post_page(response.text, response.url)
        share_url = self.share_url(article.link)
        base = get_base_url(response)
        categories: list[scrapy.Request] = []
        unknown = 0
        for match in re.finditer(r"\]\(([^)\s]+)\)", article.footer or ""):
            href = match.group(1)
            if href.startswith("."):
                continue  # the relative footers of early posts pointed nowhere on the real site
            target = self._classify(base, href)
            if target is None:
                unknown += self._unknown_site_page(base, href)
            elif target.kind == "listing" and target.path != "/":
                # The home link is where every crawl starts: only category links are worth a request.
                meta = {**self.listing_meta(target.path), **target.meta}
                categories.append(scrapy.Request(target.url, callback=self.parse_listing, meta=meta))
        tail = body_html[max(0, body_html.rfind("<p")) :]  # the last paragraph on, where the share link is
        findings = (
            finews_site.check_post(
                response.text,
                post_id=article.post_id,
                title=article.title,
                time=article.date,
                body=body_html or article.link or article.footer or "",
                tags=article.tags,
            )
            + finews_site.check_share_link(article.link, share_url is not None, tail)
            + finews_site.check_footer_links(unknown)
        )
        if not self.site_checked("post", response, findings):
            return
        yield from categories
        if (
            share_url is not None
            and not PLAIN_SHARE_URL.fullmatch(share_url)
            and not POST_ID.match(parse_qs(urlsplit(share_url).query)["infoCode"][0])
        ):
            # An infoCode that is no id (`../../x`) is never requested: the post page makes the post.
            shared(self.crawler, FailureLog).refused(share_url, "bad_info_code", "the infoCode is not [A-Za-z0-9]+")
            share_url = None
        if share_url is None:
            self.body_from_page(article, body_html)
            yield article
            return
        article.share_url = share_url
        yield scrapy.Request(
            share_url,
            callback=self.parse_share,
            errback=self.share_failed,
            # The rendered body is turned back into source only if the share page fails.
            cb_kwargs={"article": article, "body_html": body_html},
            # One share page per post: never let the duplicate filter swallow a post.
            dont_filter=True,
            meta={"handle_httpstatus_list": [404, 410], **self.post_meta(response.url)},
        )

    def _unknown_site_page(self, base: str, href: str) -> bool:
        """Whether ``href`` (not classified) names a page of the site, by a URL form this spider does not know."""
        site_url = self._site_url(urljoin(base, href.strip()))
        return site_url is not None and finews_site.is_page_path(urlsplit(site_url).path)

    def article_from_post_page(self, text: str, url: str) -> Article:
        """The article of a post page alone, its body rebuilt from the rendered page."""
        article, body_html = self.post_page(text, url)
        self.body_from_page(article, body_html)
        return article

    @staticmethod
    def body_from_page(article: Article, body_html: str) -> None:
        """The body rebuilt from the post page, in the source form of the generator version the page shows."""
        article.body = source_body(body_html, is_article_html(body_html, article.link, article.category))
        article.body_source = "page"
        article.source_form = source_form(article.body, article.link, article.footer, article.category, article.date)

    def post_page(self, text: str, url: str) -> tuple[Article, str]:
        """The article of a post page without its body, and the rendered body (between title and tags)."""
        section = htmlsource.find(text, "section")
        start, stop = (section.start, section.stop) if section else (0, len(text))
        h1 = htmlsource.find(text, "h1", None, start, stop)
        small = htmlsource.find(text, "small", None, start, h1.outer_start if h1 else stop)
        time = TIME.search(htmlsource.text_content(small.inner(text))) if small else None
        tags_at = text.rfind("<small>tags:", start, stop)
        tags: list[str] = []
        if tags_at >= 0:
            tags_small = htmlsource.find(text, "small", None, tags_at, stop)
            if tags_small is not None:
                tags = [
                    htmlsource.text_content(em.inner(text)).strip()
                    for em in htmlsource.find_all(text, "em", tags_small.start, tags_small.stop)
                ]
        body_start = h1.outer_stop if h1 else start
        body_stop = tags_at if tags_at >= body_start else stop
        source = split_tail(text[body_start:body_stop])
        path = urlsplit(url).path
        media = tags[0].removesuffix(TAG_SUFFIX) if tags else None
        article = Article(
            post_id=path.rsplit("/", 1)[-1].removesuffix(".html") or None,
            # The layout prints the front matter title unescaped: the raw text is the exact title.
            title=h1.inner(text).strip() if h1 else None,
            date=time.group() if time else None,
            category=self._footer_category(source.footer) or self._path_category(path),
            media=media or None,
            tags=[tag for tag in tags if tag],
            link=source.link,
            footer=source.footer,
            category_title=tags[0] if tags else None,
            url=url,
            body_source="page",
        )
        return article, source.body_html

    @staticmethod
    def _footer_category(footer: str | None) -> str | None:
        if not footer:
            return None
        match = FOOTER_CATEGORY.search(footer)
        return (match.group("file") or match.group("dir")) if match else None

    @staticmethod
    def _path_category(path: str) -> str | None:
        # Jekyll's default permalink: /:categories/:year/:month/:day/:title.html
        segments = path.strip("/").split("/")[:-4]
        return " ".join(segments) or None

    # --- share pages ------------------------------------------------------------------------
    def parse_share(self, response: Response, article: Article, body_html: str | None = None) -> Iterator[Article]:
        """A share page: the exact body of the post whose page linked it.

        A share page (200) without its article is a site change: the post is not archived from
        its post page as if nothing happened, it waits until the spider knows the site again.

        @url http://finews.withounder.com/category/liuzhouwanbao.html
        @follow parse_listing parse_post
        @returns items 1 1
        @scrapes post_id title date body share_url
        @unchanged
        """
        # A share page gone (404, 410): the post page body, which the
        # exporter writes only when it renders differently from the archived file (never degrade).
        # So is one redirected to a page that is no share page (a "deleted" notice): the article
        # is no longer where the post links it, and that page tells nothing about share pages.
        redirected = response.request is not None and bool(response.meta.get("redirect_urls"))
        gone = response.status != 200 or (redirected and self.share_url(response.url) is None)
        if gone and response.status == 200:
            self.logger.warning(
                "share page redirected to %s, no share page: the article is gone, keeping the post page body: %s",
                response.url, article.share_url,
            )  # fmt: skip
            if (crawler := getattr(self, "crawler", None)) is not None and crawler.stats is not None:
                crawler.stats.inc_value("archiver/share/redirected_away")
        exact = not gone and isinstance(response, TextResponse) and self.apply_share_page(article, response.text)
        if not gone:
            text = response.text if isinstance(response, TextResponse) else None
            if not self.site_checked("share", response, finews_site.check_share(text, exact)):
                return
        if not exact and body_html is not None:
            self.body_from_page(article, body_html)
        yield article

    def share_failed(self, failure: Failure) -> Iterator[Article]:
        """The share page is unreachable: the post is archived from its post page all the same."""
        kwargs = failure.request.cb_kwargs  # type: ignore[attr-defined]
        article = kwargs["article"]
        if failure.check(ArchiveUnwritable):
            return  # the run is stopping (archiver.crawl.unwritable): the next run fetches both pages
        if failure.value is not None and is_transient(failure.value):
            # Not gone, only failing now: a post page body would be archived as known and never
            # corrected, so the post waits for the next run, which fetches both pages again.
            self.logger.warning("share page failed (%s), the post is left for the next run: %s",
                                failure.getErrorMessage(), article.share_url)  # fmt: skip
            return
        if kwargs.get("body_html") is not None:
            self.body_from_page(article, kwargs["body_html"])
        self.logger.warning(
            "share page failed (%s), keeping the post page body: %s", failure.getErrorMessage(), article.share_url
        )
        yield article

    @staticmethod
    def apply_share_page(article: Article, text: str) -> bool:
        """Take the exact body (and title, media) from a share page; False when it holds no article."""
        content = htmlsource.find_by_attr(text, "id", "ContentBody")
        if content is None:
            return False
        article.body = content.inner(text).strip()
        article.body_source = "share"
        title = htmlsource.find(text, "h1", _class_is("title"))
        if title is not None and (value := htmlsource.text_content(title.inner(text)).strip()):
            # The share page shows the title as text; the post layout prints the title as HTML.
            article.title = text_to_html(value)
        media = htmlsource.find_by_attr(text, "class", "media", word=True)
        if media is not None and (value := htmlsource.text_content(media.inner(text)).strip()):
            article.media = value
        if not article.date:
            when = htmlsource.find_by_attr(text, "class", "time", word=True)
            if when is not None:
                article.date = htmlsource.text_content(when.inner(text)).strip()
        return True

    def article_from_share_page(self, text: str, url: str) -> Article | None:
        """A post built from its share page alone (its post page is gone): slug, tags and footer by the site's rules."""
        code = (parse_qs(urlsplit(url).query).get("infoCode") or [""])[0]
        article = Article(post_id=code or None, url=url, share_url=url, link=url)
        # Without a post page the article has no date yet: apply_share_page takes the share page's.
        if not self.apply_share_page(article, text):
            return None
        if article.media:
            slug = slugify(article.media)
            tag = f"{article.media}{TAG_SUFFIX}"
            article.category, article.tags, article.category_title = slug, [tag], tag
            article.footer = f"[返回{tag}](//{SITE_HOST}/category/{slug}.html)｜[返回首页](//{SITE_HOST}/)"
        return article

    # --- backfill from share links alone ----------------------------------------------------
    def parse_share_only(self, response: Response) -> Iterator[Article | scrapy.Request]:
        """A share page named on the command line: look for its post page, else archive the share page alone."""
        if not isinstance(response, TextResponse):
            return
        article = self.article_from_share_page(response.text, response.url)
        if not self.site_checked("share", response, finews_site.check_share(response.text, article is not None)):
            return
        if article is None:
            return
        post_url = self.post_url_of(article)
        if post_url is None:
            yield article
            return
        yield scrapy.Request(
            post_url,
            callback=self.parse_post_of_share,
            errback=self.post_of_share_failed,
            cb_kwargs={"article": article, "share_text": response.text},
            meta={"handle_httpstatus_list": [404, 410], **self.post_meta(post_url)},
        )

    def parse_post_of_share(self, response: Response, article: Article, share_text: str) -> Iterator[Article]:
        if response.status != 200 or not isinstance(response, TextResponse):
            yield article  # the post page is gone: the share page alone makes the post
            return
        # The post page is there: the post as a crawl makes it, with the share page already in hand.
        for result in self.parse_post(response):
            if isinstance(result, Article):
                yield result
            elif result.callback == self.parse_share:
                found = result.cb_kwargs["article"]
                if not self.apply_share_page(found, share_text):
                    self.body_from_page(found, result.cb_kwargs["body_html"])
                yield found

    def post_of_share_failed(self, failure: Failure) -> Iterator[Article]:
        if failure.check(IgnoreRequest):
            return  # outside the backfill window: nothing to write
        article = failure.request.cb_kwargs["article"]  # type: ignore[attr-defined]
        self.logger.warning(
            "post page failed (%s), archiving the share page alone: %s", failure.getErrorMessage(), article.url
        )
        yield article

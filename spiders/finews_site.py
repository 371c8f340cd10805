"""What the finews site's pages look like, as expectations the spider checks every page against.

Derived from how the site is made (its Jekyll layouts: ``default``, ``post``, ``category`` and the
home page; its share pages), never from counts of a corpus:

- every page of the site is the ``default`` layout: a ``<header>`` and a ``<section>`` holding the
  content. A 200 answer without them (an anti-bot wall, "Just a moment...", a parking or error
  page) is not the site;
- the home page lists, for every tag, an ``<h2>`` and links to its newest posts: a home page that
  links to no post is a change (the site always has posts);
- a category page is an ``<h2>`` with the category's title and links to its posts: a category
  with its heading and no post links is a legitimately empty category, one without the heading is
  a change;
- listings link posts by Jekyll's default permalink, ``/<slug>/YYYY/MM/DD/<id>.html``, and
  categories as ``/category/<slug>.html`` or ``/<slug>/``: a link inside the ``<section>`` to a
  page of the site by any other form (``/posts/<id>/``, ``.../<id>/``) is a permalink change;
- a post page has, inside ``<section>``, ``<small>`` with its time, ``<h1>`` with its title, the
  rendered body and ``<small>tags: <em>…</em></small>``; the body ends with the link to the
  original article (a media post's share link, kramdown's rendering of ``<url>``) and the footer
  the generator writes, which links the category page by a listing's link form;
- a share page holds the article in ``#ContentBody`` (inside ``.newsContent``, with ``h1.title``).

Each check returns the expectations a page fails (``archiver.crawl.sitehealth.Expectation``); the
spider reports them to ``SiteHealth`` and archives nothing from a page that fails one.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from archiver.crawl.sitehealth import Expectation
from archiver.format import htmlsource

NOT_SITE_PAGE = (
    "answer 200 without the site's layout (no <header> and <section>): an anti-bot wall, a parking or an error page"
)
UNKNOWN_LINKS = "link to pages of the site by a URL form the spider does not know (a permalink change?)"

HOME_NOT_SITE = Expectation("home", "not_site_page", NOT_SITE_PAGE, foreign=True)
HOME_NO_POSTS = Expectation("home", "no_post_links", "link to no post")
HOME_UNKNOWN_LINKS = Expectation("home", "unknown_links", UNKNOWN_LINKS)
CATEGORY_NOT_SITE = Expectation("category", "not_site_page", NOT_SITE_PAGE, foreign=True)
CATEGORY_NO_HEADING = Expectation("category", "no_heading", "have no <h2> heading with the category's title")
CATEGORY_UNKNOWN_LINKS = Expectation("category", "unknown_links", UNKNOWN_LINKS)
# The footer the generator writes under every post links its category page: by another form, the
# category pages (the only way to posts the home page no longer lists) are out of reach.
POST_UNKNOWN_LINKS = Expectation("post", "unknown_links", UNKNOWN_LINKS)
POST_NOT_SITE = Expectation("post", "not_site_page", NOT_SITE_PAGE, foreign=True)
POST_NO_ID = Expectation("post", "no_id", "have no post id in their URL")
POST_NO_TITLE = Expectation("post", "no_title", "have no title (no <h1> inside <section>)")
POST_NO_TIME = Expectation("post", "no_time", "have no time (no <small> with YYYY-MM-DD HH:MM before the title)")
POST_UNREADABLE_TIME = Expectation(
    "post", "unreadable_time", "show their time in a form the spider does not read (not YYYY-MM-DD HH:MM:SS)"
)
POST_NO_BODY = Expectation("post", "no_body", "have no body between the title and the tags")
POST_NO_TAGS = Expectation("post", "no_tags", "have no tags (no <small>tags: <em>…</em></small>)")
POST_UNREADABLE_TAGS = Expectation(
    "post", "unreadable_tags", "show their tags in a form the spider does not read (not <em>)"
)
# The fixed text the post layout prints before a post's time.
TIME_LABEL = "(GMT+8, Asia/Shanghai, CST)"
# A year and a clock time, in any order and notation (2023年03月01日 10:15, 03/01/2023 10:15 AM).
TIME_LIKE = re.compile(r"\d{4}.*?\d{1,2}\s*[:：时]\s*\d{2}|\d{1,2}\s*[:：时]\s*\d{2}.*?\d{4}", re.S)
POST_UNKNOWN_SHARE_LINK = Expectation(
    "post",
    "unknown_share_link",
    "link their original article by a share link of a form the spider does not know "
    "(not http://<share host>/html_News/NewsShare.html?infoCode=<id>)",
)
SHARE_NOT_SHARE = Expectation(
    "share",
    "not_share_page",
    "answer 200 without the share page's structure (no h1.title, no #ContentBody)",
    foreign=True,
)
SHARE_NO_ARTICLE = Expectation("share", "no_article", "have no article (no #ContentBody)")

EXPECTATIONS = (
    HOME_NOT_SITE, HOME_NO_POSTS, HOME_UNKNOWN_LINKS,
    CATEGORY_NOT_SITE, CATEGORY_NO_HEADING, CATEGORY_UNKNOWN_LINKS,
    POST_NOT_SITE, POST_NO_ID, POST_NO_TITLE, POST_NO_TIME, POST_NO_BODY, POST_NO_TAGS, POST_UNKNOWN_LINKS,
    SHARE_NOT_SHARE, SHARE_NO_ARTICLE,
)  # fmt: skip


def is_page_path(path: str) -> bool:
    """A path Jekyll serves a page at (``/x/``, ``/x.html``, ``/x``), not an asset (``/assets/a.css``)."""
    last = path.rsplit("/", 1)[-1]
    return "." not in last or last.endswith((".html", ".htm"))


def is_site_layout(text: str) -> bool:
    """The site's ``default`` layout: a ``<section>`` after a ``<header>``."""
    header = text.find("<header")
    return header >= 0 and text.find("<section", header) >= 0


def check_listing(
    text: str | None, section: htmlsource.Span | None, *, home: bool, posts: int, unknown: int
) -> list[Expectation]:
    """A home or category page (``text`` None: not a text page), given the links found in its ``<section>``."""
    if text is None or section is None or not is_site_layout(text):
        return [HOME_NOT_SITE if home else CATEGORY_NOT_SITE]
    found = []
    if home and not posts:
        found.append(HOME_NO_POSTS)
    if not home and htmlsource.find(text, "h2", None, section.start, section.stop) is None:
        found.append(CATEGORY_NO_HEADING)
    if unknown:
        found.append(HOME_UNKNOWN_LINKS if home else CATEGORY_UNKNOWN_LINKS)
    return found


def check_post(
    text: str | None,
    *,
    post_id: str | None,
    title: str | None,
    time: object,
    body: str,
    tags: list[str],
) -> list[Expectation]:
    """A post page (``text`` None: not a text page), given what the spider read off it.

    What the layout prints and a page lacks is a change: no ``<h1>`` (``title`` None), no
    ``<small>`` before it, no ``<small>tags:``. A value the layout printed but the site left empty
    (an empty ``<h1>``, a ``<small>`` without a time: the site's generator published such posts)
    is not: the item pipelines drop that post with its reason.
    """
    if text is None or not is_site_layout(text):
        return [POST_NOT_SITE]
    found = []
    if not post_id:
        found.append(POST_NO_ID)
    if title is None:
        found.append(POST_NO_TITLE)
    if not time:
        section = text.find("<section")
        h1 = text.find("<h1", section)
        small_at = text.rfind("<small", section, h1 if h1 >= 0 else len(text))
        if small_at < 0:
            found.append(POST_NO_TIME)
        elif (small := htmlsource.find(text, "small", None, small_at)) is not None:
            # The layout prints "(GMT+8, Asia/Shanghai, CST) " and the date as YYYY-MM-DD HH:MM:SS.
            # A year and a clock time in another form is the layout printing dates otherwise (a
            # change: every post would be lost); nothing, or text without one, is a post whose date
            # the site left empty or garbled, dropped with its reason as hostile input.
            shown = htmlsource.text_content(small.inner(text)).replace(TIME_LABEL, "").strip()
            if TIME_LIKE.search(shown):
                found.append(POST_UNREADABLE_TIME)
    if not body.strip():
        found.append(POST_NO_BODY)
    if not tags:
        tags_at = text.rfind("<small>tags:")
        if tags_at < 0:
            found.append(POST_NO_TAGS)
        elif (small := htmlsource.find(text, "small", None, tags_at)) is not None and htmlsource.text_content(
            small.inner(text)
        ).removeprefix("tags:").strip():
            # The layout prints each tag in an <em>: tags shown some other way are not read.
            found.append(POST_UNREADABLE_TAGS)
    return found


def check_footer_links(unknown: int) -> list[Expectation]:
    """A post page's footer, given how many of its links name pages of the site by an unknown form."""
    return [POST_UNKNOWN_LINKS] if unknown else []


# The marks of a share link, in any markup: its page and its parameter.
SHARE_MARKS = re.compile(r"newsshare|infocode=", re.IGNORECASE)


def check_share_link(link: str | None, recognized: bool, tail: str = "") -> list[Expectation]:
    """The link a post page ends with, given whether the spider read it as a share link.

    The generator linked a media post's original article as ``NewsShare.html?infoCode=<id>`` on a
    share host, an ``emnews`` post's as an eastmoney article page; kramdown renders the source's
    ``<url>`` as a paragraph holding one link whose text is its URL. A link that still carries the
    share link's marks (an ``infoCode`` parameter, a ``NewsShare`` page) but that the spider does
    not read as one names share pages somewhere the spider does not look (a new share host, a new
    path). So do the marks anywhere in ``tail`` (the rendered body from its last paragraph on, where
    the link is) when no link was read at all: the link rendered another way (its URL moved to a
    ``data-`` attribute or a script, another text). Archiving those posts from their post pages
    would quietly lose their exact bodies, and rewrite exact archived files with weaker ones.
    """
    if recognized:
        return []
    if link:
        parts = urlsplit(link)
        if "infocode=" in parts.query.lower() or "newsshare" in parts.path.lower():
            return [POST_UNKNOWN_SHARE_LINK]
        return []
    return [POST_UNKNOWN_SHARE_LINK] if SHARE_MARKS.search(tail) else []


def check_share(text: str | None, has_article: bool) -> list[Expectation]:
    """A share page answered 200 (``text`` None: not a text page), given whether it held ``#ContentBody``."""
    if has_article:
        return []
    if text is None or htmlsource.find(text, "h1", lambda tag: tag.has_class("title")) is None:
        return [SHARE_NOT_SHARE]
    return [SHARE_NO_ARTICLE]

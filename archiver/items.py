"""The article item: one post of the archived site, as spiders produce it and pipelines refine it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# Where an article's body came from (``Article.body_source``), best first. The exporter never lets a
# weaker source replace an archived file that renders the same (archiver.store.exporter).
BODY_FROM_SHARE = "share"  # cut from the share page: the exact source of the post body
BODY_FROM_PAGE = "page"  # rebuilt from the rendered post page (archiver.format.unrender)


@dataclass
class Article:
    """One article, readable through itemadapter.

    Spiders fill in what the pages say, as strings cut from the pages; the
    normalize pipeline turns ``date`` into an aware datetime and fills the
    gaps (category slug, tags) by the site-independent rules of ``archiver``.
    """

    post_id: str | None = None
    title: str | None = None
    # The page's time string (Beijing time) before normalization, an aware datetime after.
    date: dt.datetime | str | None = None
    category: str | None = None
    media: str | None = None
    tags: list[str] = field(default_factory=list)
    # The post body in source form (Markdown/HTML as the post file holds it), without link and footer.
    body: str | None = None
    # The link written after the body as an autolink `<url>`: the share URL, or the source article URL.
    link: str | None = None
    # The footer paragraph in source form, e.g. `[返回X新闻](//host/category/x.html)｜[返回首页](//host/)`.
    footer: str | None = None
    # The title of the category page of ``category`` (e.g. `<media>新闻`).
    category_title: str | None = None
    # Where the item came from: the post page URL, or the share URL for share-only articles.
    url: str | None = None
    share_url: str | None = None
    # BODY_FROM_SHARE ("share") when the body was cut from the share page (exact), BODY_FROM_PAGE
    # ("page") when rebuilt from the post page; None (unknown) is taken as exact.
    body_source: str | None = None
    layout: str = "post"
    # The source form of the site generator's version that wrote the post (``archiver.post.SOURCE_FORMS``):
    # None is the archive's own layout, the form of every version from 2021-12-08 afternoon on.
    source_form: str | None = None

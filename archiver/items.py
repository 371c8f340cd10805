"""The article item: one post of the archived site, as spiders produce it and pipelines refine it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from itemadapter import ItemAdapter
from itemadapter.adapter import DataclassAdapter


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
    # "share" when the body was cut from the share page (exact), "page" when rebuilt from the post page.
    body_source: str | None = None
    layout: str = "post"


class ArticleAdapter(DataclassAdapter):
    """itemadapter's dataclass support for ``Article``, with the field table built once.

    ``ItemAdapter(item)`` otherwise calls ``dataclasses.fields()`` for every item in every
    pipeline, which was a tenth of the pipelines' time. Registered first in
    ``ItemAdapter.ADAPTER_CLASSES`` (itemadapter's own way of adding an item type) when this
    module is imported; subclasses of ``Article`` keep the generic adapter.
    """

    _ARTICLE_FIELDS = MappingProxyType({f.name: f for f in fields(Article)})

    def __init__(self, item: Any) -> None:
        self.item = item
        self._fields_dict = self._ARTICLE_FIELDS  # type: ignore[assignment]

    @classmethod
    def is_item(cls, item: Any) -> bool:
        return type(item) is Article

    @classmethod
    def is_item_class(cls, item_class: type) -> bool:
        return item_class is Article


if ArticleAdapter not in ItemAdapter.ADAPTER_CLASSES:
    ItemAdapter.ADAPTER_CLASSES.appendleft(ArticleAdapter)  # type: ignore[attr-defined]

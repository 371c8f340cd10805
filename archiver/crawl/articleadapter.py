"""itemadapter support for ``Article`` that builds its field table once, not once per item.

``ItemAdapter(item)`` calls ``dataclasses.fields()`` for every dataclass item it wraps, in every
pipeline: a tenth of the pipelines' time. ``register()`` puts ``ArticleAdapter`` first in
``ItemAdapter.ADAPTER_CLASSES``, itemadapter's own way of adding an item type. It lives apart
from ``archiver.items`` because itemadapter imports Scrapy, and the post format must not.
"""

from __future__ import annotations

from dataclasses import fields
from types import MappingProxyType
from typing import Any

from itemadapter import ItemAdapter
from itemadapter.adapter import DataclassAdapter

from archiver.items import Article


class ArticleAdapter(DataclassAdapter):
    """The dataclass adapter for exactly ``Article`` (subclasses keep the generic one)."""

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


def register() -> None:
    """Make ``ItemAdapter`` use ``ArticleAdapter`` for articles (idempotent)."""
    if ArticleAdapter not in ItemAdapter.ADAPTER_CLASSES:
        ItemAdapter.ADAPTER_CLASSES.appendleft(ArticleAdapter)  # type: ignore[attr-defined]

"""Crawl-wide state that the Scrapy components of one crawl share, and how they reach it.

``failures.FailureLog``, ``incremental.IncrementalState`` and ``sitehealth.SiteHealth`` (what
the spider found changed on its site) are extensions, reached with ``crawler.get_extension()``
(``state.shared``); ``contracts`` (``scrapy check``: ``@follow``, ``@unchanged``); ``window``
(the backfill window), ``drops`` (dropping an item with a reason), ``articleadapter``
(itemadapter support for ``Article``).
May import Scrapy, ``archiver.config``, ``archiver.store`` and below; never the components
that use it (extensions, middlewares) nor anything above them.
"""

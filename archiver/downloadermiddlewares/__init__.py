"""Downloader middlewares: the page guard (size, offsite redirects, backoff, final outcomes), the
encoding a page is decoded in (its bytes', not its claim's), incremental revalidation (conditional
requests, stored pages for 304s), and three of Scrapy's replaced by subclasses: redirect and meta
refresh never lose a page to the duplicate filter and fail loops, meta refresh follows only a
refresh of the head and skips pages that cannot hold one, proxy asks about ``no_proxy`` once per
host; the redirect ones do not warn at every start that the Referer middleware is off.

May import ``archiver.crawl`` and the layers below it.
"""

"""Downloader middlewares: the page guard (size, offsite redirects, backoff, final outcomes) and
incremental revalidation (conditional requests, stored pages for 304s), and two of Scrapy's
(meta refresh, proxy) replaced by subclasses that skip per-page work which cannot change the outcome.

May import ``archiver.crawl`` and the layers below it.
"""

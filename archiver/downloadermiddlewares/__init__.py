"""Downloader middlewares: the page guard (size, offsite redirects, backoff, final outcomes) and
incremental revalidation (conditional requests, stored pages for 304s), and three of Scrapy's
replaced by subclasses: meta refresh and proxy skip per-page work which cannot change the outcome,
redirect (and meta refresh) do not warn at every start that the Referer middleware is off.

May import ``archiver.crawl`` and the layers below it.
"""

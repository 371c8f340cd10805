"""Downloader middlewares: the page guard (size, offsite redirects, backoff, final outcomes) and
incremental revalidation (conditional requests, stored pages for 304s).

May import ``archiver.crawl`` and the layers below it.
"""

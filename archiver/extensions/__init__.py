"""Scrapy extensions of the archiver: the run lock, the run report, progress, the job folder guard.

Each is listed in ``EXTENSIONS`` by ``archiver.settings``. May import ``archiver.crawl`` and the
layers below it; never another component kind's package.
"""

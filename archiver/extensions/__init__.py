"""Scrapy extensions of the archiver (the run lock, the run report, progress, the job folder guard),
and the crawl's stats collector and log formatter, which Scrapy loads by setting.

The extensions are listed in ``EXTENSIONS`` by ``archiver.settings``; the other two are its
``STATS_CLASS`` and ``LOG_FORMATTER``. May import ``archiver.crawl`` and the layers below it;
never another component kind's package.
"""

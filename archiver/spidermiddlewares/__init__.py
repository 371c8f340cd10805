"""Spider middlewares: known posts dropped before they are scheduled, remembered listings and the
pages that failed last run asked again.

May import ``archiver.crawl`` and the layers below it.
"""

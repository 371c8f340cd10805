"""The archive on disk: atomic files, the post index, the page store, the exporter, the run log, the lock,
the archive's health (``health``).

Everything that reads or writes the output tree (``_posts/``, ``old_post/``, ``category/``,
``.archiver/``). May import ``archiver.format`` and the leaf modules; never Scrapy (it works on
paths and plain values, so ``archiver verify``, ``rotate`` and ``status`` run without a crawler).
"""

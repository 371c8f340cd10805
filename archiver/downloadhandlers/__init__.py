"""Download handlers: which HTTP client fetches pages (``client``, ``ARCHIVER_HTTP_CLIENT``), and
Scrapy's aiohttp-based handler started inside the crawl's event loop (``lazyaiohttp``).

May import ``archiver.crawl`` and the layers below it; never another component kind's package.
"""

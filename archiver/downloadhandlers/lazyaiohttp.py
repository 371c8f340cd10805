"""``AiohttpDownloadHandler``: Scrapy's aiohttp-based HTTP(S) handler, the project's ``http``/``https`` handler.

Why this handler and not Twisted's HTTP/1.1 one (Scrapy's default): on a crawl of 3,000 posts
on loopback, four runs of each alternated, it used 7.33 s of CPU against 8.30 s (11 % less, in
every pair; `README.md`, Performance). It is Scrapy's own code around aiohttp, a well-kept
client that Scrapy already depends on; the behaviour the archive relies on (proxies, size
limits, truncated bodies flagged as data loss and retried, timeouts, 304s, ``verbatim_url``) is
what the project's test suite checks, with fault injection, on every change.

Two things differ from Scrapy's class:

- ``lazy``: it is built at the first request, inside the running event loop. Built with the
  engine, before the loop runs, aiohttp's connector fails ("no running event loop") and every
  request would then fail as unsupported.
- ``experimental``: Scrapy logs a warning at every start that the handler is experimental.
  The project made the choice and tests it; a cron job's log should hold warnings that mean
  something. Twisted's handler is one setting away (README.md, Performance).
"""

from __future__ import annotations

from typing import ClassVar

from scrapy.core.downloader.handlers._aiohttp import AiohttpDownloadHandler as ScrapyAiohttpDownloadHandler


class AiohttpDownloadHandler(ScrapyAiohttpDownloadHandler):
    lazy = True
    experimental: ClassVar[bool] = False

"""``HttpCompressionMiddleware``: Scrapy's, where a body not in its ``Content-Encoding`` is a failed page.

Scrapy's raises what the decompressor raises (``gzip.BadGzipFile``, ``zlib.error``, brotli's and
zstandard's errors) out of the middleware chain: the request's errback gets it and Scrapy logs a
traceback, but no middleware outside it sees the page's outcome. A home page served with
``Content-Encoding: gzip`` over a plain body ended a run at exit 0, with no post and no failure
in the run report. Here such a body is retried like a truncated one (a proxy or CDN glitch is
the usual cause) and, after the last retry, fails for good as ``bad_content_encoding`` in the
crawl's ``FailureLog``: the run exits 2 and the next run asks for the page again. Listed in
``DOWNLOADER_MIDDLEWARES_BASE`` in place of Scrapy's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares import httpcompression
from scrapy.exceptions import IgnoreRequest

from archiver.crawl.failures import FailureLog
from archiver.crawl.state import shared

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

REASON = "bad_content_encoding"


class HttpCompressionMiddleware(httpcompression.HttpCompressionMiddleware):
    def __init__(self, stats: StatsCollector | None = None, *, crawler: Crawler | None = None) -> None:
        super().__init__(stats, crawler=crawler)
        self.crawler = crawler

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        try:
            return super().process_response(request, response)
        except IgnoreRequest:
            raise  # larger than DOWNLOAD_MAXSIZE once decompressed: Scrapy's refusal, as it is
        except Exception as exc:  # whatever a decompressor raises on bytes that are not its format
            if self.crawler is None:  # built without a crawler (Scrapy's deprecated way): Scrapy's behaviour
                raise
            encoding = b",".join(response.headers.getlist("Content-Encoding")).decode("latin-1")
            detail = f"not {encoding}: {type(exc).__name__}: {exc}"[:200]
            return shared(self.crawler, FailureLog).broken_body(request, REASON, detail)

"""``RedirectMiddleware``: Scrapy's, without its start-up warning about a Referer middleware turned off on purpose.

The project runs without Scrapy's Referer spider middleware (``REFERER_ENABLED = False``: the
site needs no Referer, and the middleware cost 1.5 % of a crawl's CPU). Scrapy's redirect
middlewares then drop the Referer of redirected requests, as every request of the crawl has
none, and warn about it at every start: two WARNING lines in every cron run's log, counted in
``log_count/WARNING``, that say nothing is wrong. ``WithoutReferer`` keeps the behaviour and
drops the warning while ``REFERER_ENABLED`` is off; with it on, Scrapy's code runs unchanged.
Listed in ``DOWNLOADER_MIDDLEWARES_BASE`` in place of Scrapy's (the meta refresh middleware,
``metarefresh.py``, has it too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares import redirect

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class WithoutReferer:
    """For a subclass of Scrapy's ``BaseRedirectMiddleware``: no warning when the Referer is off on purpose."""

    crawler: Crawler

    def _engine_started(self) -> None:
        if not self.crawler.settings.getbool("REFERER_ENABLED"):
            return  # redirects carry no Referer, as no request of the crawl does
        super()._engine_started()  # type: ignore[misc]


class RedirectMiddleware(WithoutReferer, redirect.RedirectMiddleware):
    pass

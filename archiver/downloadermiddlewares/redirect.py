"""``RedirectMiddleware``: Scrapy's, where a redirect is part of fetching the page it stands for.

Scrapy follows a redirect with a new request that goes through the scheduler like any other, so
its duplicate filter drops it when the target URL was seen: a page redirected to itself, two pages
redirected to each other, a deleted post redirected to the home page were never archived, and
nothing said so (exit 0). Here (``RedirectChain``, which the meta refresh middleware,
``metarefresh.py``, has too):

- a followed redirect is never dropped as a duplicate (``dont_filter``): it is not a new page but
  the next step of fetching the one the chain started with, whatever the crawl fetched before;
- a redirect to a URL already in its own chain (the request's URL or ``redirect_urls``; the
  fragment aside, as it is never sent) is a loop: the page the chain started with fails for good
  with the reason ``redirect_loop``;
- a chain longer than ``REDIRECT_MAX_TIMES`` fails the same way, ``too_many_redirects`` (Scrapy
  only ignores the request);
- both are recorded in the crawl's ``archiver.crawl.failures.FailureLog`` under the first URL of
  the chain (the run exits 2 and the next run asks for that page again), and raise
  ``RedirectFailed``, an ``IgnoreRequest``: the request's errback still learns of it, and the
  page guard does not record it twice. Redirects off the spider's hosts are the page guard's
  (``pageguard.py``), which refuses them.

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

from typing import TYPE_CHECKING, Any, NoReturn

from scrapy.downloadermiddlewares import redirect
from scrapy.exceptions import IgnoreRequest

from archiver.crawl.failures import FailureLog, PageFailed
from archiver.crawl.state import shared

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

REDIRECT_LOOP = "redirect_loop"
TOO_MANY_REDIRECTS = "too_many_redirects"


class RedirectFailed(PageFailed):
    """A redirect chain that cannot end on a page: a loop, or more redirects than allowed."""


def without_fragment(url: str) -> str:
    return url.partition("#")[0]


class RedirectChain:
    """For a subclass of Scrapy's ``BaseRedirectMiddleware``: redirects are never dropped as duplicates, loops fail."""

    crawler: Crawler

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        chain = [*request.meta.get("redirect_urls", ()), request.url]
        target = without_fragment(redirected.url)
        if any(without_fragment(url) == target for url in chain):
            self._fail(request, chain, REDIRECT_LOOP, f"{reason} to {redirected.url}, already in its chain")
        try:
            followed: Request = super()._redirect(redirected, request, reason)  # type: ignore[misc]
        except IgnoreRequest:  # Scrapy's "max redirections reached"
            self._fail(request, chain, TOO_MANY_REDIRECTS, f"{reason} to {redirected.url}, one redirect too many")
        # The target may be a URL the crawl fetched (the home page, the chain's own start): the
        # duplicate filter would drop the request and, with it, the page the chain stands for.
        followed.dont_filter = True
        return followed

    def _fail(self, request: Request, chain: list[str], reason: str, detail: str) -> NoReturn:
        detail = f"{detail}: {' -> '.join(chain)}"
        # The next run asks again for the page the chain started with, as it was first asked for.
        first = request.replace(url=chain[0]) if chain[0] != request.url else request
        shared(self.crawler, FailureLog).failed(chain[0], reason, detail, first)
        raise RedirectFailed(reason, f"{reason}: {detail}")


class WithoutReferer:
    """For a subclass of Scrapy's ``BaseRedirectMiddleware``: no warning when the Referer is off on purpose."""

    crawler: Crawler

    def _engine_started(self) -> None:
        if not self.crawler.settings.getbool("REFERER_ENABLED"):
            return  # redirects carry no Referer, as no request of the crawl does
        super()._engine_started()  # type: ignore[misc]


class RedirectMiddleware(RedirectChain, WithoutReferer, redirect.RedirectMiddleware):
    pass

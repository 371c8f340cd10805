"""Scrapy contracts of the archiver (``scrapy check``): ``@follow`` reaches a page from a listing, ``@unchanged``.

A contract's sample request has one fixed URL (``@url``), but the post and share pages of a news
site come and go within days: no URL of one stays valid, and none is the same on a site and its
copies. ``@follow CALLBACK [CALLBACK ...]`` checks a callback on a page reached from ``@url``
the way a crawl reaches it: ``@url``'s page is read by the first callback named, the first
requests it yields for the next one are fetched and read, and so on, until a page for the
callback under test is reached; that callback's output is what the other contracts check.
``@unchanged`` fails when a page read so far was not what the spider expects of its site
(``archiver.crawl.sitehealth``): the same expectations a crawl checks, so ``scrapy check`` fails
on a changed site with the finding's sentence. Both are listed in ``SPIDER_CONTRACTS`` by
``archiver.settings``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scrapy import Request
from scrapy.contracts import Contract
from scrapy.exceptions import ContractFail
from scrapy.http import Response

from archiver.store.runlog import site_change_sentence

# Requests tried per step before the contract gives up (a listing's first posts may lack a share page).
MAX_TRIES = 20


def _same(callback: Any, method: Callable[..., Any]) -> bool:
    return getattr(callback, "__func__", callback) is getattr(method, "__func__", method)


class FollowContract(Contract):
    """``@follow CALLBACK [CALLBACK ...]``: the callback under test reads a page reached from ``@url``."""

    name = "follow"

    def adjust_request_args(self, args: dict[str, Any]) -> dict[str, Any]:
        method = args["callback"]
        spider = method.__self__
        chain = [getattr(spider, name) for name in self.args]
        steps = [*chain, method]

        async def follow(response: Response, **cb_kwargs: Any) -> list[Any]:
            reached = await self._reach(spider, steps, 0, response, cb_kwargs)
            if reached is None:
                names = " -> ".join(self.args)
                raise ContractFail(f"no page for {method.__name__} reached from {response.url} by {names}")
            page, kwargs = reached
            return list(method(page, **kwargs) or ())

        args["callback"] = follow
        return args

    async def _reach(
        self, spider: Any, steps: list[Callable[..., Any]], step: int, response: Response, cb_kwargs: dict[str, Any]
    ) -> tuple[Response, dict[str, Any]] | None:
        if step == len(steps) - 1:
            return response, cb_kwargs
        found = [
            r
            for r in steps[step](response, **cb_kwargs) or ()
            if isinstance(r, Request) and _same(r.callback, steps[step + 1])
        ]
        for request in found[:MAX_TRIES]:
            page = await spider.crawler.engine.download_async(request)
            reached = await self._reach(spider, steps, step + 1, page, dict(request.cb_kwargs))
            if reached is not None:
                return reached
        return None


class UnchangedContract(Contract):
    """``@unchanged``: no page read so far was found changed (a finding of ``SiteHealth``)."""

    name = "unchanged"

    def __init__(self, method: Callable[..., Any], *args: Any) -> None:
        super().__init__(method, *args)
        self.spider = getattr(method, "__self__", None)

    def post_process(self, output: list[Any]) -> None:
        crawler = getattr(self.spider, "crawler", None)
        if crawler is None or crawler.stats is None:
            return
        changed = site_change_sentence(crawler.stats.get_stats())
        if changed:
            raise ContractFail(changed)

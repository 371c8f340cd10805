"""The incremental spider middleware: dismissals told apart by listing, settled listings marked and skipped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

from scrapy.http import HtmlResponse, Request

from archiver.crawl.incremental import META_LISTING, META_POST_ID, Dismissals
from archiver.spidermiddlewares.incremental import IncrementalSpiderMiddleware, _with_dismissals
from archiver.store.pagestore import LISTING, PageStore, StoredPage


async def listing(state: Any, name: str, posts: int, *, wait: bool) -> AsyncIterator[str]:
    """A listing's output whose reading dismisses ``posts`` posts, waiting (letting others run) between them."""
    for i in range(posts):
        state.dismissals.posts.append(f"{name}{i}")  # what IncrementalState.skip does
        if wait:
            await asyncio.sleep(0)
        state.dismissals.posts.append(f"{name}{i}b")
        yield f"{name}-request{i}"


async def read(state: Any, output: AsyncIterator[str]) -> tuple[list[str], Dismissals]:
    note, items = Dismissals(), []
    while True:
        try:
            items.append(await _with_dismissals(state, note, output.__anext__()))
        except StopAsyncIteration:
            return items, note


def test_each_listing_gets_only_its_own_dismissals_even_when_callbacks_wait() -> None:
    state = SimpleNamespace(dismissals=None)

    async def main() -> list[tuple[list[str], Dismissals]]:
        return await asyncio.gather(
            read(state, listing(state, "a", 3, wait=True)),
            read(state, listing(state, "b", 2, wait=True)),
            read(state, listing(state, "c", 2, wait=False)),
        )

    (a_items, a), (b_items, b), (c_items, c) = asyncio.run(main())
    assert a_items == ["a-request0", "a-request1", "a-request2"]
    assert (b_items, c_items) == (["b-request0", "b-request1"], ["c-request0", "c-request1"])
    assert a.posts == ["a0", "a0b", "a1", "a1b", "a2", "a2b"]
    assert b.posts == ["b0", "b0b", "b1", "b1b"]
    assert c.posts == ["c0", "c0b", "c1", "c1b"]
    assert state.dismissals is None  # nothing is attributed outside a listing's own steps


def test_an_exception_of_the_output_reaches_the_reader_and_nothing_stays_attributed() -> None:
    state = SimpleNamespace(dismissals=None)

    async def broken() -> AsyncIterator[str]:
        yield "first"
        await asyncio.sleep(0)
        raise ValueError("bad page")

    async def main() -> str:
        output = broken()
        note = Dismissals()
        assert await _with_dismissals(state, note, output.__anext__()) == "first"
        try:
            await _with_dismissals(state, note, output.__anext__())
        except ValueError as exc:
            return str(exc)
        return "no exception"

    assert asyncio.run(main()) == "bad page"
    assert state.dismissals is None


# --- the middleware, with a stand-in for the crawl's incremental state ----------------------------------


class FakeState:
    """The parts of IncrementalState the middleware uses; posts in ``known`` are dismissed as archived."""

    enabled = True

    def __init__(self, store: PageStore, known: set[str]) -> None:
        self.store, self.known = store, known
        self.dismissals: Dismissals | None = None
        self.counted: list[str] = []

    def skip(self, meta: Any) -> str | None:
        post_id = meta.get(META_POST_ID)
        if post_id in self.known:
            if self.dismissals is not None:
                self.dismissals.posts.append(post_id)
            return "known"
        return None

    def all_known(self, post_ids: list[str]) -> bool:
        return set(post_ids) <= self.known

    def dismiss_known(self, post_ids: list[str]) -> None:
        self.counted += post_ids

    def commit(self, meta: Any) -> None:
        """Pages are stored by the test itself (the real state saves the page held since its download)."""


class Stats:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def inc_value(self, key: str) -> None:
        self.values[key] = self.values.get(key, 0) + 1

    def set_value(self, key: str, value: int) -> None:
        self.values[key] = value


class Spider:
    def parse_listing(self, response: Any) -> None:  # only named in the page store
        raise AssertionError("never called here")


HOME = "http://h/"
BODY = b"<html>listing</html>"


def middleware(tmp_path, known: set[str]) -> IncrementalSpiderMiddleware:
    store = PageStore(tmp_path / "pages")
    store.open()
    store.save(LISTING, StoredPage(HOME, 200, {"ETag": ['"1"']}, BODY, {"callback": "parse_listing", "meta": {}}))
    mw = IncrementalSpiderMiddleware.__new__(IncrementalSpiderMiddleware)
    mw.crawler = SimpleNamespace(spider=Spider(), stats=Stats())  # type: ignore[assignment]
    mw.stats = mw.crawler.stats
    mw.state = FakeState(store, known)  # type: ignore[assignment]
    mw._rerequested, mw._marks, mw._parser = set(), {}, None
    return mw


def listing_response(*flags: str) -> HtmlResponse:
    request = Request(HOME, meta={META_LISTING: True})
    return HtmlResponse(HOME, body=BODY, request=request, flags=list(flags))


async def spider_output(mw: IncrementalSpiderMiddleware, response: Any, *, fail: bool) -> AsyncIterator[Any]:
    """A listing callback's output, with Scrapy's handling of an exception raised in it."""

    async def callback() -> AsyncIterator[Any]:
        for post_id in ("a", "b"):
            if mw.state.skip({META_POST_ID: post_id}) is None:  # what the spider's wanted() does
                yield Request(f"{HOME}{post_id}.html", meta={META_POST_ID: post_id})
        if fail:
            raise ValueError("the page did not parse")
        yield Request(HOME, meta={META_LISTING: True})

    try:
        async for item in callback():
            yield item
    except ValueError as exc:  # Scrapy offers it to the middlewares, then ends the output
        mw.process_spider_exception(response, exc)


async def consume(mw: IncrementalSpiderMiddleware, response: Any, output: AsyncIterator[Any]) -> list[Any]:
    async def start() -> AsyncIterator[Any]:
        yield Request(HOME, meta={META_LISTING: True})

    async for _ in mw.process_start(start()):
        pass
    return [item async for item in mw.process_spider_output_async(response, output)]


def test_a_listing_that_led_to_nothing_wanted_is_marked_and_then_not_read(tmp_path) -> None:
    mw = middleware(tmp_path, {"a", "b"})
    response = listing_response()
    items = asyncio.run(consume(mw, response, spider_output(mw, response, fail=False)))
    assert [r.url for r in items] == [HOME]
    page = mw.state.store.load(LISTING, HOME)
    assert page is not None
    assert page.extra["settled"]["posts"] == ["a", "b"]
    assert page.extra["settled"]["listings"] == [HOME]

    later = middleware(tmp_path / "unused", {"a", "b"})
    later.state.store = mw.state.store

    async def never() -> AsyncIterator[Any]:
        raise AssertionError("a settled listing's output is not read")
        yield

    assert asyncio.run(consume(later, listing_response("not_modified"), never())) == []
    assert later.stats.values["archiver/listings/settled"] == 1
    assert later.state.counted == ["a", "b"]  # counted as known, as if read


def test_a_listing_with_a_wanted_post_or_an_exception_is_not_marked(tmp_path) -> None:
    for known, fail in (({"a"}, False), ({"a", "b"}, True)):
        mw = middleware(tmp_path / f"{len(known)}{fail}", known)
        response = listing_response()
        asyncio.run(consume(mw, response, spider_output(mw, response, fail=fail)))
        page = mw.state.store.load(LISTING, HOME)
        assert page is not None and "settled" not in page.extra

"""The incremental spider middleware's attribution of dismissals to the listing being read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

from archiver.crawl.incremental import Dismissals
from archiver.spidermiddlewares.incremental import _with_dismissals


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

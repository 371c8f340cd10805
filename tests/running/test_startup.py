"""The start-up runs with the collector paused; what it built is frozen; commands that crawl nothing import no Scrapy."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from archiver.running import startup
from tests.crawlrun import run_archiver


@pytest.fixture
def collector() -> Iterator[None]:
    """The test's changes to the collector (paused, frozen objects) are undone after it."""
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.usefixtures("collector")
@pytest.mark.parametrize("enabled", [True, False])
def test_the_block_runs_paused_and_the_collectors_state_comes_back_with_what_it_built_frozen(enabled: bool) -> None:
    gc.enable() if enabled else gc.disable()
    frozen = gc.get_freeze_count()
    with startup.collector_paused():
        assert not gc.isenabled()
        built = [[] for _ in range(1000)]
    assert gc.isenabled() == enabled
    assert gc.get_freeze_count() >= frozen + len(built)


@pytest.mark.usefixtures("collector")
def test_a_failing_start_up_gives_the_collector_back_too() -> None:
    gc.enable()
    with pytest.raises(KeyError), startup.collector_paused():
        raise KeyError("no spider named 'x'")
    assert gc.isenabled()


@pytest.mark.parametrize("args", [("--help",), ("crawl", "--help"), ("status", "{out}"), ("verify", "{out}")])
def test_a_command_that_crawls_nothing_imports_no_scrapy(tmp_path: Path, args: tuple[str, ...]) -> None:
    # `archiver status` is a monitoring check run every minute: Scrapy's import would be most of it.
    (tmp_path / "_posts").mkdir()
    listing = tmp_path / "modules"
    result = run_archiver(*(a.format(out=tmp_path) for a in args), modules=listing)
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    modules = set(listing.read_text().split())
    assert "archiver.cli.crawl" in modules
    assert "scrapy" not in modules and "twisted" not in modules

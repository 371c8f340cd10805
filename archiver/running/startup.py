"""A process's start-up without the garbage collector: what it allocates lives as long as the process.

Importing Scrapy, Twisted and aiohttp and building a crawler (settings, components, the engine)
allocates a few hundred thousand objects that all live to the end of the run. The collector,
triggered by allocation counts, walks them again and again during that start-up and frees
nothing: 30-40 ms of a cron re-run that takes under half a second (``README.md``,
Performance). Paused for the start-up, then frozen (moved out of the collector's generations,
so that the crawl's own collections do not walk them either), the collector runs as before for
what the crawl allocates.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The block runs with the collector paused; what exists after it is frozen; the collector's state comes back."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()

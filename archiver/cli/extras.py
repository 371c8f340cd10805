"""Optional pieces checked before a run starts: a missing one is one line saying what to do, and exit 64.

The extras (redis, warc, monitor, ...) and the programs (redis-server, jekyll) are needed only by
some options. A subcommand calls ``require`` / ``require_program`` (or ``check_settings`` for the
options that become settings) first, so a missing piece is refused before anything is fetched or
started, instead of ending a run with ``ModuleNotFoundError`` halfway through.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable
from typing import Any

from archiver.exceptions import UsageError

# The modules of each extra of pyproject.toml, and how to install it.
EXTRAS: dict[str, tuple[tuple[str, ...], str]] = {
    "redis": (("redis", "scrapy_redis"), "pip install 'archiver[redis]'"),
    "warc": (("warcio",), "pip install 'archiver[warc]'"),
    "monitor": (("spidermon",), "pip install 'archiver[monitor]'"),
    "wayback": (("pywb",), "pip install pywb"),
}
REDIS_SERVER_HINT = "install Debian's redis-server (apt-get install redis-server), or pass --redis URL"
JEKYLL_HINT = "install Debian's jekyll (apt-get install jekyll), or leave out --jekyll"


def installed(module: str) -> bool:
    """True when ``module`` can be imported; nothing is imported (a parent package may be)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package that is missing, or a module without a spec
        return False


def require(module: str, hint: str) -> None:
    """``UsageError`` unless ``module`` is installed; ``hint`` says what needs it and what to do."""
    if not installed(module):
        raise UsageError(f"{hint} (no module named {module!r})")


def require_program(name: str, hint: str) -> None:
    """``UsageError`` unless the program ``name`` is on PATH; ``hint`` says what needs it and what to do."""
    if shutil.which(name) is None:
        raise UsageError(f"{hint} ({name} is not on PATH)")


def require_extra(extra: str, needed_by: str) -> None:
    """Every module of the extra ``extra`` (a key of ``EXTRAS``), for the option ``needed_by``."""
    modules, install = EXTRAS[extra]
    for module in modules:
        require(module, f"{needed_by} needs the {extra} extra: {install}")


def _on(value: Any) -> bool:
    # Scrapy's getbool, leniently: a value it would refuse is the component's to report.
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def check_settings(get: Callable[[str], Any], *, workers: int | None = None) -> None:
    """The pieces a crawl with these settings needs (``get``: a lookup of the run's settings)."""
    redis_url = str(get("ARCHIVER_REDIS_URL") or "").strip()
    if workers or redis_url:
        require_extra("redis", "--workers" if workers else "--redis (ARCHIVER_REDIS_URL)")
    if workers and not redis_url:
        require_program("redis-server", f"--workers needs a Redis: {REDIS_SERVER_HINT}")
    if _on(get("ARCHIVER_WARC_ENABLED")):
        require_extra("warc", "--warc (ARCHIVER_WARC_ENABLED)")

"""Shared fixtures: repository paths, the ../shared data, the demo site and a loopback site server.

Markers (declared in pyproject.toml) skip a test with a reason when its environment is missing:
``@pytest.mark.jekyll`` needs Debian's ``jekyll`` on PATH, ``@pytest.mark.shared`` needs
``../shared`` (or ``$ARCHIVER_SHARED``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from archiver.devserver.server import SiteServer

REPO_ROOT = Path(__file__).resolve().parent.parent
# A test server must never outlive a hung test run by much.
TEST_SERVER_MAX_SECONDS = 300.0

SiteServerFactory = Callable[..., SiteServer]


def shared_path() -> Path:
    """Where the shared data lives: ``$ARCHIVER_SHARED``, else ``../shared`` next to the repository."""
    return Path(os.environ.get("ARCHIVER_SHARED") or REPO_ROOT.parent / "shared")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("jekyll") and shutil.which("jekyll") is None:
        pytest.skip("needs Debian's jekyll on PATH (apt-get install jekyll)")
    if item.get_closest_marker("shared") and not shared_path().is_dir():
        pytest.skip(f"needs the shared data at {shared_path()} (set ARCHIVER_SHARED)")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared corpus, replica and tools; skips the test when they are absent."""
    path = shared_path()
    if not path.is_dir():
        pytest.skip(f"needs the shared data at {path} (set ARCHIVER_SHARED)")
    return path


@pytest.fixture(scope="session")
def demo_site() -> Path:
    """The committed demo site, ``spiders/demo/site`` (one folder per host; package data of the spiders)."""
    path = REPO_ROOT / "spiders" / "demo" / "site"
    assert path.is_dir(), "spiders/demo/site is missing: run python -m demo.generate"
    return path


@pytest.fixture(scope="session")
def jekyll_bin() -> str:
    """Path of Debian's jekyll; skips the test when it is not installed."""
    path = shutil.which("jekyll")
    if path is None:
        pytest.skip("needs Debian's jekyll on PATH (apt-get install jekyll)")
    return path


@pytest.fixture
def site_server() -> Iterator[SiteServerFactory]:
    """Factory: ``site_server(root, **options) -> SiteServer``, started; all stopped at teardown."""
    servers: list[SiteServer] = []

    def start(root: Path | str, **options: Any) -> SiteServer:
        options.setdefault("max_seconds", TEST_SERVER_MAX_SECONDS)
        server = SiteServer(root, **options)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()

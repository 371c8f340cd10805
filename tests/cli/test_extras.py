"""A missing optional piece is refused before anything is fetched: one line saying what to do, exit 64.

Each case runs the real command line in a subprocess in which the extra's modules cannot be
imported (``tests.cli.blocked``), or with a ``PATH`` that leaves out the program, with the demo
site behind the proxy to count what was fetched.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from archiver.cli import extras
from archiver.devserver.server import SiteServer
from archiver.exceptions import UsageError
from tests.cli.blocked import run_blocked

SITE_URL = "http://finews.withounder.com/"


@pytest.fixture
def server(demo_site: Path) -> Iterator[SiteServer]:
    with SiteServer(demo_site, max_seconds=120) as site:
        yield site


def refused(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """The one line a refused command prints; asserts exit 64 and that it names what to do."""
    assert result.returncode == 64, (result.returncode, result.stderr[-2000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("archiver: "), lines
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# -- the helpers ----------------------------------------------------------------------------------------


class _Blocker:
    def __init__(self, *names: str) -> None:
        self.names = set(names)

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def test_require_passes_for_an_installed_module_and_names_the_hint_otherwise() -> None:
    extras.require("json", "never shown")
    with pytest.raises(UsageError, match=r"^--x needs it: do this \(no module named 'no_such_module_here'\)$"):
        extras.require("no_such_module_here", "--x needs it: do this")
    with pytest.raises(UsageError, match=r"no module named 'no_such_package_here\.sub'"):
        extras.require("no_such_package_here.sub", "hint")


def test_require_program_looks_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    extras.require_program(Path(sys.executable).name, "never shown")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UsageError, match=r"^apt-get install it \(redis-server is not on PATH\)$"):
        extras.require_program("redis-server", "apt-get install it")


@pytest.mark.parametrize(
    ("extra", "module", "install"),
    [
        ("redis", "scrapy_redis", "pip install 'archiver[redis]'"),
        ("warc", "warcio", "pip install 'archiver[warc]'"),
        ("monitor", "spidermon", "pip install 'archiver[monitor]'"),
        ("wayback", "pywb", "pip install pywb"),
    ],
)
def test_every_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, extra: str, module: str, install: str
) -> None:
    monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.setattr(sys, "meta_path", [_Blocker(module), *sys.meta_path])
    with pytest.raises(UsageError) as caught:
        extras.require_extra(extra, "--option")
    assert str(caught.value).startswith(f"--option needs the {extra} extra: {install} (no module named ")


def test_settings_without_optional_pieces_need_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "meta_path", [_Blocker("redis", "scrapy_redis", "warcio"), *sys.meta_path])
    for name in ("redis", "scrapy_redis", "warcio"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    settings = {"ARCHIVER_REDIS_URL": "", "ARCHIVER_WARC_ENABLED": "False"}
    extras.check_settings(settings.get)


# -- the command line, as a user without the piece runs it ------------------------------------------------


def test_workers_without_the_redis_extra(tmp_path: Path, server: SiteServer) -> None:
    result = run_blocked(
        "crawl", "finews", "--output", str(tmp_path / "out"), "--workers", "2", "--start-url", SITE_URL,
        blocked=["redis"], proxy=server.proxy_url,
    )  # fmt: skip
    refused(result, "--workers needs the redis extra", "pip install 'archiver[redis]'", "'redis'")
    assert server.count() == 0
    assert not (tmp_path / "out" / ".archiver" / "runs.jsonl").exists()


def test_redis_url_without_scrapy_redis(tmp_path: Path, server: SiteServer) -> None:
    result = run_blocked(
        "crawl", "finews", "--output", str(tmp_path / "out"), "--redis", "redis://127.0.0.1:1/0",
        "--start-url", SITE_URL, blocked=["scrapy_redis"], proxy=server.proxy_url,
    )  # fmt: skip
    refused(result, "--redis", "pip install 'archiver[redis]'", "'scrapy_redis'")
    assert server.count() == 0


def test_workers_without_redis_server_on_path(tmp_path: Path, server: SiteServer) -> None:
    result = run_blocked(
        "crawl", "finews", "--output", str(tmp_path / "out"), "--workers", "2", "--start-url", SITE_URL,
        path=str(tmp_path), proxy=server.proxy_url,
    )  # fmt: skip
    refused(result, "redis-server", "apt-get install redis-server", "--redis URL")
    assert server.count() == 0


def test_warc_without_the_warc_extra(tmp_path: Path, server: SiteServer) -> None:
    result = run_blocked(
        "crawl", "finews", "--output", str(tmp_path / "out"), "--warc", "--start-url", SITE_URL,
        blocked=["warcio"], proxy=server.proxy_url,
    )  # fmt: skip
    refused(result, "--warc", "pip install 'archiver[warc]'")
    assert server.count() == 0


def test_warc_setting_of_the_demo_without_the_warc_extra(tmp_path: Path) -> None:
    result = run_blocked(
        "demo", "--output", str(tmp_path / "out"), "-s", "ARCHIVER_WARC_ENABLED=True", blocked=["warcio"]
    )
    refused(result, "pip install 'archiver[warc]'")
    assert not (tmp_path / "out").exists()


def test_rebuild_without_the_warc_extra(tmp_path: Path) -> None:
    (tmp_path / "warc").mkdir()
    result = run_blocked(
        "rebuild", "--from-warc", str(tmp_path / "warc"), "--output", str(tmp_path / "out"), blocked=["warcio"]
    )
    refused(result, "archiver: rebuild needs the warc extra", "pip install 'archiver[warc]'")


def test_verify_jekyll_without_jekyll_on_path(tmp_path: Path) -> None:
    (tmp_path / "_posts").mkdir()
    result = run_blocked("verify", str(tmp_path), "--jekyll", path=str(tmp_path))
    refused(result, "verify --jekyll", "apt-get install jekyll", "jekyll is not on PATH")

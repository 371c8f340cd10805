"""ARCHIVER_HTTP_CLIENT chooses the http(s) handler; both clients archive the same bytes; a Wayback run keeps its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.settings import Settings

from archiver import settings as project_settings
from archiver.capture.wayback import WAYBACK_HANDLER, WaybackAddon
from archiver.devserver.server import SiteServer
from archiver.downloadhandlers.client import CLIENTS, HttpClientAddon, http_handler
from archiver.exceptions import SettingError
from tests.crawlrun import SITE_URL, crawl, run_archiver


def project(**cmdline: object) -> Settings:
    settings = Settings()
    settings.setmodule(project_settings, priority="project")
    for name, value in cmdline.items():
        settings.set(name, value, priority="cmdline")
    return settings


def handlers(settings: Settings) -> tuple[object, object]:
    effective = settings.getwithbase("DOWNLOAD_HANDLERS")
    return effective.get("http"), effective.get("https")


@pytest.mark.parametrize(
    ("client", "path"), [(None, CLIENTS["aiohttp"]), ("twisted", CLIENTS["twisted"]), ("AIOHTTP", CLIENTS["aiohttp"])]
)
def test_the_client_named_fetches_http_and_https(client: str | None, path: str) -> None:
    settings = project(**({"ARCHIVER_HTTP_CLIENT": client} if client else {}))
    HttpClientAddon().update_settings(settings)
    assert handlers(settings) == (path, path)
    assert settings.getwithbase("DOWNLOAD_HANDLERS").get("ftp") is None  # still not even imported


@pytest.mark.parametrize("client", ["curl", "", "httpx"])
def test_an_unknown_client_fails_at_start_with_the_choices(client: str) -> None:
    with pytest.raises(SettingError, match=r"ARCHIVER_HTTP_CLIENT=.*aiohttp or twisted"):
        http_handler(project(ARCHIVER_HTTP_CLIENT=client))


def test_a_wayback_run_puts_its_replay_handler_in_front_of_the_client() -> None:
    settings = project(ARCHIVER_WAYBACK_URL="http://127.0.0.1:9/coll")
    HttpClientAddon().update_settings(settings)
    WaybackAddon().update_settings(settings)
    assert handlers(settings) == (WAYBACK_HANDLER, WAYBACK_HANDLER)


def test_a_wayback_run_refuses_a_handler_that_would_ask_the_live_site() -> None:
    live = {"http": CLIENTS["twisted"], "https": CLIENTS["twisted"]}
    settings = project(ARCHIVER_WAYBACK_URL="http://127.0.0.1:9/coll", DOWNLOAD_HANDLERS=live)
    HttpClientAddon().update_settings(settings)
    with pytest.raises(SettingError, match="replay handler"):
        WaybackAddon().update_settings(settings)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.md")) if ".archiver" not in p.parts}


def test_both_clients_archive_the_same_bytes(tmp_path: Path, demo_site: Path) -> None:
    with SiteServer(demo_site, max_seconds=120) as server:
        runs = {}
        for client in CLIENTS:
            out = tmp_path / client
            result = crawl(out, server.proxy_url, "-s", f"ARCHIVER_HTTP_CLIENT={client}")
            assert result.returncode == 0, result.stderr[-2000:]
            assert "experimental" not in result.stderr
            runs[client] = tree(out)
    assert runs["aiohttp"] == runs["twisted"] and len(runs["aiohttp"]) >= 30


TWISTED_ONLY = "scrapy.core.downloader.handlers.http11.TunnelError"


def test_with_aiohttp_alone_the_twisted_handlers_exception_is_not_listed_for_retries() -> None:
    settings = project()
    default = settings.getlist("RETRY_EXCEPTIONS")
    HttpClientAddon().update_settings(settings)
    kept = settings.getlist("RETRY_EXCEPTIONS")
    assert TWISTED_ONLY in default and TWISTED_ONLY not in kept
    assert kept == [name for name in default if name != TWISTED_ONLY]  # the rest, in order, OSError included


@pytest.mark.parametrize(
    "cmdline",
    [
        {"ARCHIVER_HTTP_CLIENT": "twisted"},
        {"DOWNLOAD_HANDLERS": {"https": CLIENTS["twisted"]}},
        {"RETRY_EXCEPTIONS": [TWISTED_ONLY, "builtins.OSError"]},  # the user's list stays as written
    ],
    ids=["twisted-client", "twisted-for-https", "user-list"],
)
def test_the_twisted_handlers_exception_stays_listed_when_it_can_be_raised_or_the_user_listed_it(
    cmdline: dict[str, object],
) -> None:
    settings = project(**cmdline)
    HttpClientAddon().update_settings(settings)
    assert TWISTED_ONLY in settings.getlist("RETRY_EXCEPTIONS")


@pytest.mark.parametrize("client", CLIENTS)
def test_a_crawl_imports_twisteds_handler_and_tls_factory_only_when_it_fetches_through_it(
    tmp_path: Path, demo_site: Path, client: str
) -> None:
    # Importing them (for a name in RETRY_EXCEPTIONS) cost 40-50 ms of every run, a tenth of a re-run.
    listing = tmp_path / "modules"
    with SiteServer(demo_site, max_seconds=120) as server:
        result = run_archiver(
            "crawl", "finews", "--start-url", SITE_URL, "--output", str(tmp_path / "out"),
            "-s", f"ARCHIVER_HTTP_CLIENT={client}", proxy=server.proxy_url, modules=listing,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    modules = set(listing.read_text().split())
    assert "scrapy.core.engine" in modules
    twisted = {"scrapy.core.downloader.handlers.http11", "scrapy.core.downloader.contextfactory"}
    assert modules & twisted == (twisted if client == "twisted" else set())

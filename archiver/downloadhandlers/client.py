"""``ARCHIVER_HTTP_CLIENT``: the HTTP client that fetches every page, and the add-on that installs it.

``aiohttp`` (the default) is Scrapy's aiohttp-based handler (``lazyaiohttp``); ``twisted`` is
Scrapy's own default, its Twisted HTTP/1.1 handler. The add-on names the choice for http and
https in ``DOWNLOAD_HANDLERS_BASE`` at the add-on priority, so that the Wayback add-on, which
runs after it, can put its replay handler in front (and fetch through the same client).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from archiver import config

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

CLIENTS = {
    "aiohttp": "archiver.downloadhandlers.lazyaiohttp.AiohttpDownloadHandler",
    "twisted": "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler",
}


def http_handler(settings: BaseSettings) -> str:
    """The import path of the download handler ``ARCHIVER_HTTP_CLIENT`` names."""
    name = str(settings.get("ARCHIVER_HTTP_CLIENT") or "").strip().lower()
    if name not in CLIENTS:
        raise config.SettingError(
            f"ARCHIVER_HTTP_CLIENT={settings.get('ARCHIVER_HTTP_CLIENT')!r} is not a client: use "
            + " or ".join(CLIENTS)
        )
    return CLIENTS[name]


class HttpClientAddon:
    """In ``ADDONS``, before the Wayback add-on: http and https fetched by ``ARCHIVER_HTTP_CLIENT``."""

    def update_settings(self, settings: BaseSettings) -> None:
        path = http_handler(settings)
        handlers = dict(settings.getdict("DOWNLOAD_HANDLERS_BASE"))
        handlers["http"] = handlers["https"] = path
        settings.set("DOWNLOAD_HANDLERS_BASE", handlers, priority="addon")

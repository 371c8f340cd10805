"""``ARCHIVER_HTTP_CLIENT``: the HTTP client that fetches every page, and the add-on that installs it.

``aiohttp`` (the default) is Scrapy's aiohttp-based handler (``lazyaiohttp``); ``twisted`` is
Scrapy's own default, its Twisted HTTP/1.1 handler. The add-on names the choice for http and
https in ``DOWNLOAD_HANDLERS_BASE`` at the add-on priority, so that the Wayback add-on, which
runs after it, can put its replay handler in front (and fetch through the same client).

Scrapy's default ``RETRY_EXCEPTIONS`` names the Twisted handler's ``TunnelError`` (an https
proxy that refused the tunnel), and the retry middleware imports every name it lists: the
Twisted handler's module, its TLS context factory and ``inspect.stack()`` calls, 40-50 ms of
every run, a tenth of a cron re-run. When no handler of the run is Twisted's, no request can
fail that way (aiohttp's tunnel failures are Scrapy's ``DownloadFailedError``, which is retried),
and the add-on drops that name at its priority: a ``RETRY_EXCEPTIONS`` of the project or the
command line stays as it is.
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
TWISTED_HANDLER_MODULE = "scrapy.core.downloader.handlers.http11"


def client_name(settings: BaseSettings) -> str:
    """``ARCHIVER_HTTP_CLIENT`` as written, without case or surrounding spaces."""
    return str(settings.get("ARCHIVER_HTTP_CLIENT") or "").strip().lower()


def http_handler(settings: BaseSettings) -> str:
    """The import path of the download handler ``ARCHIVER_HTTP_CLIENT`` names."""
    name = client_name(settings)
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
        effective = settings.getwithbase("DOWNLOAD_HANDLERS")
        if all(effective.get(scheme) == CLIENTS["aiohttp"] for scheme in ("http", "https")):
            kept = [name for name in settings.getlist("RETRY_EXCEPTIONS") if not of_twisted_handler(name)]
            settings.set("RETRY_EXCEPTIONS", kept, priority="addon")


def of_twisted_handler(obj: object) -> bool:
    """Whether an import path or a class (a handler, a ``RETRY_EXCEPTIONS`` entry) is of Twisted's handler."""
    path = obj if isinstance(obj, str) else f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"
    return path.startswith(TWISTED_HANDLER_MODULE + ".")


def uses_twisted(settings: BaseSettings) -> bool:
    """Whether a run of these settings may fetch through Twisted's handler (before the add-ons have run)."""
    chosen = CLIENTS.get(client_name(settings))
    named = settings.getdict("DOWNLOAD_HANDLERS")
    return any(of_twisted_handler(handler) for handler in (chosen, named.get("http"), named.get("https")) if handler)

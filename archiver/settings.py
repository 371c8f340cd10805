"""Scrapy settings of the archiver project, and the defaults of every ``ARCHIVER_*`` setting.

This is the one place where defaults live; components read the settings in
``from_crawler`` and validate them there (see ``archiver.config``).
"""

from __future__ import annotations

BOT_NAME = "archiver"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# --- archiver ---------------------------------------------------------------
# Root of the archive: `_posts/`, `old_post/`, `category/` and the `.archiver/` state folder.
ARCHIVER_OUTPUT_DIR = "output"
# fsync every file before it is renamed into place: survives power loss, not only a killed process.
ARCHIVER_FSYNC = False
# Largest page accepted, in bytes; a larger answer is refused (Scrapy's DOWNLOAD_MAXSIZE follows it).
ARCHIVER_MAX_PAGE_BYTES = 5 * 1024 * 1024

ITEM_PIPELINES = {
    "pipelines.validate.ValidatePipeline": 100,
    "pipelines.normalize.NormalizePipeline": 200,
    "pipelines.export.ExportPipeline": 900,
}

# --- crawling: polite defaults; `archiver crawl --concurrency N` overrides them for a backfill ---
ROBOTSTXT_OBEY = False  # the archived site's own pages, fetched at the site's own pace
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 30
# One task per item instead of a hundred: items are written one by one anyway, and the
# per-result task creation of the default costs a quarter of the CPU on large crawls.
CONCURRENT_ITEMS = 1
RETRY_ENABLED = True
RETRY_TIMES = 5
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
USER_AGENT = "archiver (+https://github.com/; Scrapy archiver for Jekyll news sites)"
COOKIES_ENABLED = False
REDIRECT_MAX_TIMES = 5

# --- nothing listens that need not: a cron job on a shared server opens no port ---
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
EXTENSIONS = {
    "scrapy.extensions.telnet.TelnetConsole": None,
    "scrapy.extensions.remote_control.RemoteControl": None,
}

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"

"""Scrapy settings of the archiver project, and the defaults of every ``ARCHIVER_*`` setting.

This is the one place where defaults live; components read the settings in
``from_crawler`` and validate them there (see ``archiver.config``).
"""

from __future__ import annotations

import os

from scrapy.settings import default_settings as _scrapy_defaults

BOT_NAME = "archiver"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"
# `scrapy crawl` exits with the archiver's codes (4: the site changed, 2: pages failed, ...), not always 0.
COMMANDS_MODULE = "archiver.commands"

# --- archiver ---------------------------------------------------------------
# Root of the archive: `_posts/`, `old_post/`, `category/` and the `.archiver/` state folder.
ARCHIVER_OUTPUT_DIR = "output"
# fsync every file before it is renamed into place: survives power loss, not only a killed process.
ARCHIVER_FSYNC = False
# Largest page accepted, in bytes; a larger answer is refused (Scrapy's DOWNLOAD_MAXSIZE follows it).
ARCHIVER_MAX_PAGE_BYTES = 5 * 1024 * 1024
# Seconds before the first retry of a failed download; doubled for each further one, up to the maximum.
ARCHIVER_RETRY_BACKOFF = 1.0
ARCHIVER_RETRY_BACKOFF_MAX = 30.0
# Who runs this crawler, for the site's operators: an e-mail address or an http(s) URL, sent in the
# User-Agent as "archiver/<version> (+mailto:ops@example.org)" (or "(+https://...)"). Empty: the
# User-Agent names the project only, "archiver/<version> (Scrapy archiver for Jekyll news sites)".
ARCHIVER_CONTACT = ""

# --- cron-grade runs (archiver/crawl/incremental.py, archiver/extensions/) ---
# Skip posts already archived, revalidate the rest with conditional requests; False: fetch everything.
ARCHIVER_INCREMENTAL = True
# Archived posts dated today or in the N days before are revalidated (the site edits posts that long).
ARCHIVER_RECHECK_DAYS = 3
# Hours a stored page answers for a 304 after it was last fetched in full; older, it is fetched in
# full again: a server or cache that answers 304 wrongly hides a new post for this long at most.
ARCHIVER_STORED_MAX_AGE_HOURS = 6.0
# Backfill window: Beijing days YYYY-MM-DD (inclusive) and category slugs; empty means no limit.
ARCHIVER_SINCE = ""
ARCHIVER_UNTIL = ""
ARCHIVER_CATEGORIES: list[str] = []
# The run lock; empty means <ARCHIVER_OUTPUT_DIR>/.archiver/lock.
ARCHIVER_LOCK_FILE = ""
# auto (a live line on a terminal, log lines otherwise), tty, log or off; seconds between log lines.
ARCHIVER_PROGRESS = "auto"
ARCHIVER_PROGRESS_INTERVAL = 60.0

# --- distributed crawling on scrapy-redis (archiver/distributed/); off without a URL ---
# redis://[:password@]host:6379/0 (or rediss://, unix://); the environment variable of the same name
# is the default, so a password need not appear on a command line. Empty: Scrapy's own scheduler.
ARCHIVER_REDIS_URL = os.environ.get("ARCHIVER_REDIS_URL", "")
# Prefix of the run's Redis keys (queue, duplicate filter, workers); one run per prefix at a time.
ARCHIVER_REDIS_KEY = "archiver:%(spider)s"
# The run ends when the shared queue has been empty and every worker idle for this many seconds
# (a worker is marked busy in the step that gives it requests: no grace period is needed).
ARCHIVER_REDIS_IDLE_TIMEOUT = 0.0
# How many workers the run has, when one command starts them all (`archiver crawl --workers N` sets
# it for its workers): the run does not end before all of them have joined. 0: not known.
ARCHIVER_REDIS_WORKERS = 0

# --- raw capture as WARC (archiver/capture/warc.py; `archiver rebuild --from-warc` replays it) ---
# Every request and response as WARC records under <output>/warc/, and .archiver/captures.jsonl.
ARCHIVER_WARC_ENABLED = False
# Runs append to the file of the day (archiver/capture/warcfile.py); the next one is started past this size (bytes).
ARCHIVER_WARC_MAX_BYTES = 1_000_000_000
# A folder of WARC files: every request is answered from them, never from the network (`archiver rebuild`).
ARCHIVER_REPLAY_DIR = ""

# --- the past from web archives (archiver/capture/wayback.py; `archiver crawl --from-wayback URL`) ---
# A pywb collection (http://host:8080/<coll>) or https://web.archive.org: posts from its raw captures,
# never from the live site. Empty: the live site.
ARCHIVER_WAYBACK_URL = ""
# Seconds between requests to the endpoint, and requests at a time; empty/0: the endpoint's polite
# default (1.0 s and 1 for the Internet Archive, 0 s and 8 for any other endpoint, e.g. your own pywb).
ARCHIVER_WAYBACK_DELAY = ""
ARCHIVER_WAYBACK_CONCURRENCY = 0

ITEM_PIPELINES = {
    "pipelines.validate.ValidatePipeline": 100,
    "pipelines.normalize.NormalizePipeline": 200,
    "pipelines.sanitize.SanitizePipeline": 250,
    "pipelines.window.WindowPipeline": 300,
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
# Scrapy looks for `return <value>` in generator callbacks by reading each callback's source
# (inspect + ast) on every response; its cache misses for bound methods, which cost 3-4 % of a
# crawl's CPU. The spiders' callbacks return no values.
WARN_ON_GENERATOR_RETURN_VALUE = False
RETRY_ENABLED = True
RETRY_TIMES = 5
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# USER_AGENT is composed by archiver.extensions.useragent.UserAgentAddon from ARCHIVER_CONTACT
# (set USER_AGENT itself, with -s or in a spider's custom_settings, to replace it entirely).
COOKIES_ENABLED = False
# Left out of the base list too: the cookies middleware module imports tldextract and requests
# (about 50 ms of every run's start) even when it is disabled. A site that needs cookies sets
# COOKIES_ENABLED and lists "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": 700 in
# DOWNLOADER_MIDDLEWARES.
# Four of Scrapy's are replaced, in their places, by subclasses: the redirect ones never lose a
# page to the duplicate filter, fail loops, and do not warn at every start that the Referer
# middleware is off (redirect.py; metarefresh.py also follows only a refresh of the head); two skip
# per-page work which cannot change the outcome (metarefresh.py and httpproxy.py); a body that
# does not decode as its Content-Encoding says fails the page (httpcompression.py).
# Disable them by these names.
_REPLACED_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": (
        "archiver.downloadermiddlewares.redirect.RedirectMiddleware"
    ),
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": (
        "archiver.downloadermiddlewares.metarefresh.MetaRefreshMiddleware"
    ),
    "scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware": (
        "archiver.downloadermiddlewares.httpproxy.HttpProxyMiddleware"
    ),
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": (
        "archiver.downloadermiddlewares.httpcompression.HttpCompressionMiddleware"
    ),
}
DOWNLOADER_MIDDLEWARES_BASE = {
    _REPLACED_MIDDLEWARES.get(name, name): order
    for name, order in _scrapy_defaults.DOWNLOADER_MIDDLEWARES_BASE.items()
    if name != "scrapy.downloadermiddlewares.cookies.CookiesMiddleware"
}
# Only http(s) is ever fetched (the spiders refuse other start URLs). Scrapy imports the module of
# every handler listed, lazy or not, at every start; FTP's pulls in Twisted's FTP client.
DOWNLOAD_HANDLERS = {"ftp": None, "s3": None, "file": None, "data": None}
# The client of every http(s) page (archiver.downloadhandlers.client): "aiohttp", Scrapy's
# aiohttp-based handler, 11 % less CPU per crawl than "twisted", Scrapy's default handler.
ARCHIVER_HTTP_CLIENT = "aiohttp"
# The site needs no Referer; the middleware costs about 1.5 % of a crawl's CPU.
REFERER_ENABLED = False
REDIRECT_MAX_TIMES = 5

# --- nothing listens that need not: a cron job on a shared server opens no port ---
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
# Left out of the base list rather than set to None in EXTENSIONS: Scrapy imports every module
# named there, and RemoteControl's pulls in aiohttp (0.2 s of CPU and 10 MB for every run).
EXTENSIONS_BASE = {
    name: order
    for name, order in _scrapy_defaults.EXTENSIONS_BASE.items()
    if name not in ("scrapy.extensions.telnet.TelnetConsole", "scrapy.extensions.remote_control.RemoteControl")
}
EXTENSIONS = {
    # First of all: no component may touch the archive while another run holds it.
    "archiver.extensions.lock.LockExtension": -1000,
    # Crawl-wide state the components share (reached with crawler.get_extension()).
    "archiver.crawl.archive.ArchiveAtStart": -960,
    "archiver.crawl.failures.FailureLog": -950,
    "archiver.crawl.incremental.IncrementalState": -940,
    # ARCHIVER_WAYBACK_URL adds WaybackState (-930), JOBDIR adds JobDirGuard (-900): see ADDONS.
    "archiver.crawl.sitehealth.SiteHealth": -925,
    "archiver.extensions.runreport.RunReport": 600,
    "archiver.extensions.progress.Progress": 610,
    # Alerts (the [monitor] extra): starts spidermon only when SPIDERMON_ENABLED is set.
    "archiver.monitors.extension.MonitorsLoader": 650,
}
DOWNLOADER_MIDDLEWARES = {
    # Just outside RetryMiddleware (550): page size, offsite redirects, retry backoff, failures for good.
    "archiver.downloadermiddlewares.pageguard.PageGuardMiddleware": 540,
    # Decoded in the encoding the bytes are in, not the one a header or <meta> claims; undecodable: refused.
    # Inside the page guard: a body it finds cut short is retried before its bytes are judged.
    "archiver.downloadermiddlewares.encoding.EncodingMiddleware": 535,
    # Between HttpProxyMiddleware (750) and DownloaderStats (850): see archiver/downloadermiddlewares/incremental.py.
    "archiver.downloadermiddlewares.incremental.IncrementalMiddleware": 800,
    # Last before the network: records the request as sent and the response as received (still compressed).
    "archiver.capture.warc.WarcCaptureMiddleware": 950,
    # With ARCHIVER_REPLAY_DIR: answers from WARC records in place of the network.
    "archiver.capture.replay.ReplayMiddleware": 960,
    # ARCHIVER_WAYBACK_URL adds WaybackMiddleware (945): see ADDONS.
}
# Switches scheduler and duplicate filter to scrapy-redis when ARCHIVER_REDIS_URL is set.
ADDONS = {
    # http(s) fetched by ARCHIVER_HTTP_CLIENT (before the Wayback add-on, which wraps it).
    "archiver.downloadhandlers.client.HttpClientAddon": -10,
    # USER_AGENT from ARCHIVER_CONTACT: "archiver/<version> (+mailto:...)".
    "archiver.extensions.useragent.UserAgentAddon": 0,
    "archiver.distributed.addon.RedisAddon": 0,
    # With ARCHIVER_WAYBACK_URL: its three components, and http(s) answered by the endpoint's replay, at
    # its polite rate (archiver.capture.wayback.COMPONENTS).
    "archiver.capture.wayback.WaybackAddon": 0,
    # With JOBDIR: JobDirGuard, which trusts a kept queue only after a clean stop.
    "archiver.extensions.jobdir.JobDirAddon": 0,
}
SPIDER_MIDDLEWARES = {
    # It looks for internal meta keys in every request a callback yields, for spiders that copy
    # response.meta; these never do, and a listing yields thousands of requests.
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
    # Requests that failed in the last run, after the start requests (archiver/spidermiddlewares/retryfailed.py).
    "archiver.spidermiddlewares.retryfailed.RetryFailedPages": 955,
    "archiver.spidermiddlewares.incremental.IncrementalSpiderMiddleware": 950,
    # With ARCHIVER_WARC_ENABLED: a request found on a captured page names that page's WARC record.
    "archiver.capture.warc.WarcLinkMiddleware": 960,
    # ARCHIVER_WAYBACK_URL adds WaybackDiscovery (990): see ADDONS.
}

# `scrapy check finews`: @follow reaches post and share pages from a listing, @unchanged fails on a
# site change (archiver/crawl/contracts.py).
SPIDER_CONTRACTS = {"archiver.crawl.contracts.FollowContract": 10, "archiver.crawl.contracts.UnchangedContract": 20}

LOG_LEVEL = "INFO"
# Scrapy's, without its per-page "Crawled" and "Scraped" DEBUG messages when LOG_LEVEL hides them.
LOG_FORMATTER = "archiver.extensions.logformatter.LogFormatter"
# Scrapy's in-memory stats, without the per-call cost of its deprecation shim.
STATS_CLASS = "archiver.extensions.statscollector.StatsCollector"
FEED_EXPORT_ENCODING = "utf-8"

# --- alerts with spidermon (pip install 'archiver[monitor]'; archiver/monitors/, README "Alerts") ---
# Off by default: spidermon is not even imported. On, its own extension runs this suite at the end
# of every crawl; its senders are configured with spidermon's SPIDERMON_* settings.
SPIDERMON_ENABLED = False
SPIDERMON_SPIDER_CLOSE_MONITORS = ["archiver.monitors.suite.ArchiverMonitorSuite"]
# No new post (by the newest archived post's date) for this long fails a monitor: "12h", "2d", or
# seconds; None leaves it unchecked (a quiet site is the site's business until you say otherwise).
ARCHIVER_MONITOR_MAX_QUIET = None
# More pages failed for good than this in one crawl fails a monitor (the next run retries them).
ARCHIVER_MONITOR_MAX_FAILED = 0

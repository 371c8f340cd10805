"""Alerts with spidermon (the optional ``[monitor]`` extra): a monitor suite for the archiver's crawls.

``extension.MonitorsLoader`` is listed in ``EXTENSIONS`` and stays off (spidermon is not even
imported) unless ``SPIDERMON_ENABLED`` is set; then it starts spidermon's own extension, which
runs ``SPIDERMON_SPIDER_CLOSE_MONITORS`` (by default ``suite.ArchiverMonitorSuite``) when the
spider closes. The suite checks the crawl's stats (site changes, failed pages, how the crawl
finished) and the archive (no new post for ``ARCHIVER_MONITOR_MAX_QUIET``), and hands failures to
spidermon's actions: a log line always, and email, Slack, Telegram, Discord or Sentry when their
``SPIDERMON_*`` settings are set.

The only package that imports spidermon (import-linter checks it). May import ``archiver.crawl``
and the layers below it, as the other Scrapy components do.
"""

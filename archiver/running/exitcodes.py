"""The exit codes of ``archiver`` commands and of ``scrapy crawl`` (documented in the README).

A leaf, without Scrapy: the command line's parser reports a usage error with one before any
crawl is built.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    ERROR = 1
    PAGES_FAILED = 2  # the run finished, but some pages failed permanently (listed in the run report)
    LOCKED = 3  # another run holds the lock
    SITE_CHANGED = 4  # pages of the site are not what the spider expects (archiver.crawl.sitehealth)
    USAGE = 64  # EX_USAGE

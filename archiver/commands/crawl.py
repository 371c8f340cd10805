"""``scrapy crawl SPIDER``, exiting with the codes ``archiver crawl`` documents.

Scrapy's own crawl command exits 0 once a crawl ran, whatever it found. A cron job or a Scrapyd
user running ``scrapy crawl finews`` would then never see a changed site (4), pages that failed
for good (2), an archive that could not be written (1) or a held lock (3). This command runs the
crawl as Scrapy's does and takes its exit code from the crawl's stats, as ``archiver crawl`` does.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from scrapy.commands import crawl
from twisted.internet.defer import Deferred

from archiver.exceptions import ArchiveUnwritable, LockedError, SettingError, UsageError
from archiver.running import startup
from archiver.running.runner import ExitCode, error_of, failure_code, outcome, summary

if TYPE_CHECKING:
    import argparse

logger = logging.getLogger(__name__)

# Raised by the archiver's components with one sentence that says what to do: no traceback.
EXPLAINED = (ArchiveUnwritable, LockedError, SettingError, UsageError)


class Command(crawl.Command):
    def long_desc(self) -> str:
        return (
            "Run a spider of the project. Exits as `archiver crawl` does: 0 all archived, 1 error, "
            "2 some pages failed for good, 3 another run holds the lock, 4 the site changed, 64 a bad setting."
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            super().run(args, opts)  # Scrapy's usage errors
            return
        assert self.crawler_process is not None
        errors: list[BaseException] = []
        with startup.collector_paused():
            try:
                crawler = self._create_crawler(args[0])
            except KeyError:
                logger.error("no spider named %r: `scrapy list` names the project's spiders", args[0])
                self.exitcode = int(ExitCode.USAGE)
                return
            # CrawlerProcess gives a Deferred, AsyncCrawlerProcess (the asyncio reactor) a Task.
            started = self.crawler_process.crawl(crawler, **opts.spargs)
            if isinstance(started, Deferred):
                started.addErrback(lambda reason: errors.append(error_of(reason)))
        self.crawler_process.start()
        if isinstance(started, asyncio.Task) and started.done() and not started.cancelled():
            # Retrieved here, asyncio does not print it again at exit.
            errors.extend(error for error in [started.exception()] if error is not None)
        if errors:
            error = errors[0]
            if isinstance(error, EXPLAINED):
                logger.error("the crawl could not start: %s", error)
            else:
                logger.error("the crawl could not start", exc_info=error)
            self.exitcode = int(failure_code(error))
            return
        try:
            stats = crawler.stats.get_stats()
        except RuntimeError:  # a crawl that never started has no stats
            stats = None
        if self.crawler_process.bootstrap_failed or stats is None:
            self.exitcode = int(ExitCode.ERROR)
        else:
            logger.info("%s", summary(stats).rsplit("\n", 1)[-1])  # the site-change sentence is logged already
            self.exitcode = int(outcome(stats))

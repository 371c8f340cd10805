"""``ArchiverMonitorSuite``: the checks spidermon runs when an archiver crawl closes, and what it does on a failure.

Monitors, each failing with a sentence a person reading the alert understands:

- ``Crawl finished`` -- the crawl's ``finish_reason`` is ``finished`` (not an error, a shutdown, a
  closespider limit);
- ``Site unchanged`` -- no finding of a site change (stats ``archiver/site/changed`` and
  ``archiver/site/changed/<page_class>/<finding>``, pages of ``archiver/site/checked/<page_class>``);
- ``Pages fetched`` -- at most ``ARCHIVER_MONITOR_MAX_FAILED`` pages failed for good
  (``archiver/pages/failed``; the next run retries them);
- ``Posts keep coming`` -- the newest archived post is dated at most ``ARCHIVER_MONITOR_MAX_QUIET``
  ago (read from the archive's file names, as ``archiver status`` reads them); skipped when unset.

Actions on a failure: ``LogFailures`` always (one WARNING line per failed monitor, with its reason,
on the ``archiver.monitors`` logger: cron's mail shows it), and each of spidermon's senders whose
setting is set: ``SPIDERMON_SMTP_HOST`` (email), ``SPIDERMON_SLACK_SENDER_TOKEN``,
``SPIDERMON_TELEGRAM_SENDER_TOKEN``, ``SPIDERMON_DISCORD_WEBHOOK_URL``, ``SPIDERMON_SENTRY_DSN``.
The senders get a message that lists the failed monitors and their reasons (spidermon's own
``SPIDERMON_*_MESSAGE`` / ``SPIDERMON_EMAIL_SUBJECT`` / ``SPIDERMON_BODY_TEXT`` settings override
it), and each one's ``SPIDERMON_*_FAKE`` setting logs the message instead of sending it. A
project that wants other actions subclasses the suite and lists them in
``monitors_failed_actions``, as spidermon's documentation shows.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from pathlib import Path
from typing import Any

from scrapy.exceptions import ScrapyDeprecationWarning
from scrapy.settings import BaseSettings
from scrapy.utils.misc import load_object
from spidermon import Monitor, MonitorSuite, monitors
from spidermon.core.actions import Action

from archiver.monitors.extension import max_quiet
from archiver.store.health import ago, newest_post

logger = logging.getLogger("archiver.monitors")

CHANGED = "archiver/site/changed"
CHECKED = "archiver/site/checked/"
FAILED = "archiver/pages/failed"

# What every sender says: which checks failed and why, and where the archive is.
MESSAGE = (
    "archiver: {{ result.monitors_failed_results|length }} check(s) failed for the crawl into "
    "{{ data.crawler.settings.get('ARCHIVER_OUTPUT_DIR') }}\n"
    "{% for r in result.monitors_failed_results %}- {{ r.monitor.name }}: {{ r.reason }}\n{% endfor %}"
    "Run `archiver status {{ data.crawler.settings.get('ARCHIVER_OUTPUT_DIR') }}` for the archive's health."
)
SUBJECT = "archiver: {{ result.monitors_failed_results|length }} check(s) failed"

# A sender is used when its setting is set: (setting, spidermon's class, class defaults).
_ACTIONS = "spidermon.contrib.actions"
_TEXT = {"message": MESSAGE}
SENDERS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("SPIDERMON_SMTP_HOST", f"{_ACTIONS}.email.smtp.SendSmtpEmail", {"subject": SUBJECT, "body_text": MESSAGE}),
    ("SPIDERMON_SLACK_SENDER_TOKEN", f"{_ACTIONS}.slack.notifiers.SendSlackMessageSpiderFinished", _TEXT),
    ("SPIDERMON_TELEGRAM_SENDER_TOKEN", f"{_ACTIONS}.telegram.notifiers.SendTelegramMessageSpiderFinished", _TEXT),
    ("SPIDERMON_DISCORD_WEBHOOK_URL", f"{_ACTIONS}.discord.notifiers.SendDiscordMessageSpiderFinished", _TEXT),
    ("SPIDERMON_SENTRY_DSN", f"{_ACTIONS}.sentry.SendSentryMessage", {}),
)


def _stats(monitor: Monitor) -> dict[str, Any]:
    return dict(monitor.data.crawler.stats.get_stats())


@monitors.name("Crawl finished")
class FinishedMonitor(Monitor):
    @monitors.name("the crawl ran to its end")
    def test_finished(self) -> None:
        reason = _stats(self).get("finish_reason")
        if reason not in ("finished", None):
            self.fail(f"the crawl stopped early ({reason}); the next run starts over")


@monitors.name("Site unchanged")
class SiteChangeMonitor(Monitor):
    @monitors.name("pages look as the site makes them")
    def test_no_site_change(self) -> None:
        stats = _stats(self)
        if not stats.get(CHANGED):
            return
        findings = []
        for key, pages in sorted(stats.items()):
            if key.startswith(f"{CHANGED}/"):
                page_class, _, finding = key.removeprefix(f"{CHANGED}/").partition("/")
                checked = stats.get(f"{CHECKED}{page_class}")
                of = f" of {checked}" if checked else ""
                findings.append(f"{page_class} pages: {finding} on {pages}{of}")
        kinds = stats[CHANGED]
        self.fail(f"the site changed ({kinds} kinds): " + "; ".join(findings or ["see runs.jsonl"]))


@monitors.name("Pages fetched")
class FailedPagesMonitor(Monitor):
    @monitors.name("no page failed for good")
    def test_failed_pages(self) -> None:
        stats = _stats(self)
        failed = int(stats.get(FAILED, 0) or 0)
        limit = self.data.crawler.settings.getint("ARCHIVER_MONITOR_MAX_FAILED")
        if failed > limit:
            reasons = ", ".join(
                f"{key.removeprefix(FAILED + '/')} {value}"
                for key, value in sorted(stats.items())
                if key.startswith(FAILED + "/")
            )
            self.fail(f"{failed} pages failed (max {limit}): {reasons}; the next run retries them")


@monitors.name("Posts keep coming")
class QuietMonitor(Monitor):
    @monitors.name("a new post within ARCHIVER_MONITOR_MAX_QUIET")
    def test_not_quiet(self) -> None:
        settings = self.data.crawler.settings
        limit = max_quiet(settings)
        if limit is None:
            self.skipTest("ARCHIVER_MONITOR_MAX_QUIET is not set")
            return
        root = Path(str(settings.get("ARCHIVER_OUTPUT_DIR")))
        post, _, _ = newest_post(root, dt.datetime.now(dt.UTC))
        if post is None:
            self.fail(f"no post archived in {root}")
            return
        quiet = dt.timedelta(seconds=post["age_seconds"])
        if quiet > limit:
            self.fail(f"no new post for {ago(quiet)} (max {ago(limit)}): the newest is {post['path']}")


class LogFailures(Action):
    """One WARNING line per failed monitor, with its reason."""

    def run_action(self) -> None:
        for result in self.result.monitors_failed_results:
            logger.warning("monitor failed: %s: %s", result.monitor.name, result.reason)


def senders(settings: BaseSettings) -> list[type[Action]]:
    """spidermon's senders whose setting is set, each with the archiver's message as its default."""
    chosen: list[type[Action]] = []
    for setting, path, defaults in SENDERS:
        if settings.get(setting):
            with warnings.catch_warnings():
                # spidermon's email sender is built on scrapy.mail, deprecated since Scrapy 2.13.
                warnings.filterwarnings("ignore", "The scrapy.mail module is deprecated", ScrapyDeprecationWarning)
                base = load_object(path)  # imported only when asked for: premailer, slack-sdk, sentry-sdk
            chosen.append(type(f"Archiver{base.__name__}", (base,), dict(defaults)))
    return chosen


class ArchiverMonitorSuite(MonitorSuite):
    monitors = [FinishedMonitor, SiteChangeMonitor, FailedPagesMonitor, QuietMonitor]  # noqa: RUF012
    monitors_failed_actions = [LogFailures]  # noqa: RUF012

    def __init__(self, *args: Any, crawler: Any = None, **kwargs: Any) -> None:
        actions = list(kwargs.pop("monitors_failed_actions", None) or [])
        if crawler is not None:
            actions += senders(crawler.settings)
        super().__init__(*args, monitors_failed_actions=actions, crawler=crawler, **kwargs)

"""The spidermon suite: monitors that fail on site changes, failed pages and quiet periods, and their actions.

Crawls of the demo site run in subprocesses, as cron runs them, with spidermon's fake senders (they
log the message instead of sending it); the monitors themselves also run in-process over stats
set by hand, the way the site-change detection sets them.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from scrapy import Spider
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from archiver import settings as archiver_settings
from archiver.devserver.server import SiteServer
from archiver.exceptions import SettingError
from archiver.monitors.extension import MonitorsLoader
from archiver.running.runner import ExitCode
from tests.archives import write_post
from tests.crawlrun import REPO, archiver_env, crawl

pytest.importorskip("spidermon", reason="needs the monitor extra: pip install -e '.[monitor]'")

DEMO = REPO / "spiders" / "demo" / "site"
FAST = ("-s", "ARCHIVER_RETRY_BACKOFF=0.02", "-s", "ARCHIVER_RETRY_BACKOFF_MAX=0.1")
# Telegram and Discord in fake mode: the message goes to the log.
SENDERS = {
    "SPIDERMON_TELEGRAM_FAKE": True,
    "SPIDERMON_TELEGRAM_SENDER_TOKEN": "test-token",
    "SPIDERMON_TELEGRAM_RECIPIENTS": ["1234"],
    "SPIDERMON_DISCORD_FAKE": True,
    "SPIDERMON_DISCORD_WEBHOOK_URL": "http://127.0.0.1:9/never-called",
}


def options(**settings: Any) -> list[str]:
    args: list[str] = []
    for name, value in settings.items():
        text = ",".join(value) if isinstance(value, list) else str(value)
        args += ["-s", f"{name}={text}"]
    return args


ON = options(SPIDERMON_ENABLED=True, **SENDERS)


# --- crawls -------------------------------------------------------------------------------------


def test_a_good_crawl_passes_every_monitor(tmp_path: Path) -> None:
    with SiteServer(DEMO, max_seconds=120) as server:
        done = crawl(tmp_path / "out", server.proxy_url, *ON, *options(ARCHIVER_MONITOR_MAX_QUIET="100000d"))
    assert done.returncode == 0, done.stderr[-3000:]
    log = done.stderr
    for name in ("Crawl finished", "Site unchanged", "Pages fetched", "Posts keep coming"):
        assert f"[Spidermon] {name}/" in log
    assert "[Spidermon] 4 monitors in " in log
    assert "FAIL" not in log.split("MONITORS", 1)[1].split("FINISHED ACTIONS", 1)[0]
    assert "monitor failed" not in log
    assert "[spidermon.contrib.actions.telegram]" not in log  # senders run on failures only
    assert "Spider.log() is deprecated" not in log


def test_failed_pages_of_a_demo_copy_trigger_the_senders(tmp_path: Path) -> None:
    broken = {"infoCode=NW202303010612000101": 503}  # one share page keeps failing
    with SiteServer(DEMO, fail_paths=broken, max_seconds=120) as server:
        done = crawl(tmp_path / "out", server.proxy_url, *ON, *FAST)
    assert done.returncode == ExitCode.PAGES_FAILED, done.stderr[-3000:]
    log = done.stderr
    reason = "1 pages failed (max 0): http_503 1; the next run retries them"
    assert f"[archiver.monitors] WARNING: monitor failed: Pages fetched/no page failed for good: {reason}" in log
    for sender in ("telegram", "discord"):
        said = log.split(f"[spidermon.contrib.actions.{sender}] INFO: ", 1)[1]
        assert said.startswith(f"archiver: 1 check(s) failed for the crawl into {tmp_path / 'out'}")
        assert f"\n- Pages fetched/no page failed for good: {reason}\nRun `archiver status " in said
    # Posts keep coming is skipped: ARCHIVER_MONITOR_MAX_QUIET is not set.
    assert "Posts keep coming/a new post within ARCHIVER_MONITOR_MAX_QUIET... SKIPPED" in log


def test_a_quiet_archive_fails_the_quiet_monitor(tmp_path: Path) -> None:
    """The demo's posts are from 2023: with a two-day limit the archive has been quiet for years."""
    with SiteServer(DEMO, max_seconds=120) as server:
        done = crawl(tmp_path / "out", server.proxy_url, *ON, *options(ARCHIVER_MONITOR_MAX_QUIET="2d"))
    assert done.returncode == 0, done.stderr[-3000:]  # a failing monitor alerts; it changes no exit code
    assert "monitor failed: Posts keep coming/a new post within ARCHIVER_MONITOR_MAX_QUIET: no new post for " in (
        done.stderr
    )
    assert "(max 2 d): the newest is _posts/2023-03-05-" in done.stderr
    assert "[spidermon.contrib.actions.telegram] INFO: archiver: 1 check(s) failed" in done.stderr


def test_a_changed_demo_copy_fails_the_site_monitor(tmp_path: Path) -> None:
    """A theme change that moves post titles out of ``<h1>``: the site-change detection's stats fail the monitor."""
    site = tmp_path / "site"
    shutil.copytree(DEMO, site)
    for page in (site / "finews.withounder.com").glob("*/20*/*/*/*.html"):
        text = page.read_text(encoding="utf-8")
        page.write_text(re.sub(r"<h1>(.*?)</h1>", r'<div class="headline">\1</div>', text), encoding="utf-8")
    with SiteServer(site, max_seconds=120) as server:
        done = crawl(tmp_path / "out", server.proxy_url, *ON)
    if "archiver/site/changed" not in done.stderr:
        pytest.skip("this tree's spider has no site-change detection (archiver/site/changed stats)")
    log = done.stderr
    assert "monitor failed: Site unchanged/pages look as the site makes them: the site changed (" in log
    assert "[spidermon.contrib.actions.telegram] INFO: archiver: " in log


def test_a_misconfigured_sender_stops_the_crawl_before_it_starts(tmp_path: Path) -> None:
    settings = options(SPIDERMON_ENABLED=True, SPIDERMON_TELEGRAM_SENDER_TOKEN="t")  # no recipients
    with SiteServer(DEMO, max_seconds=120) as server:
        done = crawl(tmp_path / "out", server.proxy_url, *settings)
        fetched = server.count()
    assert done.returncode == ExitCode.USAGE, done.stderr[-3000:]
    assert "spidermon: You must provide a value for SPIDERMON_TELEGRAM_RECIPIENTS setting." in done.stderr
    assert fetched == 0


def test_spidermon_is_not_imported_unless_enabled(tmp_path: Path) -> None:
    """A whole demo crawl with the default settings: the loader is listed, spidermon stays out."""
    code = (
        "import sys\n"
        "from archiver.cli import main\n"
        f"code = main(['demo', '--output', {str(tmp_path / 'out')!r}])\n"
        "print('exit', code, 'spidermon' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=archiver_env(None), capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip().splitlines()[-1] == "exit 0 False", done.stderr[-3000:]


# --- the monitors in-process, over stats set by hand --------------------------------------------


def close_with(tmp_path: Path, stats: dict[str, Any], **settings: Any) -> None:
    """Run the suite as spidermon runs it at spider close, with these stats."""
    defaults = {
        name: getattr(archiver_settings, name)
        for name in ("SPIDERMON_SPIDER_CLOSE_MONITORS", "ARCHIVER_MONITOR_MAX_QUIET", "ARCHIVER_MONITOR_MAX_FAILED")
    }
    values = {**defaults, "SPIDERMON_ENABLED": True, "ARCHIVER_OUTPUT_DIR": str(tmp_path), **SENDERS, **settings}
    crawler = get_crawler(Spider, values)
    spider = crawler._create_spider("finews")
    crawler.spider = spider
    assert crawler.stats is not None
    ended = dt.datetime.now(dt.UTC)
    as_scrapy_sets_them = {
        "finish_reason": "finished",
        "start_time": ended - dt.timedelta(seconds=5),
        "finish_time": ended,
    }
    for key, value in {**as_scrapy_sets_them, **stats}.items():
        crawler.stats.set_value(key, value)
    extension = MonitorsLoader.from_crawler(crawler)
    extension.spider_opened(spider)
    extension.spider_closed(spider)


def failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "archiver.monitors"]


SITE_CHANGED = {
    "archiver/site/checked/post": 34,
    "archiver/site/checked/home": 1,
    "archiver/site/changed/post/no_title": 26,
    "archiver/site/changed/home/no_post_links": 1,
    "archiver/site/changed": 2,
}


def test_site_changes_fail_with_the_findings(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    close_with(tmp_path, SITE_CHANGED)
    assert failures(caplog) == [
        "monitor failed: Site unchanged/pages look as the site makes them: the site changed (2 kinds): "
        "home pages: no_post_links on 1 of 1; post pages: no_title on 26 of 34"
    ]
    telegram = [r.getMessage() for r in caplog.records if r.name == "spidermon.contrib.actions.telegram"]
    assert len(telegram) == 1 and "post pages: no_title on 26 of 34" in telegram[0]
    discord = [r.getMessage() for r in caplog.records if r.name == "spidermon.contrib.actions.discord"]
    assert len(discord) == 1 and discord[0].startswith("archiver: 1 check(s) failed")


def test_email_in_fake_mode_logs_the_whole_mail(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    email = {
        "SPIDERMON_SMTP_HOST": "127.0.0.1",
        "SPIDERMON_SMTP_USER": "archiver",
        "SPIDERMON_SMTP_PASSWORD": "unused",
        "SPIDERMON_EMAIL_SENDER": "archiver@localhost",
        "SPIDERMON_EMAIL_TO": ["ops@localhost"],
        "SPIDERMON_EMAIL_FAKE": True,
    }
    close_with(tmp_path, SITE_CHANGED, **email)
    mails = [r.getMessage() for r in caplog.records if r.name == "spidermon.contrib.actions.email"]
    assert len(mails) == 1
    assert "Subject: archiver: 1 check(s) failed" in mails[0]
    assert "To: ops@localhost" in mails[0]


def test_a_crawl_that_stopped_early_fails(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    close_with(tmp_path, {"finish_reason": "shutdown"})
    assert failures(caplog) == [
        "monitor failed: Crawl finished/the crawl ran to its end: the crawl stopped early (shutdown); "
        "the next run starts over"
    ]


def test_failed_pages_within_the_limit_pass(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    stats = {"archiver/pages/failed": 2, "archiver/pages/failed/timeout": 2}
    close_with(tmp_path, stats, ARCHIVER_MONITOR_MAX_FAILED=2)
    assert failures(caplog) == []
    close_with(tmp_path, stats, ARCHIVER_MONITOR_MAX_FAILED=1)
    assert failures(caplog) == [
        "monitor failed: Pages fetched/no page failed for good: 2 pages failed (max 1): timeout 2; "
        "the next run retries them"
    ]


def test_quiet_monitor_reads_the_archive(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    now = dt.datetime.now(dt.UTC)
    write_post(tmp_path, now - dt.timedelta(hours=3), "RECENT")
    close_with(tmp_path, {}, ARCHIVER_MONITOR_MAX_QUIET="12h")
    assert failures(caplog) == []
    close_with(tmp_path, {}, ARCHIVER_MONITOR_MAX_QUIET="1h")
    assert len(failures(caplog)) == 1
    assert "no new post for 3 h (max 1 h): the newest is _posts/" in failures(caplog)[0]
    close_with(tmp_path / "empty", {}, ARCHIVER_MONITOR_MAX_QUIET="1h")
    assert failures(caplog)[-1].endswith(f"no post archived in {tmp_path / 'empty'}")


def test_loader_settings(tmp_path: Path) -> None:
    crawler = get_crawler(Spider, {"SPIDERMON_ENABLED": False})
    with pytest.raises(NotConfigured):
        MonitorsLoader.from_crawler(crawler)
    listed = {"EXTENSIONS": {"spidermon.contrib.scrapy.extensions.Spidermon": 500}, "SPIDERMON_ENABLED": True}
    with pytest.raises(NotConfigured, match="runs by itself"):
        MonitorsLoader.from_crawler(get_crawler(Spider, listed))
    bad = {"SPIDERMON_ENABLED": True, "ARCHIVER_MONITOR_MAX_QUIET": "soon", "ARCHIVER_MONITOR_MAX_FAILED": 0}
    with pytest.raises(SettingError, match="ARCHIVER_MONITOR_MAX_QUIET: 'soon' is not a duration"):
        MonitorsLoader.from_crawler(get_crawler(Spider, bad))
    bad = {"SPIDERMON_ENABLED": True, "ARCHIVER_MONITOR_MAX_FAILED": -1}
    with pytest.raises(SettingError, match="ARCHIVER_MONITOR_MAX_FAILED"):
        MonitorsLoader.from_crawler(get_crawler(Spider, bad))

"""archiver.extensions.jobdir: a JOBDIR queue is trusted only after a clean stop, and cleared after a finished job.

The crawl-level behaviour (resume after SIGTERM, discard after kill -9) is in tests/crawls/test_backfill.py;
these tests drive the extension through its signals.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from archiver.extensions.jobdir import JobDirAddon, JobDirGuard

GUARD = "archiver.extensions.jobdir.JobDirGuard"


def guard(jobdir: Path) -> tuple[JobDirGuard, object]:
    crawler = get_crawler(settings_dict={"JOBDIR": str(jobdir)})
    return JobDirGuard.from_crawler(crawler), crawler


def fill(jobdir: Path) -> None:
    (jobdir / "requests.queue").mkdir()
    (jobdir / "requests.queue" / "p0").write_bytes(b"queued")
    (jobdir / "requests.seen").write_text("fingerprint\n")
    (jobdir / "spider.state").write_bytes(b"state")


def test_without_jobdir_it_is_off() -> None:
    with pytest.raises(NotConfigured, match="set it"):
        JobDirGuard.from_crawler(get_crawler())


PROGRESS = "archiver.extensions.progress.Progress"


@pytest.mark.parametrize(
    ("settings", "extensions"),
    [
        ({}, {PROGRESS: 610}),
        ({"JOBDIR": "jobs"}, {PROGRESS: 610, GUARD: -900}),
        ({"JOBDIR": "jobs", "EXTENSIONS": {GUARD: None}}, {GUARD: None}),  # turned off on the command line
        ({"JOBDIR": "jobs", "EXTENSIONS": {GUARD: 5}}, {GUARD: 5}),
    ],
    ids=["no-jobdir", "jobdir", "turned-off", "moved"],
)
def test_the_addon_enables_it_only_for_a_run_with_a_jobdir(
    settings: dict[str, object], extensions: dict[str, object]
) -> None:
    # A run without JOBDIR does not build it, so its reason to be off is not logged as a WARNING.
    project = Settings({"EXTENSIONS": {PROGRESS: 610}})
    project.setdict(settings, priority="cmdline")
    JobDirAddon().update_settings(project)
    assert project.getdict("EXTENSIONS") == extensions


def test_a_running_job_is_marked_and_a_clean_stop_keeps_its_queue(tmp_path: Path) -> None:
    jobdir = tmp_path / "job"
    _guard, crawler = guard(jobdir)
    assert (jobdir / JobDirGuard.MARKER).exists()
    fill(jobdir)
    crawler.stats.set_value("finish_reason", "shutdown")  # Ctrl-C or SIGTERM: Scrapy saved the queue
    crawler.signals.send_catch_log(signals.engine_stopped)
    assert not (jobdir / JobDirGuard.MARKER).exists()
    assert (jobdir / "requests.queue" / "p0").exists() and (jobdir / "requests.seen").exists()
    # The next run resumes it: nothing is discarded.
    _, again = guard(jobdir)
    assert (jobdir / "requests.seen").exists()
    assert again.stats.get_value("archiver/jobdir/discarded") is None


def test_a_killed_job_leaves_its_marker_and_the_next_run_discards_its_queue(tmp_path: Path) -> None:
    jobdir = tmp_path / "job"
    guard(jobdir)
    fill(jobdir)  # kill -9 here: no engine_stopped, the marker stays
    _, crawler = guard(jobdir)
    assert not (jobdir / "requests.queue").exists() and not (jobdir / "requests.seen").exists()
    assert not (jobdir / "spider.state").exists()
    assert crawler.stats.get_value("archiver/jobdir/discarded") == 1
    assert (jobdir / JobDirGuard.MARKER).exists()


def test_a_finished_job_is_cleared_so_the_folder_can_be_reused(tmp_path: Path) -> None:
    jobdir = tmp_path / "job"
    _, crawler = guard(jobdir)
    fill(jobdir)
    crawler.stats.set_value("finish_reason", "finished")
    crawler.signals.send_catch_log(signals.engine_stopped)
    assert sorted(p.name for p in jobdir.iterdir()) == []

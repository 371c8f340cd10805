"""archiver.running.runner: one crawl in this process -- the lock first, documented exit codes, one summary line.

A Twisted reactor runs once per process, so crawls run in subprocesses here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from archiver.exceptions import ArchiveUnwritable, LockedError, SettingError, UsageError
from archiver.running.runner import ExitCode, failure_code, outcome, setting_getter, summary, take_lock
from archiver.store import lock
from archiver.store.runlog import read_runs
from tests.crawlrun import REPO


def run_in_subprocess(output: Path, settings: dict[str, object], spider: str = "finews") -> dict[str, object]:
    """``run_crawl`` in a fresh interpreter; what it returned or raised, as JSON."""
    code = (
        "import json, sys\n"
        "from archiver.running.runner import run_crawl\n"
        "settings = json.loads(sys.argv[2])\n"
        "try:\n"
        "    code, stats = run_crawl(sys.argv[1], settings, {'start_url': 'http://127.0.0.1:9/'})\n"
        "    print(json.dumps({'code': int(code)}))\n"
        "except Exception as exc:\n"
        "    print(json.dumps({'raised': type(exc).__name__, 'message': str(exc)}))\n"
    )
    settings = {"ARCHIVER_OUTPUT_DIR": str(output), "LOG_LEVEL": "ERROR", **settings}
    done = subprocess.run(
        [sys.executable, "-c", code, spider, json.dumps(settings)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_exit_codes_are_the_documented_ones() -> None:
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0, "ERROR": 1, "PAGES_FAILED": 2, "LOCKED": 3, "SITE_CHANGED": 4, "USAGE": 64,
    }  # fmt: skip


def test_the_setting_getter_prefers_the_command_line_over_the_defaults() -> None:
    get = setting_getter({"ARCHIVER_RECHECK_DAYS": 9})
    assert get("ARCHIVER_RECHECK_DAYS") == 9
    assert get("ARCHIVER_OUTPUT_DIR") == "output"
    assert get("NO_SUCH_SETTING") is None


def test_a_held_lock_refuses_the_run_and_leaves_a_locked_line(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / ".archiver").mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from archiver.store import lock; lock.acquire(__import__('pathlib').Path(sys.argv[1])); print('held', flush=True); time.sleep(30)", str(out / ".archiver" / "lock")],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockedError):
            take_lock({"ARCHIVER_OUTPUT_DIR": str(out)})
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    assert [run["status"] for run in read_runs(out / ".archiver" / "runs.jsonl")] == ["locked"]
    key = take_lock({"ARCHIVER_OUTPUT_DIR": str(out)})  # the kernel released the dead holder's lock
    lock.release(key)


def test_a_bad_setting_is_a_usage_error_before_anything_is_fetched(tmp_path: Path) -> None:
    result = run_in_subprocess(tmp_path / "out", {"ARCHIVER_RECHECK_DAYS": "soon"})
    assert result["raised"] == "UsageError" and "ARCHIVER_RECHECK_DAYS" in str(result["message"])
    assert not (tmp_path / "out" / "_posts").exists()


def test_an_unknown_spider_is_a_usage_error(tmp_path: Path) -> None:
    result = run_in_subprocess(tmp_path / "out", {}, spider="nosuchspider")
    assert result == {"raised": "UsageError", "message": "no spider named 'nosuchspider'"}


def test_a_bug_is_never_reported_as_a_usage_error(tmp_path: Path) -> None:
    # A component that cannot be loaded is the project's fault, not the user's: exit 1, not 64.
    result = run_in_subprocess(tmp_path / "out", {"ITEM_PIPELINES": {"pipelines.nosuch.Pipeline": 100}})
    assert result.get("raised") == "RuntimeError", result


def test_the_summary_line_counts_posts_and_pages() -> None:
    line = summary(
        {
            "archiver/posts/new": 3,
            "archiver/posts/unchanged": 2,
            "archiver/posts/skipped_known": 10,
            "downloader/response_count": 9,
            "downloader/response_status_count/304": 8,
            "elapsed_time_seconds": 1.25,
        }
    )
    assert line == (
        "posts: 3 new, 0 updated, 2 unchanged, 10 known (not fetched), 0 dropped; "
        "pages: 9 fetched, 8 not modified, 0 failed; 1.2 s"
    )


FINISHED = {"finish_reason": "finished"}
CHANGED = {"archiver/site/changed/post/no_title": 3}
FAILED = {"archiver/pages/failed": 1}


@pytest.mark.parametrize(
    ("stats", "code"),
    [
        (FINISHED, ExitCode.OK),
        ({**FINISHED, **FAILED}, ExitCode.PAGES_FAILED),
        ({**FINISHED, **FAILED, **CHANGED}, ExitCode.SITE_CHANGED),
        ({**FINISHED, **CHANGED, "archiver/archive_unwritable": "cannot write the archive"}, ExitCode.ERROR),
        ({"finish_reason": "shutdown", **CHANGED}, ExitCode.ERROR),
        ({**FINISHED, "archiver/site/changed/post/no_title": 0}, ExitCode.OK),
    ],
    ids=["ok", "failed", "changed-over-failed", "unwritable-over-changed", "interrupted", "zero-finding"],
)
def test_the_outcome_of_a_crawl_that_ran_the_most_serious_first(stats: dict[str, object], code: ExitCode) -> None:
    assert outcome(stats) is code


def test_the_outcome_of_a_crawl_that_could_not_start(tmp_path: Path) -> None:
    assert failure_code(LockedError(tmp_path / "lock", "pid 1")) is ExitCode.LOCKED
    assert failure_code(SettingError("ARCHIVER_X='y' is not a number")) is ExitCode.USAGE
    assert failure_code(UsageError("no such file")) is ExitCode.USAGE
    assert failure_code(ArchiveUnwritable(tmp_path, OSError(28, "No space left on device"))) is ExitCode.ERROR
    assert failure_code(RuntimeError("anything else")) is ExitCode.ERROR

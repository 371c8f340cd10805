"""The archive's health from runs.jsonl and the post files: verdicts, thresholds, what is found and counted."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from archiver.store import health, jsonlines
from archiver.store.health import Level, check, parse_duration
from archiver.store.runlog import read_runs
from tests.archives import (
    FINDING,
    locked_line,
    rotate_line,
    run_line,
    write_post,
    write_retry,
    write_runs,
)

NOW = dt.datetime(2026, 6, 15, 4, 0, tzinfo=dt.UTC)  # 12:00 in Beijing
MIN = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """A healthy archive: a run every 5 minutes, posts of today and the days before."""
    root = tmp_path / "out"
    for n in range(5):
        write_post(root, NOW - n * 7 * HOUR - 20 * MIN, f"P{n}", written=NOW - n * 7 * HOUR - 19 * MIN)
    write_runs(root, *(run_line(NOW - (20 - i) * 5 * MIN, new=1 if i % 5 == 0 else 0) for i in range(20)))
    return root


# --- durations ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("12h", 43200), ("2d", 172800), ("1w", 604800), ("1h30m", 5400), ("45", 45)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "3x", "h", "12 hours", "-5m", "30m later"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


# --- verdicts -----------------------------------------------------------------------------------


def test_healthy_archive_is_ok(archive: Path) -> None:
    result = check(archive, NOW, max_age=30 * MIN, max_quiet=12 * HOUR)
    assert result.level is Level.OK, result.reasons
    assert result.reasons == []
    assert result.last_run is not None and result.last_run["status"] == "ok"
    assert result.last_run["age_seconds"] == 300
    assert result.last_success == result.last_run
    assert result.runs_24h == {"ok": 20}
    assert result.posts == {"_posts": 5, "old_post": 0, "total": 5}
    assert health.summary(result).startswith("last run ok 5 min ago (0 new posts), newest post 20 min old")


def test_missing_folder_is_unknown(tmp_path: Path) -> None:
    result = check(tmp_path / "nowhere", NOW)
    assert result.level is Level.UNKNOWN
    assert result.reasons == [f"no archive folder at {tmp_path / 'nowhere'}"]


def test_archive_without_runs_is_unknown(tmp_path: Path) -> None:
    write_post(tmp_path, NOW - HOUR, "P1")
    result = check(tmp_path, NOW, max_age=30 * MIN)
    assert result.level is Level.UNKNOWN
    assert result.reasons[0].startswith("no run recorded:")
    assert result.newest_post is not None  # what there is, is still reported


def test_empty_folder_and_empty_run_log_are_unknown(tmp_path: Path) -> None:
    assert check(tmp_path, NOW).level is Level.UNKNOWN
    write_runs(tmp_path)
    result = check(tmp_path, NOW)
    assert result.level is Level.UNKNOWN
    assert result.reasons == [f"no crawl run recorded in {tmp_path / '.archiver' / 'runs.jsonl'}"]


@pytest.mark.parametrize(
    ("status", "level"),
    [
        ("ok", Level.OK),
        ("pages_failed", Level.WARNING),
        ("site_changed", Level.CRITICAL),
        ("error", Level.CRITICAL),
        ("something_new", Level.WARNING),
    ],
)
def test_last_run_status_decides(tmp_path: Path, status: str, level: Level) -> None:
    write_post(tmp_path, NOW - HOUR, "P1")
    write_runs(tmp_path, run_line(NOW - 10 * MIN), run_line(NOW - 5 * MIN, status, failed=2))
    result = check(tmp_path, NOW)
    assert result.level is level
    if level is not Level.OK:
        assert result.reasons[0].startswith(f"last run {status}") or status in result.reasons[0]


def test_stale_archive_is_critical_past_max_age(tmp_path: Path) -> None:
    write_post(tmp_path, NOW - HOUR, "P1")
    write_runs(tmp_path, run_line(NOW - 2 * HOUR))
    assert check(tmp_path, NOW).level is Level.OK  # no threshold, no judgement of age
    assert check(tmp_path, NOW, max_age=3 * HOUR).level is Level.OK
    result = check(tmp_path, NOW, max_age=30 * MIN)
    assert result.level is Level.CRITICAL
    assert result.reasons == ["last successful run 2 h ago (max 30 min)"]


def test_max_age_counts_from_the_last_ok_run(tmp_path: Path) -> None:
    write_post(tmp_path, NOW - HOUR, "P1")
    write_runs(tmp_path, run_line(NOW - 3 * HOUR), *(run_line(NOW - n * 10 * MIN, "pages_failed") for n in (3, 2, 1)))
    result = check(tmp_path, NOW, max_age=HOUR)
    assert result.level is Level.CRITICAL
    assert result.last_success is not None and result.last_success["age_seconds"] == 3 * 3600
    assert result.reasons == [
        "last successful run 3 h ago (max 1 h)",
        "last run pages_failed 10 min ago: 0 pages failed",
    ]


def test_no_successful_run_at_all(tmp_path: Path) -> None:
    write_runs(tmp_path, run_line(NOW - MIN, "error"))
    result = check(tmp_path, NOW, max_age=HOUR)
    assert result.level is Level.CRITICAL
    assert "no successful run recorded" in result.reasons


def test_quiet_site_is_a_warning_past_max_quiet(tmp_path: Path) -> None:
    write_post(tmp_path, NOW - 20 * HOUR, "OLD", written=NOW - MIN)  # written now, dated 20 h ago
    write_runs(tmp_path, run_line(NOW - MIN, new=1))
    assert check(tmp_path, NOW, max_quiet=DAY).level is Level.OK
    result = check(tmp_path, NOW, max_quiet=12 * HOUR)
    assert result.level is Level.WARNING
    assert result.reasons == ["no new post for 20 h (max 12 h)"]


def test_quiet_with_no_post_at_all(tmp_path: Path) -> None:
    write_runs(tmp_path, run_line(NOW - MIN))
    assert check(tmp_path, NOW, max_quiet=HOUR).reasons == ["no post archived"]


def test_site_changed_run_reports_its_findings(tmp_path: Path) -> None:
    write_post(tmp_path, NOW - HOUR, "P1")
    write_runs(tmp_path, run_line(NOW - 10 * MIN), run_line(NOW - 5 * MIN, "site_changed", site_changed=[FINDING]))
    result = check(tmp_path, NOW, max_age=HOUR)
    assert result.level is Level.CRITICAL
    assert result.reasons == ["last run site_changed 5 min ago: post pages without a title (26 of 34 pages)"]
    assert result.site_changed == {"end": (NOW - 5 * MIN).isoformat(), "findings": [FINDING]}
    assert result.last_run is not None and result.last_run["site_changed"] == [FINDING]


def test_site_changed_without_findings_and_with_several(tmp_path: Path) -> None:
    write_runs(tmp_path, run_line(NOW - MIN, "site_changed"))
    assert check(tmp_path, NOW).reasons == ["last run site_changed 1 min ago: the site changed"]
    other = {"page_class": "home", "finding": "no_post_links", "pages": 1, "of": 1}
    write_runs(tmp_path, run_line(NOW - MIN, "site_changed", site_changed=[other, FINDING]))
    assert check(tmp_path, NOW).reasons == [
        "last run site_changed 1 min ago: home pages: no_post_links (1 of 1 pages), and 1 more kinds"
    ]


def test_site_change_fixed_since_is_reported_not_judged(tmp_path: Path) -> None:
    write_post(tmp_path, NOW - HOUR, "P1")
    write_runs(tmp_path, run_line(NOW - 2 * DAY, "site_changed", site_changed=[FINDING]), run_line(NOW - MIN))
    result = check(tmp_path, NOW)
    assert result.level is Level.OK
    assert result.site_changed is not None and result.site_changed["findings"] == [FINDING]


def test_locked_attempts_never_decide(tmp_path: Path) -> None:
    write_post(tmp_path, NOW - HOUR, "P1")
    write_runs(tmp_path, run_line(NOW - 20 * MIN), locked_line(NOW - 10 * MIN), locked_line(NOW - 5 * MIN))
    result = check(tmp_path, NOW, max_age=HOUR)
    assert result.level is Level.OK
    assert result.last_run is not None and result.last_run["status"] == "ok"
    assert result.last_attempt is not None and result.last_attempt["status"] == "locked"
    assert result.runs_24h == {"locked": 2, "ok": 1}
    # A lock held for long leaves an old last success: max_age says so.
    assert check(tmp_path, NOW, max_age=15 * MIN).level is Level.CRITICAL


def test_only_locked_attempts_are_unknown(tmp_path: Path) -> None:
    write_runs(tmp_path, locked_line(NOW - 5 * MIN))
    result = check(tmp_path, NOW)
    assert result.level is Level.UNKNOWN
    assert result.last_attempt is not None and result.last_run is None


def test_torn_and_garbage_lines_are_skipped(tmp_path: Path) -> None:
    write_post(tmp_path, NOW - HOUR, "P1")
    good = json.dumps(run_line(NOW - 5 * MIN, new=3))
    write_runs(tmp_path, run_line(NOW - 30 * MIN), good[:40], "[1, 2]", "\x00\x00garbage", good)
    result = check(tmp_path, NOW)
    assert result.level is Level.OK
    assert result.last_run is not None and result.last_run["posts"]["new"] == 3
    assert result.runs_24h == {"ok": 2}


def test_a_torn_last_line_makes_the_newest_run_unknown(tmp_path: Path) -> None:
    # Its status is among the lost bytes: the run before it must not speak for it.
    write_post(tmp_path, NOW - HOUR, "P1")
    good = json.dumps(run_line(NOW - 5 * MIN, new=3))
    write_runs(tmp_path, run_line(NOW - 30 * MIN), good, good[:-10])
    result = check(tmp_path, NOW)
    assert result.level is Level.UNKNOWN
    assert result.last_run is not None and result.last_run["posts"]["new"] == 3


def test_rotate_lines_are_not_crawl_runs(tmp_path: Path) -> None:
    write_post(tmp_path, NOW - HOUR, "P1")
    write_runs(tmp_path, run_line(NOW - 30 * MIN), rotate_line(NOW - MIN))
    result = check(tmp_path, NOW)
    assert result.level is Level.OK
    assert result.last_run is not None and result.last_run["age_seconds"] == 1800
    assert result.last_rotate is not None and result.last_rotate["moved"] == 3
    assert result.runs_24h == {"ok": 1}  # a good rotation is not counted among the runs
    write_runs(tmp_path, run_line(NOW - 30 * MIN), rotate_line(NOW - MIN, ["2026-06-01-X.md"]))
    result = check(tmp_path, NOW)
    assert result.level is Level.WARNING
    assert result.reasons == ["last rotate left 1 conflicts"]
    assert result.runs_24h == {"ok": 1, "rotate:error": 1}


def test_runs_older_than_a_day_are_not_counted_recent(tmp_path: Path) -> None:
    write_runs(tmp_path, run_line(NOW - 2 * DAY, "error"), run_line(NOW - 25 * HOUR), run_line(NOW - HOUR))
    assert check(tmp_path, NOW).runs_24h == {"ok": 1}


# --- what is found ------------------------------------------------------------------------------


def test_newest_post_by_front_matter_time(tmp_path: Path) -> None:
    """The file name gives the day; among that day's posts the front matter's time picks the newest."""
    write_post(tmp_path, NOW - 3 * HOUR, "EARLY", written=NOW - MIN)
    late = write_post(tmp_path, NOW - 2 * HOUR, "LATE", written=NOW - 90 * MIN)
    write_post(tmp_path, NOW - 3 * DAY, "OLDER", folder="old_post")
    result = check(tmp_path, NOW)
    post = result.newest_post
    assert post is not None
    assert post["path"] == str(late.relative_to(tmp_path))
    assert post["date"] == "2026-06-15T10:00:00+08:00"
    assert post["age_seconds"] == 7200
    assert post["written_age_seconds"] == 5400
    assert result.posts == {"_posts": 2, "old_post": 1, "total": 3}


def test_newest_post_without_front_matter_counts_from_its_day(tmp_path: Path) -> None:
    path = tmp_path / "_posts" / "2026-06-15-BARE.md"
    path.parent.mkdir(parents=True)
    path.write_text("no front matter", encoding="utf-8")
    (tmp_path / "_posts" / "not-a-post.md").write_text("x", encoding="utf-8")
    post = check(tmp_path, NOW).newest_post
    assert post is not None and post["date"] == "2026-06-15T00:00:00+08:00"


def test_posts_per_beijing_day(tmp_path: Path) -> None:
    write_post(tmp_path, NOW - HOUR, "A")  # 2026-06-15 in Beijing
    write_post(tmp_path, NOW - 2 * HOUR, "B")
    write_post(tmp_path, NOW - 13 * DAY, "C")  # the first of the 14 days
    write_post(tmp_path, NOW - 20 * DAY, "D", folder="old_post")  # before them
    # 20:00 UTC on the 14th is 04:00 on the 15th in Beijing: its posts count on the 15th.
    write_runs(
        tmp_path,
        run_line(dt.datetime(2026, 6, 14, 15, 0, tzinfo=dt.UTC), new=4),
        run_line(dt.datetime(2026, 6, 14, 20, 0, tzinfo=dt.UTC), new=2, posts={"new": 2, "updated": 1}),
        run_line(NOW - MIN, new=1),
    )
    per_day = check(tmp_path, NOW).per_day
    assert [row["day"] for row in per_day] == [f"2026-06-{d:02d}" for d in range(2, 16)]
    by_day = {row["day"]: row for row in per_day}
    assert by_day["2026-06-15"] == {"day": "2026-06-15", "dated": 2, "new": 3, "updated": 1}
    assert by_day["2026-06-14"] == {"day": "2026-06-14", "dated": 0, "new": 4, "updated": 0}
    assert by_day["2026-06-02"]["dated"] == 1
    assert sum(row["dated"] for row in per_day) == 3


def test_failures_waiting_for_a_retry(tmp_path: Path) -> None:
    write_runs(tmp_path, run_line(NOW - MIN))
    assert check(tmp_path, NOW).retry == {"count": 0, "urls": []}
    write_retry(tmp_path, *(f"http://site.example/{n}.html" for n in range(12)))
    retry = check(tmp_path, NOW).retry
    assert retry["count"] == 12 and len(retry["urls"]) == 10
    (tmp_path / ".archiver" / "retry.json").write_text("{torn", encoding="utf-8")
    assert check(tmp_path, NOW).retry["error"].startswith("unreadable")


def test_reasons_worst_first(tmp_path: Path) -> None:
    write_post(tmp_path, NOW - 2 * DAY, "P1")
    write_runs(tmp_path, run_line(NOW - 3 * HOUR), run_line(NOW - MIN, "pages_failed", failed=1))
    result = check(tmp_path, NOW, max_age=HOUR, max_quiet=DAY)
    assert result.level is Level.CRITICAL
    assert result.reasons[0].startswith("last successful run")
    assert sorted(result.reasons[1:]) == [
        "last run pages_failed 1 min ago: 1 pages failed",
        "no new post for 2 d (max 1 d)",
    ]


def test_as_dict_is_json(archive: Path) -> None:
    data = json.loads(json.dumps(check(archive, NOW, max_age=HOUR).as_dict()))
    assert data["status"] == "OK" and data["code"] == 0
    assert data["thresholds"] == {"max_age": 3600.0, "max_quiet": None}
    assert set(data) >= {"last_run", "last_success", "runs_24h", "newest_post", "per_day", "retry", "site_changed"}


# --- reading from the end -----------------------------------------------------------------------


def test_old_runs_are_not_read_once_everything_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A year of runs: only the recent end of the file is read when the last success is recent."""
    old = [json.dumps(run_line(NOW - 300 * DAY + n * MIN)) for n in range(20000)]
    recent = [json.dumps(run_line(NOW - (100 - n) * MIN)) for n in range(100)]
    path = write_runs(tmp_path, *old, *recent)
    read = 0
    original = jsonlines.parse_line

    def counting(line: bytes) -> dict[str, object] | None:
        nonlocal read
        read += 1
        return original(line)

    monkeypatch.setattr(jsonlines, "parse_line", counting)
    result = check(tmp_path, NOW)
    assert result.runs_24h == {"ok": 100}
    assert read < 1000 < len(read_runs(path))

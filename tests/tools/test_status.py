"""``archiver status``: the plugin status line, the report, ``--json``, exit codes and usage errors."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from archiver.cli import main
from archiver.store.health import check
from archiver.tools.status import chart, render
from tests.archives import FINDING, locked_line, run_line, write_post, write_retry, write_runs
from tests.crawlrun import run_archiver

MIN = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "out"
    t = now()
    for n in range(6):
        write_post(root, t - n * 5 * HOUR - 10 * MIN, f"P{n}", written=t - n * 5 * HOUR - 9 * MIN)
    write_runs(root, run_line(t - 10 * MIN, new=2), run_line(t - 3 * MIN, new=1))
    return root


def status(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["status", *args])
    return code, capsys.readouterr().out


def test_ok_status_line_and_report(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = status(capsys, str(archive), "--max-age", "30m", "--max-quiet", "12h")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("ARCHIVER OK - last run ok 3 min ago (1 new posts), newest post 10 min old | ")
    # The archive was written a moment ago: a second may have passed since.
    assert re.search(r" last_success_age=18[0-9]s;;1800;0 ", lines[0]), lines[0]
    assert re.search(r" newest_post_age=60[0-9]s;43200;;0 ", lines[0]), lines[0]
    assert "new_posts=1;;;0" in lines[0]
    assert lines[1].startswith("last run:        ok, ended ")
    assert "runs, last 24 h: 2 ok" in out
    assert "archive:         6 posts (6 in _posts/, 0 in old_post/)" in out
    assert "waiting retry:   0 pages" in out
    assert "site changes:    none in the last 14 days" in out
    assert "last success:" not in out  # the last run is the last success
    rows = [line for line in lines if line.startswith("  20")]
    assert len(rows) == 14


# The lines are made when the test runs (collection may be minutes earlier): a function of now.
CASES = {
    "stale": (
        lambda t: [run_line(t - 2 * HOUR)],
        ["--max-age", "30m"],
        2,
        "ARCHIVER CRITICAL - last successful run 2 h ago",
    ),
    "quiet": (
        lambda t: [run_line(t - MIN)],
        ["--max-quiet", "1h"],
        1,
        "ARCHIVER WARNING - no new post for 5 h (max 1 h)",
    ),
    "site_changed": (
        lambda t: [run_line(t - MIN, "site_changed", site_changed=[FINDING])],
        [],
        2,
        "ARCHIVER CRITICAL - last run site_changed 1 min ago: post pages without a title (26 of 34 pages)",
    ),
    "pages_failed": (
        lambda t: [run_line(t - MIN, "pages_failed", failed=3)],
        [],
        1,
        "ARCHIVER WARNING - last run pages_failed",
    ),
    "error": (lambda t: [run_line(t - MIN, "error")], [], 2, "ARCHIVER CRITICAL - last run error"),
    "locked": (lambda t: [locked_line(t - MIN)], [], 3, "ARCHIVER UNKNOWN - no crawl run recorded in"),
}


@pytest.mark.parametrize("case", CASES)
def test_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    records, args, code, first = CASES[case]
    t = now()
    write_post(tmp_path, t - 5 * HOUR, "P1")
    write_runs(tmp_path, *records(t))
    got, out = status(capsys, str(tmp_path), *args)
    assert (got, out.splitlines()[0][: len(first)]) == (code, first)


def test_missing_folder_is_unknown_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = status(capsys, str(tmp_path / "nowhere"))
    assert code == 3
    assert out == f"ARCHIVER UNKNOWN - no archive folder at {tmp_path / 'nowhere'}\n"


def test_folder_without_runs_is_unknown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = status(capsys, str(tmp_path))
    assert code == 3
    assert out.startswith("ARCHIVER UNKNOWN - no run recorded: ")


@pytest.mark.parametrize("args", [["--max-age", "30x"], ["--max-quiet", "soon"], [], ["--no-such-option"]])
def test_usage_errors_are_unknown(archive: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["status", *([str(archive)] if args else []), *args])
    assert stop.value.code == 3
    captured = capsys.readouterr()
    assert captured.out.startswith("ARCHIVER UNKNOWN - ")
    assert "usage: archiver status" in captured.err
    if args[:1] == ["--max-age"]:
        assert "'30x' is not a duration" in captured.out


def test_json_shape(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_retry(archive, "http://site.example/c/1.html")
    code, out = status(capsys, str(archive), "--json", "--max-age", "1h")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {
        "status", "code", "summary", "reasons", "output", "now", "thresholds", "last_run", "last_attempt",
        "last_success", "last_rotate", "runs_24h", "newest_post", "posts", "per_day", "retry", "site_changed",
    }  # fmt: skip
    assert (data["status"], data["code"], data["reasons"]) == ("OK", 0, [])
    assert data["thresholds"] == {"max_age": 3600.0, "max_quiet": None}
    assert data["last_run"]["posts"]["new"] == 1 and data["last_run"]["age_seconds"] >= 180
    assert data["runs_24h"] == {"ok": 2}
    assert data["newest_post"]["path"].startswith("_posts/") and data["newest_post"]["written"]
    assert len(data["per_day"]) == 14 and set(data["per_day"][0]) == {"day", "dated", "new", "updated"}
    assert data["retry"] == {"count": 1, "urls": ["http://site.example/c/1.html"]}
    assert data["site_changed"] is None


def test_json_of_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = status(capsys, str(tmp_path / "none"), "--json")
    assert code == 3
    assert json.loads(out)["status"] == "UNKNOWN"


def test_report_shows_site_changes_locks_and_retries(tmp_path: Path) -> None:
    t = now()
    write_post(tmp_path, t - HOUR, "P1")
    write_runs(
        tmp_path,
        run_line(t - 2 * HOUR),
        run_line(t - 20 * MIN, "site_changed", site_changed=[FINDING]),
        locked_line(t - 5 * MIN),
    )
    write_retry(tmp_path, "http://site.example/x.html")
    text = render(check(tmp_path))
    assert "last success:    ok, ended " in text
    assert "last attempt:    locked 5 min ago: another run holds the lock (pid 4141)" in text
    assert "runs, last 24 h: 1 locked, 2 ok" not in text  # site_changed counted by its own status
    assert "runs, last 24 h: 1 locked, 1 ok, 1 site_changed" in text
    assert "post pages without a title (26 of 34 pages), e.g. http://finews.example/a/1.html" in text, text
    assert "waiting retry:   1 pages, e.g. http://site.example/x.html" in text


def test_chart_bars_scale_to_the_busiest_day() -> None:
    rows = [{"day": f"2026-06-{d:02d}", "dated": d * 3, "new": d, "updated": 0} for d in range(1, 15)]
    lines = chart(rows)
    assert lines[-1].count("█") == 24  # the busiest day fills the bar
    assert 0 < lines[3].count("█") + lines[3].count("▋") <= 2
    assert chart([{"day": "2026-06-01", "dated": 0, "new": 0, "updated": 0}])[-1].split() == [
        "2026-06-01",
        "0",
        "0",
        "0",
    ]


def test_status_of_a_demo_crawl(tmp_path: Path) -> None:
    """The command as cron and a plugin run it, on an archive a real crawl wrote."""
    out = tmp_path / "demo"
    assert run_archiver("demo", "--output", str(out)).returncode == 0
    done = run_archiver("status", str(out), "--max-age", "10m")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ARCHIVER OK - last run ok ")
    assert "archive:         30 posts (30 in _posts/, 0 in old_post/)" in done.stdout
    quiet = run_archiver("status", str(out), "--max-quiet", "2d", "--json")
    assert quiet.returncode == 1
    assert json.loads(quiet.stdout)["reasons"][0].startswith("no new post for ")  # the demo's posts are old


@pytest.mark.parametrize("newline", ["", "\n"])
def test_a_torn_last_line_is_unknown_not_the_run_before_it(
    archive: Path, capsys: pytest.CaptureFixture[str], newline: str
) -> None:
    # The newest run's line cut short (its status among the lost bytes): the ok before it must not speak for it.
    runs = archive / ".archiver" / "runs.jsonl"
    with runs.open("a", encoding="utf-8") as handle:
        handle.write('{"end": "2026-12-02T03:00:00+00:00", "status": "site_cha' + newline)
    code, out = status(capsys, str(archive))
    assert code == 3
    assert "is not a whole record: the newest run is unknown" in out
    # The next run's line starts on its own line: the file is whole again at its end.
    with runs.open("a", encoding="utf-8") as handle:
        handle.write("\n" + json.dumps(json.loads(runs.read_text().splitlines()[1])) + "\n")
    assert status(capsys, str(archive))[0] == 0

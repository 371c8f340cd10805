"""The archive's health, read from its files alone: what ``archiver status`` and the quiet monitor report.

``check(root, now, max_age=..., max_quiet=...)`` returns a ``Health``: the last run and the last
successful run (from ``.archiver/runs.jsonl``), runs of the last 24 hours by status, the newest
archived post (its day from the file name, its time from the front matter of that day's files,
when its file was written from one ``stat``), posts per Beijing day over the last 14 days (by the
posts' own dates, from file names; and the posts the runs of that day wrote, from runs.jsonl),
the failures waiting for a retry (``.archiver/retry.json``) and the latest site-change findings.
Nothing but file names is read for the whole archive, so 100,000 posts cost one directory
listing per folder.

The verdict follows the monitoring-plugin convention (Nagios, Icinga): 0 OK, 1 WARNING,
2 CRITICAL, 3 UNKNOWN, the worst of:

- no archive folder, no runs.jsonl or no crawl run in it: UNKNOWN; so is a last line of
  runs.jsonl that is not a whole record (a write cut short: the newest run is unknown);
- the last crawl run's status: ``site_changed`` or ``error`` CRITICAL, ``pages_failed`` WARNING,
  any other status that is not ``ok`` WARNING; ``locked`` lines are attempts that did not run
  and never decide (a lock held for long shows as an old last run: ``max_age`` catches it);
- ``max_age``: no ``ok`` run ended within it: CRITICAL;
- ``max_quiet``: the newest archived post is dated longer ago than it: WARNING (the site may
  just be quiet; ``max_age`` is what says the archive stopped);
- the last ``archiver rotate`` left conflicts: WARNING.

runs.jsonl is read from its end, a block at a time, until everything is found: the last lines
of a year of runs cost what the last day's do. Lines that do not parse are skipped, as
``runlog.read_runs`` skips them.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archiver.format import dates
from archiver.store.index import POST_FOLDERS, iter_post_files
from archiver.store.jsonlines import last_line_torn, lines_newest_first
from archiver.store.runlog import RUNS_FILE
from archiver.store.statedir import STATE_FOLDER

RETRY_FILE = "retry.json"  # as archiver.crawl.failures writes it
DAYS = 14  # posts per day over this many Beijing days
RECENT = dt.timedelta(hours=24)  # runs counted by status
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.I)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# What status shows of a run's line (crawl, locked attempt or rotation); errors stay in runs.jsonl.
_RUN_KEYS = (
    "status", "start", "end", "duration", "pages", "not_modified", "failed", "posts", "error_count", "dropped",
    "moved", "conflicts", "error", "pid", "window",
)  # fmt: skip
_DATE_LINE = re.compile(r"^date:\s*[\"']?([^\"'\r\n]+)", re.M)


class Level(enum.IntEnum):
    """Monitoring-plugin exit codes."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


def parse_duration(text: str) -> dt.timedelta:
    """``90s``, ``30m``, ``12h``, ``2d``, ``1w`` or sums of them (``1h30m``); a bare number is seconds."""
    value = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        return dt.timedelta(seconds=float(value))
    parts = _DURATION.findall(value)
    if not value or not parts or _DURATION.sub("", value).strip():
        raise ValueError(f"{text!r} is not a duration: use e.g. 90s, 30m, 12h, 2d or 1h30m")
    return dt.timedelta(seconds=sum(float(n) * _UNITS[unit.lower()] for n, unit in parts))


def ago(delta: dt.timedelta) -> str:
    """A short human age: ``45 s``, ``3 min``, ``2.5 h``, ``4 d``."""
    seconds = max(0.0, delta.total_seconds())
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h".replace(".0 h", " h")
    days = seconds / 86400
    return f"{days:.1f} d".replace(".0 d", " d") if days < 10 else f"{days:.0f} d"


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def run_time(record: dict[str, Any]) -> dt.datetime | None:
    """When a run ended (a locked attempt has only its start)."""
    return _time(record.get("end")) or _time(record.get("start"))


def is_crawl(record: dict[str, Any]) -> bool:
    return record.get("command") in (None, "crawl")


@dataclass
class Health:
    root: Path
    now: dt.datetime
    flags: list[tuple[Level, str]] = field(default_factory=list)  # why the level is not OK
    max_age: dt.timedelta | None = None
    max_quiet: dt.timedelta | None = None
    last_run: dict[str, Any] | None = None
    last_attempt: dict[str, Any] | None = None  # the last crawl line, a locked one included
    last_success: dict[str, Any] | None = None
    last_rotate: dict[str, Any] | None = None
    runs_24h: dict[str, int] = field(default_factory=dict)
    newest_post: dict[str, Any] | None = None
    posts: dict[str, int] = field(default_factory=dict)  # per folder
    per_day: list[dict[str, Any]] = field(default_factory=list)
    retry: dict[str, Any] = field(default_factory=dict)
    site_changed: dict[str, Any] | None = None

    def flag(self, level: Level, reason: str) -> None:
        self.flags.append((level, reason))

    @property
    def level(self) -> Level:
        return max((level for level, _ in self.flags), default=Level.OK)

    @property
    def reasons(self) -> list[str]:
        """Why the level is not OK, worst first."""
        return [reason for _, reason in sorted(self.flags, key=lambda flag: -flag[0])]

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.level.name,
            "code": int(self.level),
            "summary": summary(self),
            "reasons": self.reasons,
            "output": str(self.root),
            "now": self.now.isoformat(timespec="seconds"),
            "thresholds": {
                "max_age": self.max_age.total_seconds() if self.max_age is not None else None,
                "max_quiet": self.max_quiet.total_seconds() if self.max_quiet is not None else None,
            },
            "last_run": self.last_run,
            "last_attempt": self.last_attempt,
            "last_success": self.last_success,
            "last_rotate": self.last_rotate,
            "runs_24h": self.runs_24h,
            "newest_post": self.newest_post,
            "posts": self.posts,
            "per_day": self.per_day,
            "retry": self.retry,
            "site_changed": self.site_changed,
        }


def check(
    root: Path,
    now: dt.datetime | None = None,
    *,
    max_age: dt.timedelta | None = None,
    max_quiet: dt.timedelta | None = None,
) -> Health:
    """The health of the archive at ``root`` (see the module docstring for the verdict)."""
    now = now or dt.datetime.now(dt.UTC)
    health = Health(root=root, now=now, max_age=max_age, max_quiet=max_quiet)
    if not root.is_dir():
        health.flag(Level.UNKNOWN, f"no archive folder at {root}")
        return health
    runs = root / STATE_FOLDER / RUNS_FILE
    written: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
    if runs.is_file():
        written = _read_runs(health, runs)
    health.newest_post, health.posts, by_day = newest_post(root, now)
    _per_day(health, by_day, *written)
    health.retry = _retry(root / STATE_FOLDER / RETRY_FILE)
    if not runs.is_file():
        health.flag(Level.UNKNOWN, f"no run recorded: {runs} does not exist")
    elif health.last_run is None:
        health.flag(Level.UNKNOWN, f"no crawl run recorded in {runs}")
    else:
        _judge(health)
    if runs.is_file() and last_line_torn(runs):
        # The newest run's line is what a monitor must judge; cut short, it tells nothing, and the
        # line before it (an older run's ok, say) must not speak for it.
        health.flag(Level.UNKNOWN, f"the last line of {runs} is not a whole record: the newest run is unknown")
    return health


def _read_runs(health: Health, path: Path) -> tuple[Counter[str], Counter[str]]:
    """Fills in the runs; returns the posts written (new, updated) per Beijing day."""
    now = health.now
    horizon = min(now - RECENT, _day_start(_beijing_day(now) - dt.timedelta(days=DAYS - 1)))
    new_by_day: Counter[str] = Counter()
    updated_by_day: Counter[str] = Counter()
    recent: Counter[str] = Counter()
    for record in lines_newest_first(path):
        when = run_time(record)
        crawl = is_crawl(record)
        status = str(record.get("status"))
        if crawl:
            health.last_attempt = health.last_attempt or _run(record, now)
            if status != "locked" and health.last_run is None:
                health.last_run = _run(record, now)
            if status == "ok" and health.last_success is None:
                health.last_success = _run(record, now)
            if health.site_changed is None and record.get("site_changed"):
                health.site_changed = {
                    "end": record.get("end") or record.get("start"),
                    "findings": list(record.get("site_changed") or []),
                }
        elif record.get("command") == "rotate" and health.last_rotate is None:
            health.last_rotate = _run(record, now)
        if when is not None and when >= horizon:
            if now - when <= RECENT and (crawl or status != "ok"):
                recent[status if crawl else f"{record.get('command')}:{status}"] += 1
            posts = record.get("posts")
            if isinstance(posts, dict):
                day = _beijing_day(when).isoformat()
                new_by_day[day] += _int(posts.get("new"))
                updated_by_day[day] += _int(posts.get("updated"))
        elif when is not None and health.last_success is not None:
            # Older than anything counted: only a last success was still looked for (site changes
            # and rotations are reported when newer than the 14 days, or met before this line).
            break
    health.runs_24h = dict(sorted(recent.items()))
    return new_by_day, updated_by_day


def _run(record: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """A run's line as status shows it: the counts, its time and its age."""
    run = {key: record[key] for key in _RUN_KEYS if key in record}
    when = run_time(record)
    run["age_seconds"] = round((now - when).total_seconds()) if when else None
    if record.get("site_changed"):
        run["site_changed"] = record["site_changed"]
    return run


def newest_post(root: Path, now: dt.datetime) -> tuple[dict[str, Any] | None, dict[str, int], Counter[dt.date]]:
    """The newest archived post, the number of posts per folder, and the posts per day (file names only)."""
    by_day: Counter[dt.date] = Counter()
    newest_day = dt.date.min
    newest: list[str] = []
    in_posts = 0
    posts_prefix = f"{root / POST_FOLDERS[0]}{os.sep}"
    for entry in iter_post_files(root):
        day = entry.day
        by_day[day] += 1
        path = str(entry._path)  # the scan's own string: a Path per file would cost more than the scan
        if path.startswith(posts_prefix):
            in_posts += 1
        if day > newest_day:
            newest_day, newest = day, [path]
        elif day == newest_day:
            newest.append(path)
    total = sum(by_day.values())
    per_folder = {POST_FOLDERS[0]: in_posts, POST_FOLDERS[1]: total - in_posts, "total": total}
    if not newest:
        return None, per_folder, by_day
    # The file name gives the day; the front matter of that day's files gives the time.
    best: tuple[dt.datetime, str] | None = None
    for path in newest:
        when = _front_matter_date(path) or dt.datetime.combine(newest_day, dt.time(), dates.BEIJING)
        if best is None or (when, path) > best:
            best = (when, path)
    assert best is not None
    when, path = best
    try:
        written: dt.datetime | None = dt.datetime.fromtimestamp(os.stat(path).st_mtime, dt.UTC)
    except OSError:
        written = None
    post = {
        "path": os.path.relpath(path, root),
        "day": newest_day.isoformat(),
        "date": when.isoformat(),
        "age_seconds": round((now - when).total_seconds()),
        "written": written.isoformat(timespec="seconds") if written else None,
        "written_age_seconds": round((now - written).total_seconds()) if written else None,
    }
    return post, per_folder, by_day


def _front_matter_date(path: str) -> dt.datetime | None:
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096).decode("utf-8", errors="replace")
    except OSError:
        return None
    if not head.startswith("---"):
        return None
    front = head.split("\n---", 1)[0]
    match = _DATE_LINE.search(front)
    if match is None:
        return None
    try:
        return dates.parse_time(match.group(1).strip())
    except dates.DateError:
        return None


def _per_day(health: Health, by_day: Counter[dt.date], new_by_day: Counter[str], updated_by_day: Counter[str]) -> None:
    today = _beijing_day(health.now)
    for offset in range(DAYS - 1, -1, -1):
        day = today - dt.timedelta(days=offset)
        key = day.isoformat()
        health.per_day.append(
            {
                "day": key,
                "dated": by_day.get(day, 0),
                "new": new_by_day.get(key, 0),
                "updated": updated_by_day.get(key, 0),
            }
        )


def _retry(path: Path) -> dict[str, Any]:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"count": 0, "urls": []}
    except (OSError, ValueError) as exc:
        return {"count": 0, "urls": [], "error": f"unreadable: {exc}"}
    if not isinstance(entries, list):
        return {"count": 0, "urls": [], "error": "unreadable: not a list"}
    urls = [str(e.get("url")) for e in entries if isinstance(e, dict)]
    return {"count": len(urls), "urls": urls[:10]}


def _judge(health: Health) -> None:
    last = health.last_run
    assert last is not None
    status = last.get("status")
    age = ago(dt.timedelta(seconds=last.get("age_seconds") or 0))
    if status == "site_changed":
        findings = [f for f in last.get("site_changed") or [] if isinstance(f, dict)]
        what = describe(findings[0]) if findings else "the site changed"
        more = f", and {len(findings) - 1} more kinds" if len(findings) > 1 else ""
        health.flag(Level.CRITICAL, f"last run site_changed {age} ago: {what}{more}")
    elif status == "error":
        health.flag(Level.CRITICAL, f"last run error {age} ago: it stopped with an error")
    elif status == "pages_failed":
        health.flag(Level.WARNING, f"last run pages_failed {age} ago: {last.get('failed', 0)} pages failed")
    elif status != "ok":
        health.flag(Level.WARNING, f"last run ended with status {status!r} {age} ago")
    if health.max_age is not None:
        success = health.last_success
        if success is None:
            health.flag(Level.CRITICAL, "no successful run recorded")
        elif (success.get("age_seconds") or 0) > health.max_age.total_seconds():
            seconds = dt.timedelta(seconds=success["age_seconds"])
            health.flag(Level.CRITICAL, f"last successful run {ago(seconds)} ago (max {ago(health.max_age)})")
    if health.max_quiet is not None:
        post = health.newest_post
        if post is None:
            health.flag(Level.WARNING, "no post archived")
        elif post["age_seconds"] > health.max_quiet.total_seconds():
            seconds = dt.timedelta(seconds=post["age_seconds"])
            health.flag(Level.WARNING, f"no new post for {ago(seconds)} (max {ago(health.max_quiet)})")
    rotate = health.last_rotate
    if rotate and rotate.get("status") not in ("ok", None):
        health.flag(Level.WARNING, f"last rotate left {len(rotate.get('conflicts') or [])} conflicts")


def describe(finding: dict[str, Any]) -> str:
    """A site-change finding in a few words: ``post pages have no title (26 of 34 pages)``."""
    text = str(finding.get("description") or f"{finding.get('page_class', '?')} pages: {finding.get('finding', '?')}")
    if finding.get("pages") is not None:
        text += f" ({finding['pages']} of {finding.get('of', '?')} pages)"
    return text


def summary(health: Health) -> str:
    """The plugin status line's text after ``ARCHIVER <LEVEL> - ``."""
    parts = list(health.reasons)
    last = health.last_run
    if last is not None and not any(r.startswith("last run ") for r in parts):
        posts = last.get("posts") or {}
        age = ago(dt.timedelta(seconds=last.get("age_seconds") or 0))
        parts.append(f"last run {last.get('status')} {age} ago ({_int(posts.get('new'))} new posts)")
    post = health.newest_post
    if post is not None and not any(r.startswith("no new post") for r in parts):
        parts.append(f"newest post {ago(dt.timedelta(seconds=post['age_seconds']))} old")
    if health.retry.get("count"):
        parts.append(f"{health.retry['count']} pages waiting for a retry")
    return ", ".join(parts) or "no runs"


def _beijing_day(when: dt.datetime) -> dt.date:
    return when.astimezone(dates.BEIJING).date()


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dates.BEIJING)


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0

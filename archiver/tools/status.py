"""``archiver status`` as a person and a monitoring plugin read it: the text of an ``archiver.store.health.Health``.

The first line is the plugin status line (``ARCHIVER OK - ...``) with performance data after
``|``, as Nagios and Icinga parse it; the lines after it are the plugin's long output: the last
run, the last success, runs of the last 24 hours, the newest post, retries, site changes and a
bar chart of posts per Beijing day over the last 14 days.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from archiver.store.health import Health, ago, describe, summary

_BAR = 24  # width of the longest bar
_EIGHTHS = " ▏▎▍▌▋▊▉"


def status_line(health: Health) -> str:
    """``ARCHIVER <LEVEL> - <summary> | <perfdata>``."""
    return f"ARCHIVER {health.level.name} - {summary(health)}{perfdata(health)}"


def perfdata(health: Health) -> str:
    """Performance data: ages in seconds with the thresholds, counts of the last run."""
    values: list[str] = []
    if health.last_run is None and not health.posts:
        return ""
    success = health.last_success
    if success is not None and success.get("age_seconds") is not None:
        crit = f"{health.max_age.total_seconds():.0f}" if health.max_age else ""
        values.append(f"last_success_age={success['age_seconds']}s;;{crit};0")
    post = health.newest_post
    if post is not None:
        warn = f"{health.max_quiet.total_seconds():.0f}" if health.max_quiet else ""
        values.append(f"newest_post_age={max(0, post['age_seconds'])}s;{warn};;0")
    last = health.last_run
    if last is not None:
        posts = last.get("posts") or {}
        values.append(f"new_posts={_count(posts.get('new'))};;;0")
        values.append(f"failed_pages={_count(last.get('failed'))};;;0")
    values.append(f"retry={health.retry.get('count', 0)};;;0")
    values.append(f"posts={health.posts.get('total', 0)};;;0")
    return " | " + " ".join(values) if values else ""


def render(health: Health) -> str:
    """The whole text report."""
    lines = [status_line(health)]
    if health.last_run is None and not health.posts:
        return "\n".join(lines) + "\n"
    lines.append(f"last run:        {_run(health.last_run)}")
    if health.last_success is not health.last_run and health.last_success != health.last_run:
        lines.append(f"last success:    {_run(health.last_success)}")
    attempt = health.last_attempt
    if attempt is not None and attempt.get("status") == "locked":
        lines.append(f"last attempt:    locked {_age(attempt)} ago: {attempt.get('error', '')}".rstrip())
    recent = ", ".join(f"{n} {status}" for status, n in health.runs_24h.items()) or "none"
    lines.append(f"runs, last 24 h: {recent}")
    lines.append(f"newest post:     {_post(health.newest_post)}")
    posts = health.posts
    folders = ", ".join(f"{posts[k]} in {k}/" for k in posts if k != "total")
    lines.append(f"archive:         {posts.get('total', 0)} posts ({folders})")
    retry = health.retry
    waiting = f"{retry.get('count', 0)} pages"
    if retry.get("urls"):
        waiting += f", e.g. {retry['urls'][0]}"
    if retry.get("error"):
        waiting += f" (retry.json {retry['error']})"
    lines.append(f"waiting retry:   {waiting}")
    lines.append(f"site changes:    {_changes(health.site_changed, health.now)}")
    if health.last_rotate is not None:
        lines.append(f"last rotate:     {_rotate(health.last_rotate)}")
    lines.append("")
    lines.extend(chart(health.per_day))
    return "\n".join(lines) + "\n"


def render_json(health: Health) -> str:
    return json.dumps(health.as_dict(), ensure_ascii=False, indent=1, default=str) + "\n"


def chart(per_day: list[dict[str, Any]]) -> list[str]:
    """Posts per Beijing day: a bar of the posts dated that day, and the posts runs wrote that day."""
    lines = [
        "posts per day (Beijing days): 'dated' = archived posts of that date (file names),",
        "'new'/'upd' = post files the runs of that day wrote new/rewrote (runs.jsonl)",
        f"  {'day':<10} {'dated':>6} {'':<{_BAR}} {'new':>5} {'upd':>5}",
    ]
    top = max((row["dated"] for row in per_day), default=0)
    for row in per_day:
        bar = _bar(row["dated"], top)
        lines.append(f"  {row['day']:<10} {row['dated']:>6} {bar:<{_BAR}} {row['new']:>5} {row['updated']:>5}")
    return lines


def _bar(value: int, top: int) -> str:
    if not top or not value:
        return ""
    eighths = max(1, round(value * _BAR * 8 / top))
    return "█" * (eighths // 8) + (_EIGHTHS[eighths % 8] if eighths % 8 else "")


def _age(run: dict[str, Any]) -> str:
    seconds = run.get("age_seconds")
    return ago(dt.timedelta(seconds=seconds)) if seconds is not None else "?"


def _run(run: dict[str, Any] | None) -> str:
    if run is None:
        return "none recorded"
    posts = run.get("posts") or {}
    text = f"{run.get('status')}, ended {_when(run.get('end') or run.get('start'))} ({_age(run)} ago)"
    if run.get("duration") is not None:
        text += f", {run['duration']:.1f} s"
    text += (
        f": {_count(run.get('pages'))} pages ({_count(run.get('not_modified'))} not modified, "
        f"{_count(run.get('failed'))} failed); posts {_count(posts.get('new'))} new, "
        f"{_count(posts.get('updated'))} updated, {_count(posts.get('unchanged'))} unchanged, "
        f"{_count(posts.get('skipped_known'))} known"
    )
    if run.get("error_count"):
        text += f"; {run['error_count']} errors"
    return text


def _post(post: dict[str, Any] | None) -> str:
    if post is None:
        return "none"
    text = f"{_when(post['date'])} ({ago(dt.timedelta(seconds=post['age_seconds']))} old) {post['path']}"
    if post.get("written"):
        text += f", written {_when(post['written'])} ({ago(dt.timedelta(seconds=post['written_age_seconds']))} ago)"
    return text


def _changes(changed: dict[str, Any] | None, now: dt.datetime) -> str:
    if not changed:
        return "none in the last 14 days"
    findings = changed.get("findings") or []
    when = changed.get("end")
    parsed = _parse(when)
    age = f" ({ago(now - parsed)} ago)" if parsed else ""
    described = "; ".join(_finding(f) for f in findings[:5])
    more = f"; and {len(findings) - 5} more" if len(findings) > 5 else ""
    return f"run of {_when(when)}{age}: {described}{more}"


def _finding(finding: Any) -> str:
    if not isinstance(finding, dict):
        return str(finding)
    example = f", e.g. {finding['example']}" if finding.get("example") else ""
    return describe(finding) + example


def _rotate(run: dict[str, Any]) -> str:
    conflicts = run.get("conflicts") or []
    return f"{run.get('status')} {_age(run)} ago: {_count(run.get('moved'))} moved, {len(conflicts)} conflicts"


def _parse(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _when(value: Any) -> str:
    """An ISO time as ``YYYY-MM-DD HH:MM +ZZZZ``, in its own offset."""
    parsed = _parse(value)
    return parsed.strftime("%Y-%m-%d %H:%M %z") if parsed else str(value)


def _count(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0

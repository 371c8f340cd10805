"""The run log: one JSON line per run appended to ``<output>/.archiver/runs.jsonl``.

What a cron operator needs to see without reading logs: when the run started
and ended, how many pages it fetched and how many were answered 304, what
happened to the posts (``new``, ``updated``, ``unchanged``, ``skipped_known``),
what was dropped and why, what failed, and the URLs of the errors. A run that
found the lock taken leaves a short ``"status": "locked"`` line.

Each line is appended with one ``write`` on an ``O_APPEND`` descriptor, so a
killed run leaves either its whole line or none; readers (``read_runs``) skip
a line that does not parse, should a disk ever tear one.

The line itself is built by ``archiver.extensions.runreport.RunReport`` from the
crawl's stats; this module only appends and reads lines, and imports no Scrapy.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from archiver.store.jsonlines import parse_line

RUNS_FILE = "runs.jsonl"
MAX_ERRORS = 100  # per run; the count of all of them is kept too
DROPPED_PREFIX = "archiver/items/dropped/"
# Site changes (archiver.crawl.sitehealth writes them): pages checked and found changed, per page class.
SITE_CHECKED_PREFIX = "archiver/site/checked/"
SITE_CHANGED_PREFIX = "archiver/site/changed/"
SITE_CHANGED_KINDS = "archiver/site/changed"
SITE_EXAMPLE_PREFIX = "archiver/site/example/"
SITE_DESCRIPTION_PREFIX = "archiver/site/description/"


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


def append_line(path: Path, record: dict[str, Any]) -> None:
    """Append ``record`` as one JSON line, in one write."""
    line = json.dumps(record, ensure_ascii=False, sort_keys=True, default=str) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_NOFOLLOW: a symlink put in the state folder must not make a run write outside the archive.
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = "\n" + line  # a torn last line stays alone on its line
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def read_runs(path: Path) -> list[dict[str, Any]]:
    """The records of ``runs.jsonl``, oldest first; lines that do not parse are skipped."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    # Split at newlines only: a record's text may hold U+2028 and the like, which str.splitlines breaks at.
    return [record for line in data.split(b"\n") if (record := parse_line(line)) is not None]


def record_locked(state: Path, error: Exception) -> None:
    """A run that could not start because another holds the lock leaves a one-line trace."""
    if not state.is_dir():
        return
    record = {"start": now_iso(), "status": "locked", "pid": os.getpid(), "error": str(error)}
    append_line(state / RUNS_FILE, record)


def record_lost_workers(state: Path, start: str, lost: dict[int, int]) -> None:
    """A distributed run whose workers (index: exit code) died before their run reports: an error line.

    A worker killed by a signal writes nothing, so without this the last line of ``runs.jsonl``
    could be a surviving worker's ``ok`` and ``archiver status`` would say OK about a run that
    left posts out.
    """
    which = ", ".join(f"worker {index} (exit {code})" for index, code in sorted(lost.items()))
    record = {
        "start": start,
        "end": now_iso(),
        "status": "error",
        "pid": os.getpid(),
        "error": f"{which} ended before its run report: the run did not finish; the next run completes it",
    }
    append_line(state / RUNS_FILE, record)


def status_of(stats: dict[str, Any]) -> str:
    """``ok``, ``pages_failed``, ``site_changed`` or ``error``: the meaning of exit codes 0, 2, 4 and 1."""
    if stats.get("finish_reason") not in ("finished", None):
        return "error"
    if site_changes(stats):
        return "site_changed"
    if stats.get("archiver/pages/failed", 0):
        return "pages_failed"
    return "ok"


def site_changes(stats: dict[str, Any]) -> list[dict[str, Any]]:
    """A run's site-change findings, from its stats: one per (page class, finding), most pages first.

    Each: ``page_class``, ``finding``, ``description`` (one sentence), ``pages`` (with the finding),
    ``of`` (pages of the class checked), ``example`` (the first page's URL).
    """
    found = []
    for key, value in stats.items():
        if not key.startswith(SITE_CHANGED_PREFIX) or not value:
            continue
        kind = key.removeprefix(SITE_CHANGED_PREFIX)
        page_class, _, finding = kind.partition("/")
        found.append(
            {
                "page_class": page_class,
                "finding": finding,
                "description": str(stats.get(SITE_DESCRIPTION_PREFIX + kind) or f"{page_class} pages: {finding}"),
                "pages": int(value),
                "of": max(int(stats.get(SITE_CHECKED_PREFIX + page_class, 0) or 0), int(value)),
                "example": str(stats.get(SITE_EXAMPLE_PREFIX + kind) or ""),
            }
        )
    return sorted(found, key=lambda f: (-f["pages"], f["page_class"], f["finding"]))


def site_change_sentence(stats: dict[str, Any]) -> str | None:
    """What a run found changed, in one sentence for a person reading cron's mail; None when nothing."""
    found = site_changes(stats)
    if not found:
        return None
    parts = []
    for f in found:
        phrase = f["description"].removeprefix(f"{f['page_class']} pages ")
        example = f" (e.g. {f['example']})" if f["example"] else ""
        parts.append(f"{f['pages']} of {f['of']} {f['page_class']} pages {phrase}{example}")
    return (
        "the site changed: "
        + "; ".join(parts)
        + "; nothing was archived from them and no archived file was changed — the spider needs updating"
    )


def summarize(stats: dict[str, Any]) -> dict[str, Any]:
    """The counts of a run's report, from its stats."""

    def n(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    return {
        "pages": n("downloader/response_count"),
        "not_modified": n("downloader/response_status_count/304"),
        "requests": n("downloader/request_count"),
        "bytes": n("downloader/response_bytes"),
        "posts": {kind: n(f"archiver/posts/{kind}") for kind in ("new", "updated", "unchanged", "skipped_known")},
        "dropped": {
            key.removeprefix(DROPPED_PREFIX): int(value)
            for key, value in sorted(stats.items())
            if key.startswith(DROPPED_PREFIX)
        },
        "skipped_requests": {
            key.rsplit("/", 1)[-1]: int(value)
            for key, value in sorted(stats.items())
            if key.startswith("archiver/requests/skipped/")
        },
        "filtered": {
            kind: n(f"archiver/posts/{kind}")
            for kind in ("out_of_window", "other_category")
            if n(f"archiver/posts/{kind}")
        },
        "failed": n("archiver/pages/failed"),
    }

"""Archives written for the health tests: runs.jsonl lines in the run report's form, post files, retry lists."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

BEIJING = dt.timezone(dt.timedelta(hours=8))


def iso(when: dt.datetime) -> str:
    return when.isoformat(timespec="seconds")


def run_line(end: dt.datetime, status: str = "ok", *, new: int = 0, failed: int = 0, **extra: Any) -> dict[str, Any]:
    """A crawl's runs.jsonl line as archiver.extensions.runreport writes it."""
    record: dict[str, Any] = {
        "start": iso(end - dt.timedelta(seconds=30)),
        "end": iso(end),
        "duration": 30.0,
        "spider": "finews",
        "status": status,
        "finish_reason": "finished",
        "pages": 40 + new,
        "not_modified": 30,
        "posts": {"new": new, "updated": 0, "unchanged": 5, "skipped_known": 20},
        "dropped": {},
        "failed": failed,
        "errors": [],
        "error_count": failed,
    }
    record.update(extra)
    return record


def locked_line(start: dt.datetime) -> dict[str, Any]:
    return {"start": iso(start), "status": "locked", "pid": 4242, "error": "another run holds the lock (pid 4141)"}


def rotate_line(end: dt.datetime, conflicts: list[str] | None = None) -> dict[str, Any]:
    return {
        "command": "rotate",
        "start": iso(end),
        "end": iso(end),
        "keep_days": 7,
        "moved": 3,
        "finished": 0,
        "kept": 10,
        "conflicts": conflicts or [],
        "status": "error" if conflicts else "ok",
    }


FINDING = {
    "page_class": "post",
    "finding": "no_title",
    "description": "post pages without a title",
    "pages": 26,
    "of": 34,
    "example": "http://finews.example/a/1.html",
}


def write_runs(root: Path, *records: dict[str, Any] | str) -> Path:
    """runs.jsonl with these lines (a string is written as it is: a torn or garbage line)."""
    path = root / ".archiver" / "runs.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False, sort_keys=True) for r in records]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def write_post(
    root: Path, when: dt.datetime, post_id: str, *, folder: str = "_posts", written: dt.datetime | None = None
) -> Path:
    """A post file dated ``when`` (Beijing time in the name and front matter), its mtime ``written``."""
    local = when.astimezone(BEIJING)
    path = root / folder / f"{local.date().isoformat()}-{post_id}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'---\nlayout: post\ntitle: "{post_id}"\ndate: {local:%Y-%m-%d %H:%M:%S} +0800\n'
        f"categories: news\ntags: news\n---\n<p>body</p>",
        encoding="utf-8",
    )
    if written is not None:
        os.utime(path, (written.timestamp(), written.timestamp()))
    return path


def write_retry(root: Path, *urls: str) -> None:
    path = root / ".archiver" / "retry.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = [{"url": url, "callback": "parse", "errback": None, "meta": {}} for url in urls]
    path.write_text(json.dumps(entries), encoding="utf-8")

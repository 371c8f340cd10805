"""Reading a JSON-lines file from its end: the newest records of ``runs.jsonl`` first, without reading the rest.

``archiver status`` wants the last run, the last success and the last two weeks; a year of runs
every five minutes is 100,000 lines. Blocks are read backwards and split at newlines, so what is
read is what is used. Lines that do not parse (a torn last line) or are not objects are skipped,
by ``parse_line``, which ``archiver.store.runlog.read_runs`` uses too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_BLOCK = 1 << 16


def lines_newest_first(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a JSON-lines file from its last line back; lines that do not parse are skipped."""
    with path.open("rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        rest = b""
        while end > 0:
            start = max(0, end - _BLOCK)
            handle.seek(start)
            chunk = handle.read(end - start) + rest
            end = start
            lines = chunk.split(b"\n")
            rest = lines.pop(0) if start > 0 else b""  # maybe the tail of an earlier line
            for line in reversed(lines):
                if record := parse_line(line):
                    yield record
        if rest and (record := parse_line(rest)):
            yield record


def last_line_torn(path: Path) -> bool:
    """Whether the file's last line holds something that is no record (a write cut short, a damaged end)."""
    with path.open("rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, end - _BLOCK))
        tail = handle.read().rstrip(b"\n")
    last = tail.rsplit(b"\n", 1)[-1]
    return bool(last.strip()) and parse_line(last) is None


def parse_line(line: bytes) -> dict[str, Any] | None:
    """One line's record; None for a blank line, one that does not parse, or one that is no object."""
    if not line.strip():
        return None
    try:
        record = json.loads(line.decode("utf-8", errors="replace"))
    except ValueError:
        return None
    return record if isinstance(record, dict) else None

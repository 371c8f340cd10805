"""The archive is its own state: an index of the posts already in the output tree, by post id.

Built from file names alone (``YYYY-MM-DD-<id>.md`` under ``_posts/`` and
``old_post/``), so it costs one directory listing per folder: 100,000 posts
index in a fraction of a second, and no separate database can disagree with
the files or be corrupted by a killed run.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from archiver.post import POST_FILE

POST_FOLDERS = ("_posts", "old_post")


@dataclass(frozen=True)
class Entry:
    post_id: str
    day: dt.date
    path: Path


class ArchiveIndex:
    """Archived posts by id; a post id found twice keeps the newest day (both are reported by ``verify``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.entries: dict[str, Entry] = {}
        self.duplicates: list[Entry] = []

    @classmethod
    def scan(cls, root: Path) -> ArchiveIndex:
        index = cls(root)
        for entry in iter_post_files(root):
            index.add(entry)
        return index

    def add(self, entry: Entry) -> None:
        known = self.entries.get(entry.post_id)
        if known is not None and known.path != entry.path:
            self.duplicates.append(min(known, entry, key=lambda e: (e.day, str(e.path))))
            if known.day > entry.day:
                return
        self.entries[entry.post_id] = entry

    def get(self, post_id: str) -> Entry | None:
        return self.entries.get(post_id)

    def __contains__(self, post_id: object) -> bool:
        return post_id in self.entries

    def __len__(self) -> int:
        return len(self.entries)


def iter_post_files(root: Path) -> Iterator[Entry]:
    for folder in POST_FOLDERS:
        path = root / folder
        if not path.is_dir():
            continue
        with os.scandir(path) as entries:
            for item in entries:
                match = POST_FILE.match(item.name)
                if match is None:
                    continue
                try:
                    day = dt.date.fromisoformat(match.group("day"))
                except ValueError:
                    continue
                yield Entry(match.group("post_id"), day, Path(item.path))

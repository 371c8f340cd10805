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
from pathlib import Path

POST_FOLDERS = ("_posts", "old_post")


class Entry:
    """One archived post file. ``path`` may be given as a string: the scan builds 100,000 of these,
    and a ``Path`` object per file would cost more than the rest of the scan together."""

    __slots__ = ("_path", "day", "post_id")

    def __init__(self, post_id: str, day: dt.date, path: Path | str) -> None:
        self.post_id = post_id
        self.day = day
        self._path = path

    @property
    def path(self) -> Path:
        if not isinstance(self._path, Path):
            self._path = Path(self._path)
        return self._path

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Entry):
            return NotImplemented
        return (self.post_id, self.day, str(self._path)) == (other.post_id, other.day, str(other._path))

    def __hash__(self) -> int:
        return hash((self.post_id, self.day, str(self._path)))

    def __repr__(self) -> str:
        return f"Entry({self.post_id!r}, {self.day!r}, {str(self._path)!r})"


class ArchiveIndex:
    """Archived posts by id; a post id found twice keeps the newest day (both are reported by ``verify``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.entries: dict[str, Entry] = {}
        self.duplicates: list[Entry] = []

    @classmethod
    def scan(cls, root: Path) -> ArchiveIndex:
        index = cls(root)
        entries = index.entries
        for entry in iter_post_files(root):
            if entry.post_id in entries:
                index.add(entry)
            else:
                entries[entry.post_id] = entry
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

    def copy(self) -> ArchiveIndex:
        index = ArchiveIndex(self.root)
        index.entries = dict(self.entries)
        index.duplicates = list(self.duplicates)
        return index


def iter_post_files(root: Path) -> Iterator[Entry]:
    """Post files of ``_posts/`` and ``old_post/``: ``YYYY-MM-DD-<id>.md``, as ``archiver.format.post.POST_FILE`` says.

    String tests instead of the regular expression, and one date object per distinct day: this
    runs once per file of the archive at every start.
    """
    days: dict[str, dt.date | None] = {}
    for folder in POST_FOLDERS:
        path = root / folder
        if not path.is_dir():
            continue
        prefix = f"{path}{os.sep}"
        for name in os.listdir(path):
            if len(name) < 15 or name[10] != "-" or not name.endswith(".md"):
                continue
            post_id = name[11:-3]
            if not (post_id.isascii() and post_id.isalnum()):
                continue
            key = name[:10]
            if key in days:
                day = days[key]
            else:
                day = days[key] = _day(key)
            if day is not None:
                yield Entry(post_id, day, prefix + name)


def _day(text: str) -> dt.date | None:
    if not (text.isascii() and text[4] == "-" and text[7] == "-" and text.replace("-", "").isdigit()):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None

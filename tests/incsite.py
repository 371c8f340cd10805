"""Small finews-style sites for the cron-run tests, with post dates relative to now.

Built with the demo generator (``demo.generate.build_site``): old posts (weeks ago, outside
the recheck window) and young ones (today and yesterday, inside it), so a re-run exercises
both skipping and revalidation. ``edited`` returns the same site with some bodies changed.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from archiver.format.dates import BEIJING
from demo.generate import build_site, synthetic_articles, write_archive
from demo.model import Article

POST_URL = re.compile(r"^/(?:[^/]+/)*\d{4}/\d{2}/\d{2}/[^/]+\.html$")


def beijing_now() -> dt.datetime:
    return dt.datetime.now(BEIJING).replace(tzinfo=None, microsecond=0)


def dated_articles(old: int = 6, young: int = 6, seed: int = 1, *, old_days: int = 20) -> list[Article]:
    """``old`` posts from ``old_days`` days ago onwards (one a day), then ``young`` posts of the last ~30 hours."""
    now = beijing_now()
    articles = []
    for i, article in enumerate(synthetic_articles(old + young, seed)):
        if i < old:
            time = now.replace(hour=12, minute=0, second=i) - dt.timedelta(days=old_days - i)
        else:
            # Young posts: at least 10 minutes old, the oldest of them a little over a day.
            time = now - dt.timedelta(minutes=10 + 300 * (old + young - 1 - i))
        articles.append(replace(article, time=time))
    return articles


def day_of(article: Article) -> dt.date:
    return article.time.date()


def edited(articles: Iterable[Article], codes: set[str], note: str = "（本文已更正）") -> list[Article]:
    """The articles with the bodies of ``codes`` changed (one paragraph more, kramdown-stable)."""
    return [replace(a, body=a.body + f"\n<p>{note}</p>") if a.code in codes else a for a in articles]


def build(articles: list[Article], folder: Path) -> tuple[Path, Path]:
    """``folder/site`` (to serve) and ``folder/expected`` (the perfect archive)."""
    site, expected = folder / "site", folder / "expected"
    build_site(articles, site)
    write_archive(articles, expected)
    return site, expected


def archive_files(root: Path) -> dict[str, bytes]:
    """Visible archive files (posts, old posts, category pages) by relative path."""
    files = {}
    for folder in ("_posts", "old_post", "category"):
        base = root / folder
        if base.is_dir():
            for path in sorted(base.iterdir()):
                if path.is_file() and not path.name.startswith("."):
                    files[f"{folder}/{path.name}"] = path.read_bytes()
    return files


def temp_files(root: Path) -> list[str]:
    """Temporary files anywhere under ``root`` (``.<name>.<host>-<pid>.tmp``)."""
    return sorted(
        os.path.relpath(os.path.join(d, f), root)
        for d, _, names in os.walk(root)
        for f in names
        if f.startswith(".") and f.endswith(".tmp")
    )


def snapshot(root: Path, *, skip: tuple[str, ...] = (".archiver/runs.jsonl", ".archiver/lock")) -> dict[str, tuple]:
    """(inode, size, mtime_ns) of every file under ``root``: equal snapshots mean nothing was written."""
    result = {}
    for d, _, names in os.walk(root):
        for name in names:
            path = os.path.join(d, name)
            rel = os.path.relpath(path, root)
            if rel in skip:
                continue
            st = os.stat(path)
            result[rel] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return result


def full_fetches(server, kind: str) -> int:
    """200 answers the server gave for post pages (``kind="post"``) or share pages (``"share"``)."""
    return sum(
        1
        for r in server.requests
        if r.status == 200
        and ("NewsShare" in r.path if kind == "share" else POST_URL.match(r.path.split("?")[0]) is not None)
    )


def requested(server, fragment: str) -> int:
    return sum(1 for r in server.requests if fragment in r.path)

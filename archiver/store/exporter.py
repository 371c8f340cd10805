"""The exporter: the only code that writes archive files.

Posts go to ``_posts/YYYY-MM-DD-<id>.md`` (or stay in ``old_post/`` once
rotated there) and category pages to ``category/<slug>.html``. Every write is
atomic, and a file whose text would not change is not touched (its bytes and
mtime are kept), so a re-run over an unchanged site writes nothing.

Never degrade: an article whose body was rebuilt from its rendered post page (``body_source``
``"page"``, a weaker source than the share page's exact ``"share"``) replaces an archived file only
when what it renders differs from what the archived file renders
(``archiver.format.rendering.same_rendering``); otherwise the archived file stays as it is and the
outcome is ``KEPT`` (unchanged, because the archive already holds it from a better source or in
its original form). An exact article replaces an archived file whenever its text differs.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import os
from pathlib import Path

from archiver.format import post as postfmt
from archiver.format.rendering import same_rendering
from archiver.format.slug import is_valid_slug
from archiver.items import BODY_FROM_PAGE, Article
from archiver.store.atomic import atomic_write, remove_stale_temp_files, writing
from archiver.store.index import POST_FOLDERS, ArchiveIndex, Entry

logger = logging.getLogger(__name__)


class Outcome(enum.Enum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    # Unchanged too: the article came from a weaker source and renders as the archived file does.
    KEPT = "kept_better_source"


class ExportError(RuntimeError):
    """An article that cannot be written where it belongs."""


class ArchiveExporter:
    def __init__(self, root: Path, *, fsync: bool = False) -> None:
        self.root = root
        self.fsync = fsync
        self.posts_dir = root / "_posts"
        self.category_dir = root / "category"
        self.index = ArchiveIndex(root)
        self._categories: dict[str, str] = {}

    def open(self, index: ArchiveIndex | None = None) -> None:
        """Create the folders, remove what killed runs left, index the archive (unless ``index`` is given)."""
        for folder in (self.posts_dir, self.category_dir):
            with writing(folder):
                folder.mkdir(parents=True, exist_ok=True)
        for name in (*POST_FOLDERS, "category"):
            with writing(self.root / name):
                for path in remove_stale_temp_files(self.root / name):
                    logger.info("removed a temporary file a killed run left behind: %s", path)
        self.index = ArchiveIndex.scan(self.root) if index is None else index

    def close(self) -> None:
        self._categories.clear()

    def export(self, article: Article) -> tuple[Outcome, Path]:
        """Write one normalized article; returns what happened and where."""
        name = postfmt.post_filename(article)
        data = postfmt.render_post(article).encode("utf-8")
        assert article.post_id is not None and isinstance(article.date, dt.datetime)
        # The category page first: a run killed between the two writes must not leave an archived
        # post without its category page, since a later run skips the archived post.
        if article.category and article.category_title:
            self.category(article.category, article.category_title)
        known = self.index.get(article.post_id)
        # A rotated post stays in old_post/; a post whose day changed moves to its new name.
        folder = known.path.parent if known is not None else self.posts_dir
        target = self._inside(folder / name)
        outcome = Outcome.NEW if known is None else Outcome.UPDATED
        if known is not None and known.path == target and _same_bytes(target, data):
            outcome = Outcome.UNCHANGED
        elif known is not None and article.body_source == BODY_FROM_PAGE and _renders_same(known.path, data):
            # The site did not change the post: only the source it was read from is weaker.
            return Outcome.KEPT, known.path
        else:
            atomic_write(target, data, fsync=self.fsync)
            self.index.entries[article.post_id] = Entry(article.post_id, article.date.date(), target)
        # Older names of this post in its folder: a post whose day changed, or a copy a run killed
        # between the write and the removal left behind. The new file is whole before any goes.
        stale = [entry for entry in (known, *self.index.duplicates) if entry is not None]
        for entry in stale:
            if entry.post_id == article.post_id and entry.path != target and entry.path.parent == target.parent:
                entry.path.unlink(missing_ok=True)
        return outcome, target

    def category(self, slug: str, title: str) -> bool:
        """Write ``category/<slug>.html`` unless it already says the same; True when written."""
        if self._categories.get(slug) == title:
            return False
        if not is_valid_slug(slug):
            raise ExportError(f"not a usable category slug: {slug!r}")
        self._categories[slug] = title
        target = self._inside(self.category_dir / f"{slug}.html")
        data = postfmt.render_category_page(postfmt.CategoryPage(slug, title)).encode("utf-8")
        if _same_bytes(target, data):
            return False
        atomic_write(target, data, fsync=self.fsync)
        return True

    def _inside(self, path: Path) -> Path:
        # Belt and braces behind the id and slug checks: nothing is ever written outside the archive.
        resolved = Path(os.path.abspath(path))
        if not resolved.is_relative_to(Path(os.path.abspath(self.root))):
            raise ExportError(f"refusing to write outside the archive: {path}")
        return path


def _renders_same(path: Path, data: bytes) -> bool:
    try:
        archived = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return same_rendering(archived, data.decode("utf-8"))


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except FileNotFoundError:
        return False

"""Rotation of old posts from _posts/ to old_post/: idempotent, never loses or duplicates a post."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archiver.running.runner import ExitCode
from archiver.store.index import ArchiveIndex
from archiver.store.runlog import read_runs
from archiver.tools import rotate as rotation
from tests.crawlrun import run_archiver

TODAY = dt.date(2024, 6, 30)


def post(root: Path, folder: str, day: dt.date, post_id: str, text: str | None = None) -> Path:
    path = root / folder / f"{day.isoformat()}-{post_id}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((text if text is not None else f"post {post_id}").encode("utf-8"))
    return path


def contents(root: Path) -> dict[str, list[str]]:
    """Post file name -> the texts it has across both folders."""
    found: dict[str, list[str]] = {}
    for folder in ("_posts", "old_post"):
        if (root / folder).is_dir():
            for path in sorted((root / folder).iterdir()):
                found.setdefault(path.name, []).append(path.read_bytes().decode("utf-8"))
    return found


def test_rotate_moves_only_posts_older_than_keep_days(tmp_path):
    for days in range(6):
        post(tmp_path, "_posts", TODAY - dt.timedelta(days=days), f"NW{days}")
    (tmp_path / "_posts" / "notes.txt").write_text("not a post")
    result = rotation.rotate(tmp_path, 3, TODAY)
    assert sorted(result.moved) == ["2024-06-26-NW4.md", "2024-06-25-NW5.md"][::-1]
    assert result.kept == 4
    assert sorted(p.name for p in (tmp_path / "old_post").iterdir()) == ["2024-06-25-NW5.md", "2024-06-26-NW4.md"]
    assert (tmp_path / "_posts" / "notes.txt").exists()
    again = rotation.rotate(tmp_path, 3, TODAY)
    assert again.moved == [] and again.finished == [] and again.kept == 4
    assert len(ArchiveIndex.scan(tmp_path)) == 6


def test_rotate_finishes_an_interrupted_move_and_keeps_conflicts(tmp_path):
    old = TODAY - dt.timedelta(days=10)
    src = post(tmp_path, "_posts", old, "NW1")
    (tmp_path / "old_post").mkdir()
    os.link(src, tmp_path / "old_post" / src.name)  # a run killed between link and unlink
    post(tmp_path, "_posts", old, "NW2", "same")
    post(tmp_path, "old_post", old, "NW2", "same")  # a copy, not a link
    post(tmp_path, "_posts", old, "NW3", "edited later")
    post(tmp_path, "old_post", old, "NW3", "the first version")
    result = rotation.rotate(tmp_path, 3, TODAY)
    assert sorted(result.finished) == [f"{old}-NW1.md", f"{old}-NW2.md"]
    assert result.conflicts == [f"{old}-NW3.md"]
    assert contents(tmp_path)[f"{old}-NW3.md"] == ["edited later", "the first version"]
    assert not (tmp_path / "_posts" / f"{old}-NW1.md").exists()


def test_rotate_cli_and_report(tmp_path):
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    post(tmp_path, "_posts", today - dt.timedelta(days=40), "NW1")
    post(tmp_path, "_posts", today, "NW2")
    result = run_archiver("rotate", "--keep-days", "30", "--output", str(tmp_path))
    assert result.returncode == ExitCode.OK, result.stderr
    assert "1 moved" in result.stdout
    assert (tmp_path / "old_post" / f"{today - dt.timedelta(days=40)}-NW1.md").exists()
    assert (tmp_path / "_posts" / f"{today}-NW2.md").exists()
    (run,) = read_runs(tmp_path / ".archiver" / "runs.jsonl")
    assert run["command"] == "rotate" and run["moved"] == 1 and run["status"] == "ok"
    assert run_archiver("rotate", "--keep-days", "-1", "--output", str(tmp_path)).returncode == ExitCode.USAGE
    assert run_archiver("rotate", "--output", str(tmp_path)).returncode == ExitCode.USAGE


# --- property: rotation never loses or duplicates a post, however often and wherever it is interrupted ---

days = st.integers(min_value=0, max_value=40).map(lambda n: TODAY - dt.timedelta(days=n))
posts = st.dictionaries(
    st.from_regex(r"NW[0-9]{1,4}", fullmatch=True),
    st.tuples(
        days,
        st.sampled_from(["_posts", "old_post", "both"]),
        st.text(st.characters(exclude_categories=("Cs",)), max_size=20),
    ),
    max_size=25,
)


class Interrupted(Exception):
    pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(posts=posts, keep_days=st.integers(min_value=0, max_value=45), crash_after=st.integers(0, 30))
def test_rotate_never_loses_a_post(posts, keep_days, crash_after, monkeypatch):
    root = Path(tempfile.mkdtemp(prefix="rotate-"))
    try:
        before = rotation.cutoff_day(keep_days, TODAY)
        expected: dict[str, str] = {}
        copies: dict[str, int] = {}
        for post_id, (day, where, text) in posts.items():
            folders = ["_posts", "old_post"] if where == "both" else [where]
            for folder in folders:
                post(root, folder, day, post_id, text)
            name = f"{day.isoformat()}-{post_id}.md"
            expected[name] = text
            # A young post already in both folders is not rotation's business: it stays as it was.
            copies[name] = 2 if where == "both" and day >= before else 1

        # A run killed after `crash_after` unlinks: the link of the next move is done, its unlink is not.
        calls = {"n": 0}
        real_unlink = Path.unlink

        def flaky_unlink(self: Path, missing_ok: bool = False) -> None:
            calls["n"] += 1
            if calls["n"] > crash_after:
                raise Interrupted
            real_unlink(self, missing_ok=missing_ok)

        monkeypatch.setattr(Path, "unlink", flaky_unlink)
        with contextlib.suppress(Interrupted):
            rotation.rotate(root, keep_days, TODAY)
        monkeypatch.setattr(Path, "unlink", real_unlink)
        # At every point, every post is there with its text.
        assert {name: set(texts) for name, texts in contents(root).items()} == {
            name: {text} for name, text in expected.items()
        }
        rotation.rotate(root, keep_days, TODAY)
        final = contents(root)
        assert final == {name: [text] * copies[name] for name, text in expected.items()}, "no loss, no copy"
        for name in os.listdir(root / "_posts") if (root / "_posts").is_dir() else []:
            assert name[:10] >= before.isoformat()
        # Idempotent.
        assert rotation.rotate(root, keep_days, TODAY).moved == []
        assert contents(root) == final
    finally:
        shutil.rmtree(root)


def test_rotate_refuses_negative_keep_days(tmp_path):
    with pytest.raises(ValueError):
        rotation.rotate(tmp_path, -1, TODAY)

"""Reading runs.jsonl from its end gives the records read_runs gives, newest first."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from archiver.store.jsonlines import lines_newest_first
from archiver.store.runlog import append_line, read_runs


def test_lines_newest_first_match_read_runs(tmp_path: Path) -> None:
    """Across block boundaries, torn lines and lines longer than a block, as read_runs reads forward."""
    rng = random.Random(7)
    lines: list[str] = []
    for n in range(3000):
        kind = rng.random()
        if kind < 0.02:
            lines.append('{"torn": ')
        elif kind < 0.03:
            lines.append(json.dumps({"n": n, "pad": "x" * 100_000}))
        else:
            lines.append(json.dumps({"n": n, "pad": "é" * rng.randrange(0, 400)}, ensure_ascii=False))
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(lines) + rng.choice(["", "\n"]), encoding="utf-8")
    assert list(lines_newest_first(path)) == read_runs(path)[::-1]


@pytest.mark.parametrize("text", ["", "\n", "\n\n", '{"a": 1}', '{"a": 1}\n', 'x\n{"a": 1}\n{"b"'])
def test_small_files(tmp_path: Path, text: str) -> None:
    path = tmp_path / "runs.jsonl"
    path.write_text(text, encoding="utf-8")
    assert list(lines_newest_first(path)) == read_runs(path)[::-1]


def test_read_runs_keeps_a_record_whose_text_holds_a_line_separator(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    append_line(path, {"status": "ok", "errors": [{"error": "title\u2028with a separator"}]})
    append_line(path, {"status": "pages_failed"})
    assert [run["status"] for run in read_runs(path)] == ["ok", "pages_failed"]

"""Benchmark of ``archiver status`` on a large archive: the health check alone, and the whole command.

    python -m bench.status [--posts 100000] [--runs 100000] [--repeat 5]

Writes a synthetic archive in a temporary folder (``--posts`` post files over 1,000 Beijing days,
most in ``old_post/``; a ``runs.jsonl`` of ``--runs`` lines, one run every five minutes up to now),
then times ``archiver.store.health.check`` in this process (wall clock, best and median of
``--repeat``) and ``archiver status`` as cron or a monitoring system runs it (a new process each
time, interpreter and imports included). The post files are tiny: the check reads file names,
the front matter of the newest day's posts and the end of ``runs.jsonl`` only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def build(root: Path, posts: int, runs: int) -> None:
    days = 1000
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    per_day = max(1, posts // days)
    for folder in ("_posts", "old_post", ".archiver"):
        (root / folder).mkdir(parents=True)
    written = 0
    for back in range(days):
        day = today - dt.timedelta(days=back)
        folder = "_posts" if back < 30 else "old_post"
        for i in range(per_day):
            if written == posts:
                break
            hour = i % 24
            text = f'---\nlayout: post\ntitle: "{i}"\ndate: {day.isoformat()} {hour:02d}:00:00 +0800\n---\nbody'
            (root / folder / f"{day.isoformat()}-P{day:%Y%m%d}{i:06d}.md").write_text(text, encoding="utf-8")
            written += 1
    now = dt.datetime.now(dt.UTC)
    with (root / ".archiver" / "runs.jsonl").open("w", encoding="utf-8") as handle:
        for k in range(runs):
            end = now - dt.timedelta(minutes=5 * (runs - k))
            record = {
                "start": (end - dt.timedelta(seconds=20)).isoformat(timespec="seconds"),
                "end": end.isoformat(timespec="seconds"),
                "status": "ok",
                "pages": 50,
                "not_modified": 45,
                "posts": {"new": k % 3, "updated": 0, "unchanged": 3, "skipped_known": 40},
                "failed": 0,
                "dropped": {},
                "errors": [],
                "error_count": 0,
            }
            handle.write(json.dumps(record, sort_keys=True) + "\n")


def timed(repeat: int, func: Callable[[], object]) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.status", description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    from archiver.store.health import check

    with tempfile.TemporaryDirectory(prefix="bench-status-") as folder:
        root = Path(folder) / "archive"
        build(root, args.posts, args.runs)
        size = (root / ".archiver" / "runs.jsonl").stat().st_size
        check(root)  # the directory listings warm, as on a machine that archives every five minutes
        inner = timed(args.repeat, lambda: check(root))
        command = [sys.executable, "-m", "archiver", "status", str(root), "--max-age", "30m"]
        outer = timed(args.repeat, lambda: subprocess.run(command, cwd=REPO, capture_output=True, check=False))
        line = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False).stdout.splitlines()[0]
    print(f"archive: {args.posts} posts, runs.jsonl {args.runs} lines ({size / 1e6:.1f} MB)")
    print(f"health.check:    best {min(inner):.3f} s, median {statistics.median(inner):.3f} s")
    print(f"archiver status: best {min(outer):.3f} s, median {statistics.median(outer):.3f} s (a new process)")
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

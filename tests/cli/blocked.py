"""Running the ``archiver`` command in a subprocess with some modules made missing, for the tests.

A meta path finder placed first raises ``ModuleNotFoundError`` for the blocked top-level names, so
the process sees an install without that extra; ``PATH`` can be replaced to leave out a program.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

WRAPPER = """
import sys


class Blocker:
    def __init__(self, names):
        self.names = names

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, Blocker(set(filter(None, sys.argv[1].split(",")))))
sys.argv = ["archiver", *sys.argv[2:]]
from archiver.cli import run

run()
"""


def run_blocked(
    *args: str,
    blocked: Iterable[str] = (),
    path: str | None = None,
    proxy: str | None = None,
    cwd: Path = REPO,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """``archiver ARGS`` without the ``blocked`` modules, with ``PATH`` replaced when ``path`` is given."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "no_proxy")}
    env["PYTHONPATH"] = str(REPO)
    env.pop("ARCHIVER_REDIS_URL", None)
    if path is not None:
        env["PATH"] = path
    if proxy:
        env["http_proxy"] = proxy
    return subprocess.run(
        [sys.executable, "-c", WRAPPER, ",".join(blocked), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )

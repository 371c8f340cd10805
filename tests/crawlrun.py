"""Running the archiver as its users do, in a subprocess, for the tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SITE_URL = "http://finews.withounder.com/"


def archiver_env(proxy: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "no_proxy")}
    if proxy:
        env["http_proxy"] = proxy
    env["PYTHONPATH"] = str(REPO)
    return env


# ``archiver ARGS``, then the names of the modules the process imported, one a line, into a file.
LISTING_MODULES = (
    "import sys\nfrom archiver.cli import main\nlisting = sys.argv.pop(1)\ntry:\n    code = main()\nfinally:\n"
    "    open(listing, 'w').write('\\n'.join(sorted(sys.modules)))\nsys.exit(code)"
)


def run_archiver(
    *args: str,
    proxy: str | None = None,
    timeout: float = 120,
    cwd: Path = REPO,
    modules: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m archiver ARGS`` with ``http_proxy`` set to ``proxy`` and ``env`` added; output captured.

    With ``modules``, the process writes the names of the modules it imported there at the end.
    """
    command = ["-m", "archiver"] if modules is None else ["-c", LISTING_MODULES, str(modules)]
    return subprocess.run(
        [sys.executable, *command, *args],
        cwd=cwd,
        env={**archiver_env(proxy), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def crawl(
    output: Path, proxy: str, *extra: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A full crawl of the site behind ``proxy`` into ``output``."""
    return run_archiver(
        "crawl",
        "finews",
        "--start-url",
        SITE_URL,
        "--output",
        str(output),
        *extra,
        proxy=proxy,
        timeout=timeout,
        env=env,
    )


def workers_run_under_way(output: Path, env: dict[str, str], served: Callable[[], int]) -> subprocess.Popen[str]:
    """``archiver crawl finews --workers 2 --concurrency 1`` into ``output``, in the background (output
    captured), once both workers are crawling: ``served()``, the server's count of requests, is 3."""
    command = [sys.executable, "-m", "archiver", "crawl", "finews", "--start-url", SITE_URL, "--output", str(output)]
    main = subprocess.Popen(
        [*command, "--workers", "2", "--concurrency", "1"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while served() < 3 and time.monotonic() < deadline and main.poll() is None:
        time.sleep(0.1)
    return main


def children(pid: int) -> dict[int, str]:
    """The processes ``pid`` started (its workers and redis-server), with their command lines."""
    listing = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True, check=True)
    return {int(line.split(None, 1)[0]): line.split(None, 1)[1] for line in listing.stdout.splitlines() if line.strip()}

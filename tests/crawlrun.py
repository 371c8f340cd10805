"""Running the archiver as its users do, in a subprocess, for the tests."""

from __future__ import annotations

import os
import subprocess
import sys
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
    *args: str, proxy: str | None = None, timeout: float = 120, cwd: Path = REPO, modules: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m archiver ARGS`` with ``http_proxy`` set to ``proxy``; output captured.

    With ``modules``, the process writes the names of the modules it imported there at the end.
    """
    command = ["-m", "archiver"] if modules is None else ["-c", LISTING_MODULES, str(modules)]
    return subprocess.run(
        [sys.executable, *command, *args],
        cwd=cwd,
        env=archiver_env(proxy),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def crawl(output: Path, proxy: str, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """A full crawl of the site behind ``proxy`` into ``output``."""
    return run_archiver(
        "crawl", "finews", "--start-url", SITE_URL, "--output", str(output), *extra, proxy=proxy, timeout=timeout
    )

"""The benchmark's site server: nginx when installed, else archiver.siteserver in its own process.

Either way the server listens on 127.0.0.1 on a free port with HTTP-proxy semantics and is
stopped when the ``with`` block ends; both stop by themselves after ``max_seconds`` too.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench import measure, nginx


@dataclass(frozen=True)
class Server:
    kind: str  # "nginx" or "siteserver"
    proxy_url: str
    pid: int  # the server's main process (nginx: the master, whose worker is its child)

    def cpu_seconds(self) -> float:
        """CPU the server's processes have used so far (to tell it apart from other load)."""
        return measure.tree_cpu(self.pid)


def crawl_env(proxy: str) -> dict[str, str]:
    """The environment of a benchmarked crawler: ``http_proxy`` set to the server, the repo importable."""
    # As on a user's machine, bytecode is cached: a sandbox's PYTHONDONTWRITEBYTECODE=1 would make
    # every run compile the project's modules again, a cost no user pays.
    dropped = ("http_proxy", "https_proxy", "no_proxy", "pythondontwritebytecode")
    env = {k: v for k, v in os.environ.items() if k.lower() not in dropped}
    env["http_proxy"] = proxy
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    return env


def choose(kind: str, delay: float) -> str:
    """``auto`` -> nginx when it can serve (with the echo module for a delay), else siteserver."""
    if kind != "auto":
        return kind
    if nginx.available() and (delay == 0 or nginx.can_delay()):
        return "nginx"
    return "siteserver"


@contextlib.contextmanager
def serve(root: Path, kind: str = "auto", delay: float = 0.0, max_seconds: float = 7200) -> Iterator[Server]:
    kind = choose(kind, delay)
    if kind == "nginx":
        with nginx.NginxProxy(root, delay=delay, max_seconds=max_seconds) as proxy:
            assert proxy.process is not None
            yield Server("nginx", proxy.proxy_url, proxy.process.pid)
        return
    if kind != "siteserver":
        raise ValueError(f"unknown server {kind!r}: auto, nginx or siteserver")
    with tempfile.TemporaryDirectory(prefix="archiver-bench-ss-") as tmp:
        port_file = Path(tmp) / "port"
        command = [
            sys.executable, "-m", "archiver.devserver", str(root), "--port-file", str(port_file),
            "--delay", str(delay), "--max-seconds", str(max_seconds),
        ]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 15
            while not port_file.exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("archiver.siteserver did not start")
                time.sleep(0.05)
            yield Server("siteserver", f"http://127.0.0.1:{port_file.read_text().strip()}", process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

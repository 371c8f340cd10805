"""``LocalRedis``: a throw-away ``redis-server`` for one run of ``archiver crawl --workers N``.

127.0.0.1, a free port, no persistence, a random password (in a private config file, never on a
command line), stopped with the run; a child that gets SIGTERM when its parent dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from archiver.running.scratch import ScratchFolder

logger = logging.getLogger(__name__)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def die_with_parent() -> None:
    """In a child, before exec: get SIGTERM when the parent dies (Linux), so nothing outlives a killed run."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class LocalRedis:
    """``redis-server`` on 127.0.0.1 and a free port, no persistence, password-protected, for one run."""

    def __init__(self, executable: str = "redis-server", *, start_timeout: float = 10.0) -> None:
        self.executable = executable
        self.start_timeout = start_timeout
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None
        self.scratch: ScratchFolder | None = None
        self.folder: Path | None = None

    @staticmethod
    def available(executable: str = "redis-server") -> bool:
        return shutil.which(executable) is not None

    def start(self) -> str:
        if not self.available(self.executable):
            raise RuntimeError(f"{self.executable} is not installed (Debian: apt-get install redis-server)")
        self.scratch = ScratchFolder("redis")  # mode 0700; removed by the next run if this one is killed
        self.folder = self.scratch.path
        for _attempt in range(5):  # the free port can be taken between the check and the bind
            port = _free_port()
            password = secrets.token_hex(16)
            conf = self.folder / "redis.conf"
            fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(
                    f'bind 127.0.0.1\nport {port}\nprotected-mode yes\nsave ""\nappendonly no\n'
                    f"requirepass {password}\ndir {self.folder}\nlogfile {self.folder / 'redis.log'}\n"
                    "daemonize no\n"
                )
            self.process = subprocess.Popen(
                [self.executable, str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
            )
            self.url = f"redis://:{password}@127.0.0.1:{port}/0"
            if self._wait_ready():
                logger.info("started redis-server (pid %d) on 127.0.0.1:%d", self.process.pid, port)
                return self.url
            self._terminate()
        log = self.folder / "redis.log"
        tail = log.read_text(errors="replace")[-500:] if log.exists() else ""
        self.stop()
        raise RuntimeError(f"redis-server did not start: {tail.strip() or 'no log'}")

    def _wait_ready(self) -> bool:
        import redis  # the redis extra; the command line checks it before starting a run

        assert self.process is not None
        deadline = time.monotonic() + self.start_timeout
        client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    return False
                try:
                    client.ping()
                    return True
                except redis.exceptions.ConnectionError:
                    time.sleep(0.05)
            return False
        finally:
            client.close()

    def _terminate(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def stop(self) -> None:
        self._terminate()
        if self.scratch is not None:
            self.scratch.remove()
            self.scratch = self.folder = None

    def __enter__(self) -> LocalRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""Debian's nginx as a loopback forward proxy over a generated site, for the benchmarks.

The crawlers under test send absolute-form requests (``GET http://finews.withounder.com/x.html``)
to ``http_proxy``; nginx takes the host from the request line, so one ``server`` block maps
``Host`` + path (+ the share pages' ``infoCode`` query) to files under ``ROOT/<host>/``, the
mapping of ``../shared/SITE.md`` and :mod:`archiver.devserver`:

    /path/                                   ->  ROOT/<host>/path/index.html
    /a.html                                  ->  ROOT/<host>/a.html
    /html_News/NewsShare.html?infoCode=X     ->  ROOT/<host>/html_News/NewsShare/X.html

nginx serves 30,000+ pages/s on one core, so the server is never what a benchmark measures.
It runs as the current user in the foreground (``daemon off``) with its prefix, pid file, logs
and temp folders in a private temp dir, listens on 127.0.0.1 on a free port, and is stopped by
pid when the ``with`` block ends (and by a watchdog timer should the harness die first).

A delay per answer (``delay``) needs the echo module (``libnginx-mod-http-echo``, which
Debian's nginx-light depends on): ``echo_sleep`` then an internal redirect to the file, so a
missing file still answers 404. Without the module, :func:`available` says so and the harness
falls back to :class:`archiver.devserver.server.SiteServer` with its own delay.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Self

NGINX = "/usr/sbin/nginx"
ECHO_MODULE = Path("/usr/lib/nginx/modules/ngx_http_echo_module.so")
DEFAULT_MAX_SECONDS = 3600.0

_CONF = """\
{load_module}
worker_processes 1;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    # Share pages declare their charset only in <meta>, as on the real site: no charset here.
    types {{ }}
    default_type text/html;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    # Few descriptors: every cached file holds one open, and a failed open() is a 404 to try_files
    # (50,000 posts are 90,000 files; a usual limit is 1,024 to 20,000 descriptors).
    open_file_cache max=512 inactive=20s;
    server_tokens off;
    etag on;
    # Only the generated hosts are served; any other Host answers 404 (no path is built from it).
    map $host $site_root {{
        default "";
{hosts}
    }}
    server {{
        listen 127.0.0.1:{port};
        server_name _;
        if ($site_root = "") {{ return 404; }}
        root $site_root;
        location = /html_News/NewsShare.html {{
            if ($arg_infoCode !~ "^[A-Za-z0-9_.-]+$") {{ return 404; }}
            {share}
        }}
        location / {{
            {page}
        }}
        location @share {{ try_files /html_News/NewsShare/$arg_infoCode.html =404; }}
        location @page {{ try_files $uri $uri/index.html =404; }}
    }}
}}
"""


def available() -> bool:
    return os.access(NGINX, os.X_OK)


def can_delay() -> bool:
    return available() and ECHO_MODULE.is_file()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config(root: Path, tmp: Path, port: int, delay: float = 0.0) -> str:
    """The nginx.conf text serving ``root/<host>/...`` on 127.0.0.1:``port``."""
    hosts = sorted(p.name for p in root.iterdir() if p.is_dir())
    host_lines = "\n".join(f'        "{h}" "{root / h}";' for h in hosts if '"' not in h)
    if delay > 0:
        share = f"echo_sleep {delay:.3f}; echo_exec @share;"
        page = f"echo_sleep {delay:.3f}; echo_exec @page;"
        load = f"load_module {ECHO_MODULE};"
    else:
        share = "try_files /html_News/NewsShare/$arg_infoCode.html =404;"
        page = "try_files $uri $uri/index.html =404;"
        load = ""
    # As root, nginx would hand its workers to `nobody`, who cannot read a private temp tree.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    return _CONF.format(load_module=load, user=user, tmp=tmp, hosts=host_lines, port=port, share=share, page=page)


class NginxProxy:
    """nginx serving a generated site on 127.0.0.1; a context manager that always stops it."""

    def __init__(self, root: str | os.PathLike[str], *, delay: float = 0.0, max_seconds: float = DEFAULT_MAX_SECONDS):
        if not available():
            raise FileNotFoundError(f"{NGINX} is not installed (apt-get install nginx-light)")
        if delay > 0 and not can_delay():
            raise FileNotFoundError(f"a delay needs {ECHO_MODULE} (apt-get install libnginx-mod-http-echo)")
        self.root = Path(root).resolve()
        self.delay = delay
        self.max_seconds = max_seconds
        self.port = 0
        self.tmp: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._timer: threading.Timer | None = None

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> int:
        self.tmp = Path(tempfile.mkdtemp(prefix="archiver-bench-nginx-"))
        for attempt in range(5):
            self.port = free_port()
            conf = self.tmp / "nginx.conf"
            conf.write_text(config(self.root, self.tmp, self.port, self.delay), encoding="utf-8")
            self.process = subprocess.Popen(
                [NGINX, "-p", str(self.tmp), "-c", str(conf), "-e", str(self.tmp / "error.log"), "-g", "daemon off;"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if self._wait_listening():
                self._timer = threading.Timer(self.max_seconds, self.stop)
                self._timer.daemon = True
                self._timer.start()
                return self.port
            self._kill()
            if attempt == 4:
                break
        log = (self.tmp / "error.log").read_text(errors="replace") if (self.tmp / "error.log").exists() else ""
        raise RuntimeError(f"nginx did not start:\n{log[-2000:]}")

    def _wait_listening(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False  # e.g. the port was taken between free_port() and bind
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
            time.sleep(0.02)
        return False

    def _kill(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        # SIGQUIT: graceful stop of the master and its worker (both ours, by pid).
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self) -> None:
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.cancel()
        self._kill()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

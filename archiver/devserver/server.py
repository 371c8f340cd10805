"""A loopback static-site server with HTTP-proxy semantics, for demos, tests and benchmarks.

The archiver must write every post with the site's real URLs (``http://finews.withounder.com/...``,
``http://finews.zning.xyz/html_News/NewsShare.html?infoCode=...``) even when it crawls a copy of
the site on disk. This server makes that possible: a client sends it absolute-form requests
(``GET http://finews.withounder.com/x.html HTTP/1.1``), exactly what Scrapy does under
``http_proxy=http://127.0.0.1:PORT``, and the server answers from ``ROOT/<host>/...``. Origin-form
requests are routed by their ``Host`` header, so a browser pointed at it directly works too.

URL to file (the mapping of ``../shared/SITE.md``)::

    /path/                      ->  ROOT/<host>/path/index.html
    /a.html                     ->  ROOT/<host>/a.html
    /dir/name.ext?k=V           ->  ROOT/<host>/dir/name/V.html   (a query of exactly one parameter)

Anything that resolves outside ``ROOT/<host>`` (``..``, symlinks), a query value that is not a
plain file name, or a missing file answers 404. Files are served as ``text/html`` *without* a
charset parameter because share pages declare theirs only in ``<meta>``, as on the real site.
Responses carry ``ETag``/``Last-Modified`` and conditional requests get 304.

Reliability experiments need a misbehaving server, so faults can be injected per request from a
seeded RNG: ``fail`` (500/503), ``drop`` (close without an answer), ``truncate`` (announce the full
``Content-Length``, send half, close), ``delay`` (seconds before every answer), ``fail_first`` (the
first request of each URL answers 503) and ``fail_paths`` (URLs containing a substring always
answer a fixed status). Every request is recorded in memory and, optionally, appended to a log
file as ``status host path?query``.

The server only binds loopback addresses and stops by itself after ``max_seconds`` so that no
test, demo or benchmark can leave it running.

In-process use::

    with SiteServer("spiders/demo/site", fail=0.1, seed=7) as server:
        run_crawler(proxy=server.proxy_url)
        assert server.count(status=200, path_contains="NewsShare") > 0

Command line::

    python -m archiver.devserver ROOT [--port 0] [--port-file F] [--fail P] [--drop P]
        [--truncate P] [--delay S] [--fail-first] [--fail-path SUBSTRING=STATUS]
        [--seed N] [--max-seconds S] [--log F]
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import threading
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from archiver.devserver.faults import FaultDice, FaultPlan
from archiver.devserver.handler import HTTPServer, RequestRecord

__all__ = ["FaultPlan", "RequestRecord", "SiteServer"]

DEFAULT_MAX_SECONDS = 900.0


class SiteServer:
    """Serve ``ROOT/<host>/...`` on a loopback port, in a background thread.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. It stops by itself after
    ``max_seconds``. Faults are described in the module docstring; ``fail_paths`` maps a
    substring of ``path?query`` to the status every matching request answers.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        fail: float = 0.0,
        drop: float = 0.0,
        truncate: float = 0.0,
        delay: float = 0.0,
        fail_first: bool = False,
        fail_paths: Mapping[str, int] | None = None,
        seed: int = 1,
        max_seconds: float = DEFAULT_MAX_SECONDS,
        log_path: str | os.PathLike[str] | None = None,
        verbose: bool = False,
    ) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise FileNotFoundError(f"site root {self.root} is not a directory")
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"SiteServer binds loopback addresses only, not {host}")
        if max_seconds <= 0:
            raise ValueError("max_seconds must be > 0: the server must always stop by itself")
        self.faults = FaultPlan(fail, drop, truncate, delay, fail_first, dict(fail_paths or {}))
        self.max_seconds = max_seconds
        self.log_path = Path(log_path) if log_path is not None else None
        self.verbose = verbose
        self._address = (host, port)
        self.dice = FaultDice(self.faults, seed)
        self._lock = threading.Lock()  # guards records, counters and the log
        self._records: list[RequestRecord] = []
        self._counters: Counter[str] = Counter()
        self._connections: set[socket.socket] = set()
        self._log: IO[str] | None = None
        self._httpd: HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None
        self._stopping = False
        self._stopped = threading.Event()  # set once stop() has released every resource

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> int:
        """Bind, start serving in a daemon thread and return the port."""
        if self._httpd is not None or self._stopping:
            raise RuntimeError("a SiteServer starts once")
        if self.log_path is not None:
            self._log = open(self.log_path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed in stop()
        self._httpd = HTTPServer(self._address, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="siteserver", daemon=True
        )
        self._thread.start()
        self._timer = threading.Timer(self.max_seconds, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self.port

    def stop(self) -> None:
        """Stop serving, close open keep-alive connections and the log; safe to call twice."""
        with self._lock:
            first_call, self._stopping = not self._stopping, True
            httpd, self._httpd = self._httpd, None
        if not first_call:
            self._stopped.wait()  # another thread (the max_seconds timer, say) is stopping it
            return
        if httpd is None:  # never started
            self._stopped.set()
            return
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.cancel()
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):  # the handler may be closing it right now
                conn.shutdown(socket.SHUT_RDWR)
        with self._lock:
            if self._log is not None:
                self._log.close()
                self._log = None
        self._stopped.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server has stopped (or ``timeout`` passed); True if it stopped."""
        return self._stopped.wait(timeout)

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def __enter__(self) -> Self:
        if self._httpd is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("SiteServer is not running")
        return int(self._httpd.server_address[1])

    @property
    def proxy_url(self) -> str:
        """The value for ``http_proxy``: ``http://127.0.0.1:PORT``."""
        return f"http://{self._address[0]}:{self.port}"

    # -- request log -----------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of every request recorded so far, in order."""
        with self._lock:
            return list(self._records)

    def count(self, status: int | None = None, path_contains: str | None = None, host: str | None = None) -> int:
        """How many recorded requests match every given criterion."""
        return sum(
            1
            for r in self.requests
            if (status is None or r.status == status)
            and (path_contains is None or path_contains in r.path)
            and (host is None or r.host == host)
        )

    def stats(self) -> dict[str, int]:
        """Counters: ``requests``, one per status (``"200"``, ``"404"``, ...) and one per fault."""
        with self._lock:
            return dict(self._counters)

    def reset_log(self) -> None:
        """Forget recorded requests and counters (the log file and ``fail_first`` memory stay)."""
        with self._lock:
            self._records.clear()
            self._counters.clear()

    # -- used by the handler ---------------------------------------------------------------------

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)
            self._counters["requests"] += 1
            if record.status:
                self._counters[str(record.status)] += 1
            if record.fault:
                self._counters[record.fault] += 1
            if self._log is not None:
                status = record.status or "drop"
                self._log.write(f"{status} {record.host or '-'} {record.path}\n")

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

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

    with SiteServer("demo/site", fail=0.1, seed=7) as server:
        run_crawler(proxy=server.proxy_url)
        assert server.count(status=200, path_contains="NewsShare") > 0

Command line::

    python -m archiver.siteserver ROOT [--port 0] [--port-file F] [--fail P] [--drop P]
        [--truncate P] [--delay S] [--fail-first] [--fail-path SUBSTRING=STATUS]
        [--seed N] [--max-seconds S] [--log F]
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import hashlib
import http.server
import ipaddress
import mimetypes
import os
import posixpath
import random
import re
import signal
import socket
import socketserver
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Self, cast

__all__ = ["FaultPlan", "RequestRecord", "SiteServer", "main", "resolve_file", "url_to_relpath"]

DEFAULT_MAX_SECONDS = 900.0
IDLE_TIMEOUT = 60.0  # seconds an idle keep-alive connection is kept open
FAIL_STATUSES = (500, 503)

# Host names become folder names: only plain DNS labels are accepted, so a Host header can never
# name "..", an absolute path or anything with a separator in it.
_HOST_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")
# A query value becomes a file name (``NewsShare/<value>.html``): letters, digits, "_", "-", ".".
_SAFE_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the server answered it."""

    method: str
    status: int  # HTTP status sent; 0 when the connection was dropped without an answer
    host: str
    path: str  # path with query, as requested
    fault: str = ""  # "", "fail", "fail_first", "fail_path", "drop" or "truncate"


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Which faults to inject; probabilities are per request and drawn from one seeded RNG."""

    fail: float = 0.0
    drop: float = 0.0
    truncate: float = 0.0
    delay: float = 0.0
    fail_first: bool = False
    fail_paths: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("fail", "drop", "truncate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {value}")
        # One draw decides between the three faults, so their probabilities must add up to <= 1.
        if self.fail + self.drop + self.truncate > 1.0:
            raise ValueError("fail + drop + truncate must not exceed 1")
        if self.delay < 0:
            raise ValueError(f"delay must be >= 0, got {self.delay}")
        for needle, status in self.fail_paths.items():
            if not needle or not 100 <= status <= 599:
                raise ValueError(f"invalid fail_paths entry {needle!r}: {status}")


@dataclass(frozen=True, slots=True)
class _Decision:
    """The fault chosen for one request; ``status`` is set for faults that answer an error."""

    fault: str = ""
    status: int = 0


def url_to_relpath(path: str, query: str) -> str | None:
    """Map a URL path and query to a file path relative to the host folder, or None (404).

    ``path`` is the raw (percent-encoded) URL path, ``query`` the raw query string.
    """
    try:
        decoded = urllib.parse.unquote(path, errors="strict")
    except UnicodeDecodeError:
        return None  # not UTF-8 once decoded: no file on disk can have that name
    if not decoded.startswith("/") or "\x00" in decoded or "\\" in decoded:
        return None
    # Refuse ".." outright instead of normalizing it away: no page of a static site needs it.
    if ".." in decoded.split("/"):
        return None
    if query:
        return _query_relpath(decoded, query)
    rel = decoded.lstrip("/")
    return rel + "index.html" if rel == "" or rel.endswith("/") else rel


def _query_relpath(decoded_path: str, query: str) -> str | None:
    """``/dir/name.ext?k=V`` -> ``dir/name/V.html``; None unless the query has exactly one safe value."""
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    if len(pairs) != 1 or decoded_path.endswith("/"):
        return None
    value = pairs[0][1]
    if not _SAFE_VALUE.fullmatch(value) or ".." in value:
        return None
    stem = posixpath.splitext(decoded_path)[0].lstrip("/")
    return f"{stem}/{value}.html"


def resolve_file(root: Path, host: str, rel: str) -> Path | None:
    """The path ``ROOT/<host>/<rel>`` resolves to, or None when it escapes ``ROOT/<host>``.

    ``root`` must already be resolved. Symlinks are followed before the containment check, so a
    link pointing outside the host folder is refused like a ``..`` path.
    """
    if not _HOST_NAME.fullmatch(host):
        return None
    base = (root / host).resolve()
    if not base.is_relative_to(root) or not base.is_dir():
        return None
    target = (base / rel).resolve()
    return target if target.is_relative_to(base) else None


def request_host(url: urllib.parse.SplitResult, host_header: str | None) -> str:
    """The host a request is for: from an absolute-form target, else the Host header; no port, lowercase."""
    if url.netloc:
        return (url.hostname or "").lower()
    if not host_header:
        return ""
    # urlsplit strips the port (and copes with "[::1]:80"); .hostname lowercases.
    return (urllib.parse.urlsplit("//" + host_header.strip()).hostname or "").lower()


def _etag(body: bytes) -> str:
    # A content hash, not size+mtime: a fresh checkout or copy of a site keeps its validators.
    return '"' + hashlib.sha1(body).hexdigest()[:20] + '"'


def _etag_matches(header: str, etag: str) -> bool:
    """Weak comparison of an If-None-Match header against our ETag (RFC 9110, 13.1.2)."""
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags


def _not_modified_since(header: str, mtime: float) -> bool:
    try:
        since = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False  # an unparsable date is ignored, as RFC 9110 13.1.3 requires
    return int(mtime) <= since.timestamp()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers one connection's requests from the owning SiteServer's folder."""

    protocol_version = "HTTP/1.1"  # keep-alive, like a real site and like Scrapy expects
    server_version = "archiver-siteserver"
    timeout = IDLE_TIMEOUT
    # Headers and body go out in separate writes; with Nagle's algorithm and the client's delayed
    # ACK, every keep-alive response would stall ~40 ms.
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return self.server_version  # no Python version in the Server header

    @property
    def site(self) -> SiteServer:
        return cast(_HTTPServer, self.server).site

    def setup(self) -> None:
        super().setup()
        self.site._track(self.connection, add=True)

    def finish(self) -> None:
        self.site._track(self.connection, add=False)
        super().finish()

    def log_message(self, format: str, *args: object) -> None:
        # Requests are recorded by SiteServer; stderr noise would only drown test output.
        if self.site.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def _refuse_method(self) -> None:
        self._answer_status(405, self.path, extra_headers={"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_CONNECT = _refuse_method

    def _serve(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.netloc and url.scheme != "http":
            self._answer_status(400, self.path)
            return
        host = request_host(url, self.headers.get("Host"))
        path = url.path or "/"
        path_with_query = f"{path}?{url.query}" if url.query else path
        site = self.site
        if site.faults.delay:
            time.sleep(site.faults.delay)
        decision = site._decide(host, path_with_query)
        if decision.fault == "drop":
            site._record(RequestRecord(self.command, 0, host, path_with_query, "drop"))
            self._drop_connection()
        elif decision.status:
            self._answer_status(decision.status, path_with_query, host=host, fault=decision.fault)
        else:
            self._answer_file(host, url, path_with_query, truncate=decision.fault == "truncate")

    def _answer_file(self, host: str, url: urllib.parse.SplitResult, path: str, *, truncate: bool) -> None:
        site = self.site
        rel = url_to_relpath(url.path or "/", url.query)
        target = resolve_file(site.root, host, rel) if rel is not None else None
        if target is not None and target.is_dir() and not url.query and (target / "index.html").is_file():
            # A folder named without its trailing slash: redirect, as static hosts (GitHub Pages) do.
            location = f"http://{url.netloc or self.headers.get('Host', host)}{url.path}/"
            self._answer_status(301, path, host=host, extra_headers={"Location": location})
            return
        if target is None or not target.is_file():
            self._answer_status(404, path, host=host)
            return
        body = target.read_bytes()
        mtime = target.stat().st_mtime
        headers = {"ETag": _etag(body), "Last-Modified": email.utils.formatdate(mtime, usegmt=True)}
        if self._not_modified(headers["ETag"], mtime):
            site._record(RequestRecord(self.command, 304, host, path))
            self._send_head(304, headers)
            return
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        headers |= {"Content-Type": content_type, "Content-Length": str(len(body))}
        truncate = truncate and self.command == "GET"
        site._record(RequestRecord(self.command, 200, host, path, "truncate" if truncate else ""))
        self._send_head(200, headers)
        if self.command == "HEAD":
            return
        if truncate:
            self.wfile.write(body[: len(body) // 2])
            self._drop_connection()
            return
        self.wfile.write(body)

    def _not_modified(self, etag: str, mtime: float) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:  # If-None-Match takes precedence (RFC 9110, 13.2.2)
            return _etag_matches(if_none_match, etag)
        since = self.headers.get("If-Modified-Since")
        return since is not None and _not_modified_since(since, mtime)

    def _answer_status(
        self,
        status: int,
        path: str,
        *,
        host: str = "",
        fault: str = "",
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        """A short HTML answer for a status without a file; unlike ``send_error`` it keeps the connection alive."""
        self.site._record(RequestRecord(self.command, status, host, path, fault))
        phrase = self.responses.get(status, ("Error",))[0]
        body = f"<!DOCTYPE html>\n<title>{status} {phrase}</title>\n<h1>{status} {phrase}</h1>\n".encode()
        headers = {"Content-Type": "text/html", "Content-Length": str(len(body))}
        self._send_head(status, headers | dict(extra_headers or {}))
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_head(self, status: int, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _drop_connection(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client may already have closed its end
            self.connection.shutdown(socket.SHUT_RDWR)


class _HTTPServer(http.server.ThreadingHTTPServer):
    """ThreadingHTTPServer (daemon threads) that knows its SiteServer and skips reverse DNS."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], site: SiteServer) -> None:
        self.site = site
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can stall for
        # seconds in a sandbox; the name is only used for CGI environments.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: object) -> None:
        # A client that hangs up mid-answer (as crawlers do after a truncated body) is not a server
        # bug; everything else is reported with its traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


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
        self._rng = random.Random(seed)
        self._lock = threading.Lock()  # guards the RNG, the seen set, records, counters and log
        self._seen: set[tuple[str, str]] = set()
        self._records: list[RequestRecord] = []
        self._counters: Counter[str] = Counter()
        self._connections: set[socket.socket] = set()
        self._log: IO[str] | None = None
        self._httpd: _HTTPServer | None = None
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
        self._httpd = _HTTPServer(self._address, self)
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

    def _decide(self, host: str, path_with_query: str) -> _Decision:
        faults = self.faults
        for needle, status in faults.fail_paths.items():
            if needle in path_with_query:
                return _Decision("fail_path", status)
        with self._lock:
            key = (host, path_with_query)
            first = key not in self._seen
            self._seen.add(key)
            draw = self._rng.random()
            fail_status = self._rng.choice(FAIL_STATUSES)
        if faults.fail_first and first:
            return _Decision("fail_first", 503)
        if draw < faults.fail:
            return _Decision("fail", fail_status)
        if draw < faults.fail + faults.drop:
            return _Decision("drop")
        if draw < faults.fail + faults.drop + faults.truncate:
            return _Decision("truncate")
        return _Decision()

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


# -- command line ---------------------------------------------------------------------------------


def _fail_path(text: str) -> tuple[str, int]:
    needle, sep, status = text.rpartition("=")
    if not sep or not needle or not status.isdigit():
        raise argparse.ArgumentTypeError(f"expected SUBSTRING=STATUS, got {text!r}")
    return needle, int(status)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m archiver.siteserver",
        description="Serve ROOT/<host>/... on 127.0.0.1 as an HTTP proxy (see the module docstring).",
    )
    ap.add_argument("root", help="folder holding one sub-folder per host")
    ap.add_argument("--port", type=int, default=0, help="port to bind (0: any free port)")
    ap.add_argument("--port-file", type=Path, help="write the bound port here (atomically)")
    ap.add_argument("--fail", type=float, default=0.0, help="probability of a 500/503 answer")
    ap.add_argument("--drop", type=float, default=0.0, help="probability of closing without an answer")
    ap.add_argument("--truncate", type=float, default=0.0, help="probability of sending half the body")
    ap.add_argument("--delay", type=float, default=0.0, help="seconds to wait before every answer")
    ap.add_argument("--fail-first", action="store_true", help="the first request of each URL answers 503")
    ap.add_argument(
        "--fail-path",
        type=_fail_path,
        action="append",
        default=[],
        metavar="SUBSTRING=STATUS",
        help="requests whose path?query contains SUBSTRING always answer STATUS (repeatable)",
    )
    ap.add_argument("--seed", type=int, default=1, help="seed of the fault RNG")
    ap.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS, help="stop after this long")
    ap.add_argument("--log", type=Path, help="append 'status host path?query' per request to this file")
    ap.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return ap


def write_port_file(path: Path, port: int) -> None:
    """Write the port so a reader never sees a partial file: temp file in the same folder, then rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent or Path("."), prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    server = SiteServer(
        args.root,
        port=args.port,
        fail=args.fail,
        drop=args.drop,
        truncate=args.truncate,
        delay=args.delay,
        fail_first=args.fail_first,
        fail_paths=dict(args.fail_path),
        seed=args.seed,
        max_seconds=args.max_seconds,
        log_path=args.log,
        verbose=args.verbose,
    )
    # SIGTERM (from a test harness or `kill`) unwinds like Ctrl-C, so the `with` block cleans up.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with server:
        if args.port_file is not None:
            write_port_file(args.port_file, server.port)
        print(f"serving {args.root} on 127.0.0.1:{server.port}", flush=True)
        try:
            server.wait()
        except KeyboardInterrupt:
            print("siteserver: interrupted, stopping", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

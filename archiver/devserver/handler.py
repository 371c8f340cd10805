"""The request handler of the loopback site server: one connection's requests, answered from files."""

from __future__ import annotations

import contextlib
import email.utils
import http.server
import mimetypes
import socket
import socketserver
import sys
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from archiver.devserver.routing import (
    etag,
    etag_matches,
    not_modified_since,
    request_host,
    resolve_file,
    url_to_relpath,
)

if TYPE_CHECKING:
    from archiver.devserver.server import SiteServer

IDLE_TIMEOUT = 60.0  # seconds an idle keep-alive connection is kept open


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the server answered it."""

    method: str
    status: int  # HTTP status sent; 0 when the connection was dropped without an answer
    host: str
    path: str  # path with query, as requested
    fault: str = ""  # "", "fail", "fail_first", "fail_path", "drop" or "truncate"


class Handler(http.server.BaseHTTPRequestHandler):
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
        return cast(HTTPServer, self.server).site

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
        decision = site.dice.decide(host, path_with_query)
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
        headers = {"ETag": etag(body), "Last-Modified": email.utils.formatdate(mtime, usegmt=True)}
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
            return etag_matches(if_none_match, etag)
        since = self.headers.get("If-Modified-Since")
        return since is not None and not_modified_since(since, mtime)

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


class HTTPServer(http.server.ThreadingHTTPServer):
    """ThreadingHTTPServer (daemon threads) that knows its SiteServer and skips reverse DNS."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], site: SiteServer) -> None:
        self.site = site
        super().__init__(address, Handler)

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

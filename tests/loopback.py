"""Small HTTP servers the tests write themselves, on 127.0.0.1 port 0, that stop by themselves.

For what ``archiver.devserver.SiteServer`` does not do (301s for chosen URLs, a chosen charset
header, a routing table): a subclass passes its request handler; this class runs it in a thread
and shuts it down on leaving the ``with`` block, or after ``max_seconds`` if a test hangs.
"""

from __future__ import annotations

import http.server
import threading
import urllib.parse
from pathlib import Path
from typing import Any, Self

from archiver.devserver.routing import resolve_file, url_to_relpath


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A handler that keeps the test output clean, and answers with a body of a known length."""

    def log_message(self, *args: Any) -> None:
        return

    def site_file(self, root: Path) -> bytes | None:
        """The bytes of the file a proxy request names in ``root`` (laid out as ``archiver.devserver``
        serves it, a folder per host); None, after answering 404, when there is none."""
        url = urllib.parse.urlsplit(self.path)
        rel = url_to_relpath(url.path or "/", url.query)
        target = resolve_file(root.resolve(), (url.hostname or "").lower(), rel) if rel else None
        if target is None or not target.is_file():
            self.answer(404, {"Content-Type": "text/html"}, b"not found")
            return None
        return target.read_bytes()

    def answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class LoopbackServer:
    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler], max_seconds: float = 300) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.timer = threading.Timer(max_seconds, self.httpd.shutdown)
        self.timer.daemon = True

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> Self:
        self.thread.start()
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)

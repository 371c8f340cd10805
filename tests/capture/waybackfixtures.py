"""Web archives for the Wayback tests: WARC captures made without the archiver, a real pywb, site file lists.

- ``capture_warc``: fetch URLs through a loopback site server (as an HTTP proxy) with the standard
  library, and write each answer as a WARC response record (plus its request) with warcio, dated
  as asked: the tests' captures are made by another tool than the archiver.
- ``Pywb``: a real pywb (``wb-manager`` + ``wayback``) on 127.0.0.1, from its own venv (pywb pins
  brotlipy, which breaks Scrapy's brotli): ``$ARCHIVER_PYWB_BIN``, else ``<repo>/.venv-pywb/bin``.
  Started on a free port, stopped by its pid (SIGTERM), and by ``timeout`` after ``max_seconds``.
- ``site_urls``: the URL of every page of a site folder (``ROOT/<host>/...``), by the site server's mapping.
"""

from __future__ import annotations

import datetime as dt
import http.client
import io
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from tests.conftest import REPO_ROOT
from tests.processes import stop


def pywb_bin() -> Path:
    return Path(os.environ.get("ARCHIVER_PYWB_BIN") or REPO_ROOT / ".venv-pywb" / "bin")


def pywb_missing() -> str | None:
    """Why pywb cannot run here, or None."""
    found = pywb_bin()
    if not (found / "wayback").exists() or not (found / "wb-manager").exists():
        return (
            f"needs pywb's wayback and wb-manager in {found} (python3 -m venv .venv-pywb && "
            ".venv-pywb/bin/pip install pywb; or set ARCHIVER_PYWB_BIN)"
        )
    return None


def site_files(root: Path) -> dict[str, Path]:
    """Every page of ``ROOT/<host>/...`` by its URL, as the site server maps them (``index.html`` -> ``/dir/``)."""
    files = {}
    for host_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(host_dir.rglob("*.html")):
            rel = path.relative_to(host_dir).as_posix()
            if rel == "index.html" or rel.endswith("/index.html"):
                rel = rel.removesuffix("index.html")
            elif rel.startswith("html_News/NewsShare/"):
                rel = f"html_News/NewsShare.html?infoCode={path.stem}"
            files[f"http://{host_dir.name}/{rel}"] = path
    return files


def site_urls(root: Path) -> list[str]:
    return list(site_files(root))


def capture_warc(proxy_port: int, urls: Iterable[str], warc: Path, when: dt.datetime) -> int:
    """Fetch ``urls`` through the proxy on 127.0.0.1 and write them to ``warc``, dated ``when`` (+1 s each)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    count = 0
    with warc.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for i, url in enumerate(urls):
            parts = urlsplit(url)
            conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=30)
            sent = {"Host": parts.netloc, "User-Agent": "warc-fixture", "Accept-Encoding": "identity"}
            conn.request("GET", url, headers=sent)
            answer = conn.getresponse()
            body = answer.read()
            headers = [(k, v) for k, v in answer.getheaders() if k.lower() not in ("transfer-encoding", "connection")]
            conn.close()
            date = (when + dt.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            status = StatusAndHeaders(f"{answer.status} {answer.reason}", headers, protocol="HTTP/1.1")
            record = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=status,
                warc_headers_dict={"WARC-Date": date},
            )
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            request = writer.create_warc_record(
                url,
                "request",
                payload=io.BytesIO(b""),
                length=0,
                http_headers=StatusAndHeaders(f"GET {target} HTTP/1.1", list(sent.items()), is_http_request=True),
                warc_headers_dict={"WARC-Date": date},
            )
            writer.write_request_response_pair(request, record)
            count += 1
    return count


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Pywb:
    """pywb collections of WARC files (name -> files), served by ``wayback`` on 127.0.0.1 until stopped."""

    def __init__(self, root: Path, collections: dict[str, list[Path]], *, max_seconds: int = 600) -> None:
        self.root = root
        self.collections = collections
        self.max_seconds = max_seconds
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, collection: str) -> str:
        return f"http://127.0.0.1:{self.port}/{collection}"

    def _manager(self, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        subprocess.run(
            [str(pywb_bin() / "wb-manager"), *args],
            cwd=self.root,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> Pywb:
        self.root.mkdir(parents=True, exist_ok=True)
        for name, warcs in self.collections.items():
            self._manager("init", name)
            self._manager("add", name, *map(str, warcs))
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        log = (self.root / "wayback.log").open("wb")
        self.process = subprocess.Popen(
            ["timeout", str(self.max_seconds), str(pywb_bin() / "wayback"), "-p", str(self.port), "-b", "127.0.0.1"],
            cwd=self.root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                    self.url(next(iter(self.collections))) + "/cdx?url=x", timeout=2
                ):
                    return self
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"pywb did not start: {(self.root / 'wayback.log').read_text(errors='replace')[-2000:]}")

    def stop(self) -> None:
        if self.process is None:
            return
        process, self.process = self.process, None
        stop(process)  # pywb ignores SIGINT; `timeout` passes SIGTERM on

    def __enter__(self) -> Pywb:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

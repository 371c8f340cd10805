"""A real pywb ``wayback`` server on 127.0.0.1 for the tests: a collection made from given WARC files.

pywb lives in its own venv (``.venv-pywb``, made by ``.ci/run``): it pins brotlipy, whose
``brotli`` package shadows the Brotli module Scrapy decodes ``br`` with. The tests find its
``wayback`` and ``wb-manager`` in ``ARCHIVER_PYWB_BIN`` (default ``<repo>/.venv-pywb/bin``) and
skip with a reason when they are not there. Shared with the Wayback backfill's tests (issue 12).

    with PywbServer(tmp_path / "pywb", warcs) as pywb:   # wb-manager init + add, then wayback
        pywb.cdx("http://finews.withounder.com/")        # the CDX API's JSON lines, as dicts
        pywb.get("20260101000000id_/http://...")          # (status, headers, body) of a raw replay

The server listens on a free port of 127.0.0.1 only, is stopped with SIGTERM (pywb ignores
SIGINT) and killed if it has not stopped after a few seconds; a server left running stops by
itself after ``max_seconds``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from tests.processes import stop

REPO = Path(__file__).resolve().parent.parent
COLLECTION = "archive"


def pywb_bin() -> Path:
    """Where ``wayback`` and ``wb-manager`` are: ``$ARCHIVER_PYWB_BIN`` or the repository's ``.venv-pywb/bin``."""
    return Path(os.environ.get("ARCHIVER_PYWB_BIN") or REPO / ".venv-pywb" / "bin")


def require_pywb() -> Path:
    """The pywb bin folder; skips the test when pywb is not installed there."""
    folder = pywb_bin()
    if not (folder / "wayback").exists() or not (folder / "wb-manager").exists():
        pytest.skip(
            f"needs pywb in {folder} (python3 -m venv .venv-pywb && .venv-pywb/bin/pip install pywb, "
            "or set ARCHIVER_PYWB_BIN)"
        )
    return folder


def side_tool(name: str) -> Path:
    """Another command of the pywb venv (``wacz``, ``cdxj-indexer``, ``python``); skips when it is absent."""
    path = require_pywb() / name
    if not path.exists():
        pytest.skip(f"needs {name} in {path.parent} (.venv-pywb/bin/pip install wacz cdxj-indexer)")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PywbServer:
    """``wb-manager init`` + ``add`` of ``warcs`` into a collection under ``root``, served by ``wayback``."""

    def __init__(
        self,
        root: Path,
        warcs: Iterable[Path] = (),
        *,
        collection: str = COLLECTION,
        config: str | None = None,
        max_seconds: float = 300,
    ) -> None:
        self.root = root
        self.warcs = list(warcs)
        self.collection = collection
        self.config = config  # a config.yaml of its own (e.g. a collection on an archive's warc/ folder)
        self.max_seconds = max_seconds
        self.bin = require_pywb()
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    # --- the collection ---------------------------------------------------------------------------
    def _manager(self, *args: str) -> None:
        result = subprocess.run(
            [str(self.bin / "wb-manager"), *args], cwd=self.root, capture_output=True, text=True, timeout=120
        )
        if result.returncode != 0:
            raise RuntimeError(f"wb-manager {' '.join(args)}: {result.stderr[-2000:]}")

    def prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.config is not None:
            (self.root / "config.yaml").write_text(self.config)
            return
        if not (self.root / "collections" / self.collection).is_dir():
            self._manager("init", self.collection)
        if self.warcs:
            self._manager("add", self.collection, *map(str, self.warcs))

    # --- the server -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.collection}/"

    def start(self) -> PywbServer:
        self.prepare()
        self.port = _free_port()
        log = (self.root / "wayback.log").open("wb")
        # `timeout` makes a server the test forgot stop by itself; SIGTERM is what stops wayback.
        command = ["timeout", "-s", "TERM", str(int(self.max_seconds)), str(self.bin / "wayback")]
        command += ["-p", str(self.port), "-b", "127.0.0.1", "-t", "4", "-d", str(self.root)]
        self.proc = subprocess.Popen(command, cwd=self.root, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"wayback exited: {(self.root / 'wayback.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("wayback did not start listening in 30 s")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            stop(proc)  # SIGTERM reaches wayback through timeout(1), which forwards it

    def __enter__(self) -> PywbServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # --- requests ---------------------------------------------------------------------------------
    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """``GET /<collection>/<path>``: status, headers (lower-case names) and body; no redirect followed."""

        class _NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        opener = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with opener.open(request, timeout=30) as answer:
                return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()

    def cdx(self, url: str, **params: str) -> list[dict[str, str]]:
        """The CDX API's answer for ``url`` (``output=json``: one object per line; a miss is empty)."""
        query = urllib.parse.urlencode({"url": url, "output": "json", **params})
        status, _, body = self.get(f"cdx?{query}")
        assert status == 200, (status, body[:500])
        return [json.loads(line) for line in body.decode().splitlines() if line.strip()]

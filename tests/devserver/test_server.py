"""archiver.siteserver: URL mapping, safety, HTTP semantics, fault injection, request log, lifetime."""

from __future__ import annotations

import email.utils
import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from archiver.devserver.routing import url_to_relpath
from archiver.devserver.server import SiteServer

HOST = "news.example"
SHARE = "/html_News/NewsShare.html?infoCode=NW1"

Response = tuple[int, dict[str, str], bytes]
SiteServerFactory = Callable[..., SiteServer]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A two-host site with the page kinds of finews, a secret outside the host and a bad symlink."""
    site = tmp_path / "root"
    files = {
        f"{HOST}/index.html": "<p>home</p>",
        f"{HOST}/a.html": "<p>a</p>",
        f"{HOST}/emnews/index.html": "<p>emnews</p>",
        f"{HOST}/html_News/NewsShare/NW1.html": "<p>share</p>",
        "other.example/index.html": "<p>other</p>",
        "secret.txt": "secret",
    }
    for name, text in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text, encoding="utf-8")
    (site / HOST / "escape.html").symlink_to(site / "secret.txt")
    return site


def fetch(
    server: SiteServer, target: str, *, host: str = HOST, method: str = "GET", headers: dict[str, str] | None = None
) -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request(method, target, headers={"Host": host, **(headers or {})})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


# -- URL to file --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "rel"),
    [
        ("/", "", "index.html"),
        ("/emnews/", "", "emnews/index.html"),
        ("/a.html", "", "a.html"),
        ("/cat/%E6%96%B0.html", "", "cat/新.html"),
        ("/html_News/NewsShare.html", "infoCode=NW1", "html_News/NewsShare/NW1.html"),
        ("/dir/name", "k=v-1.2_3", "dir/name/v-1.2_3.html"),
    ],
)
def test_url_to_relpath_maps_like_the_replica(path: str, query: str, rel: str) -> None:
    assert url_to_relpath(path, query) == rel


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/../x.html", ""),
        ("/a/%2e%2e/%2e%2e/x.html", ""),
        ("/a\\..\\x.html", ""),
        ("/a%00.html", ""),
        ("/%ff.html", ""),
        ("/html_News/NewsShare.html", "infoCode=NW1&x=2"),
        ("/html_News/NewsShare.html", "infoCode=../../secret"),
        ("/html_News/NewsShare.html", "infoCode=a%2Fb"),
        ("/html_News/NewsShare.html", "infoCode="),
        ("/html_News/", "infoCode=NW1"),
    ],
)
def test_url_to_relpath_refuses_unsafe_urls(path: str, query: str) -> None:
    assert url_to_relpath(path, query) is None


@pytest.mark.parametrize(
    ("target", "body"),
    [
        ("/", b"<p>home</p>"),
        ("/a.html", b"<p>a</p>"),
        ("/emnews/", b"<p>emnews</p>"),
        (SHARE, b"<p>share</p>"),
    ],
)
def test_serves_the_mapped_file(site_server: SiteServerFactory, root: Path, target: str, body: bytes) -> None:
    assert fetch(site_server(root), target)[::2] == (200, body)


def test_answers_html_without_charset_and_with_validators(site_server: SiteServerFactory, root: Path) -> None:
    status, headers, body = fetch(site_server(root), "/a.html")
    assert status == 200
    assert headers["Content-Type"] == "text/html"  # share pages declare their charset in <meta> only
    assert headers["Content-Length"] == str(len(body))
    assert headers["ETag"].startswith('"')
    assert email.utils.parsedate_to_datetime(headers["Last-Modified"])


def test_routes_by_host_header_without_port_and_case(site_server: SiteServerFactory, root: Path) -> None:
    server = site_server(root)
    assert fetch(server, "/", host="OTHER.example:8080")[::2] == (200, b"<p>other</p>")


def test_absolute_form_request_is_routed_by_its_url(site_server: SiteServerFactory, root: Path) -> None:
    server = site_server(root)
    # The URL names the host; a proxy ignores the Host header of an absolute-form request.
    status, _, body = fetch(server, f"http://{HOST}{SHARE}", host="other.example")
    assert (status, body) == (200, b"<p>share</p>")
    assert server.requests[-1].host == HOST
    assert server.requests[-1].path == SHARE


@pytest.mark.parametrize(
    ("target", "host"),
    [
        ("/missing.html", HOST),
        ("/html_News/NewsShare.html?infoCode=NW404", HOST),
        ("/html_News/NewsShare.html?infoCode=NW1&from=x", HOST),
        ("/", "unknown.example"),
        ("/", ".."),
        ("/", ""),
    ],
)
def test_missing_or_unmappable_urls_answer_404(
    site_server: SiteServerFactory, root: Path, target: str, host: str
) -> None:
    assert fetch(site_server(root), target, host=host)[0] == 404


@pytest.mark.parametrize(
    "target", ["/../secret.txt", "/%2e%2e/secret.txt", "/emnews/..%2f..%2fsecret.txt", "/escape.html"]
)
def test_paths_outside_the_host_folder_are_refused(site_server: SiteServerFactory, root: Path, target: str) -> None:
    status, _, body = fetch(site_server(root), target)
    assert status == 404
    assert b"secret" not in body


def test_folder_without_slash_redirects(site_server: SiteServerFactory, root: Path) -> None:
    status, headers, _ = fetch(site_server(root), "/emnews")
    assert status == 301
    assert headers["Location"] == f"http://{HOST}/emnews/"


def test_other_methods_are_not_allowed(site_server: SiteServerFactory, root: Path) -> None:
    status, headers, _ = fetch(site_server(root), "/a.html", method="POST")
    assert (status, headers["Allow"]) == (405, "GET, HEAD")


# -- HTTP semantics -----------------------------------------------------------------------------------


def test_conditional_requests_answer_304(site_server: SiteServerFactory, root: Path) -> None:
    server = site_server(root)
    _, headers, _ = fetch(server, "/a.html")
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert fetch(server, "/a.html", headers={"If-None-Match": etag})[::2] == (304, b"")
    assert fetch(server, "/a.html", headers={"If-None-Match": f'"x", W/{etag}'})[0] == 304
    assert fetch(server, "/a.html", headers={"If-Modified-Since": modified})[0] == 304
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
    assert fetch(server, "/a.html", headers={"If-None-Match": '"other"', "If-Modified-Since": modified})[0] == 200
    assert fetch(server, "/a.html", headers={"If-Modified-Since": "not a date"})[0] == 200
    assert server.count(status=304) == 3


def test_head_sends_the_headers_of_get_without_body(site_server: SiteServerFactory, root: Path) -> None:
    server = site_server(root)
    _, get_headers, body = fetch(server, "/a.html")
    status, headers, head_body = fetch(server, "/a.html", method="HEAD")
    assert (status, head_body) == (200, b"")
    assert headers["Content-Length"] == str(len(body))
    assert headers["ETag"] == get_headers["ETag"]


def test_connections_are_kept_alive(site_server: SiteServerFactory, root: Path) -> None:
    server = site_server(root)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        for target in ("/a.html", "/missing.html", "/"):
            conn.request("GET", target, headers={"Host": HOST})
            conn.getresponse().read()
            sock = conn.sock
            assert sock is not None  # http.client closes the socket when the server asks to
    finally:
        conn.close()
    assert [r.status for r in server.requests] == [200, 404, 200]


# -- faults -------------------------------------------------------------------------------------------


def test_fail_answers_500_or_503(site_server: SiteServerFactory, root: Path) -> None:
    server = site_server(root, fail=1.0)
    statuses = {fetch(server, "/a.html")[0] for _ in range(12)}
    assert statuses <= {500, 503}
    assert {r.fault for r in server.requests} == {"fail"}


def test_drop_closes_without_an_answer(site_server: SiteServerFactory, root: Path) -> None:
    server = site_server(root, drop=1.0)
    with pytest.raises(http.client.RemoteDisconnected):
        fetch(server, "/a.html")
    assert server.requests[-1].status == 0
    assert server.stats()["drop"] == 1


def test_truncate_sends_half_of_the_announced_body(site_server: SiteServerFactory, root: Path) -> None:
    server = site_server(root, truncate=1.0)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", "/a.html", headers={"Host": HOST})
        resp = conn.getresponse()
        with pytest.raises(http.client.IncompleteRead) as excinfo:
            resp.read()
    finally:
        conn.close()
    assert excinfo.value.partial == b"<p>a</p>"[:4]
    assert server.requests[-1].fault == "truncate"
    assert fetch(server, "/a.html", method="HEAD")[0] == 200  # a HEAD has no body to cut


def test_delay_waits_before_answering(site_server: SiteServerFactory, root: Path) -> None:
    server = site_server(root, delay=0.3)
    started = time.monotonic()
    assert fetch(server, "/a.html")[0] == 200
    assert time.monotonic() - started >= 0.3


def test_fail_first_fails_the_first_request_of_each_url(site_server: SiteServerFactory, root: Path) -> None:
    server = site_server(root, fail_first=True)
    assert [fetch(server, t)[0] for t in ("/a.html", "/a.html", SHARE, SHARE, "/a.html")] == [503, 200, 503, 200, 200]


def test_fail_paths_always_answer_their_status(site_server: SiteServerFactory, root: Path) -> None:
    server = site_server(root, fail_paths={"infoCode=NW1": 404, "/a.html": 500})
    assert fetch(server, SHARE)[0] == 404  # the file exists: the share page is made to vanish
    assert fetch(server, "/a.html")[0] == 500
    assert fetch(server, "/")[0] == 200
    assert server.count(path_contains="infoCode") == 1


def test_faults_are_reproducible_for_a_seed(site_server: SiteServerFactory, root: Path) -> None:
    def statuses(seed: int) -> list[int]:
        server = site_server(root, fail=0.5, seed=seed)
        return [fetch(server, "/a.html")[0] for _ in range(16)]

    assert statuses(7) == statuses(7)
    assert statuses(7) != statuses(8)


def test_invalid_fault_options_are_refused(root: Path) -> None:
    with pytest.raises(ValueError, match="probability"):
        SiteServer(root, fail=1.5)
    with pytest.raises(ValueError, match="exceed"):
        SiteServer(root, fail=0.6, drop=0.6)
    with pytest.raises(ValueError, match="loopback"):
        SiteServer(root, host="0.0.0.0")


# -- request log --------------------------------------------------------------------------------------


def test_requests_are_recorded_counted_and_logged(site_server: SiteServerFactory, root: Path, tmp_path: Path) -> None:
    log = tmp_path / "requests.log"
    server = site_server(root, log_path=log)
    fetch(server, "/a.html")
    fetch(server, f"http://{HOST}{SHARE}")
    fetch(server, "/missing.html", method="HEAD")
    assert [(r.method, r.status, r.host, r.path) for r in server.requests] == [
        ("GET", 200, HOST, "/a.html"),
        ("GET", 200, HOST, SHARE),
        ("HEAD", 404, HOST, "/missing.html"),
    ]
    assert (server.count(), server.count(status=200), server.count(path_contains="NewsShare")) == (3, 2, 1)
    assert server.stats() == {"requests": 3, "200": 2, "404": 1}
    server.stop()
    assert log.read_text(encoding="utf-8").splitlines() == [
        f"200 {HOST} /a.html",
        f"200 {HOST} {SHARE}",
        f"404 {HOST} /missing.html",
    ]
    server.reset_log()
    assert server.requests == []
    assert server.count() == 0


# -- lifetime -----------------------------------------------------------------------------------------


def test_stops_by_itself_after_max_seconds(root: Path) -> None:
    server = SiteServer(root, max_seconds=0.3)
    port = server.start()
    assert server.wait(timeout=5)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_stop_closes_idle_keep_alive_connections(root: Path) -> None:
    with SiteServer(root) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("GET", "/a.html", headers={"Host": HOST})
        conn.getresponse().read()
        sock = conn.sock
        assert sock is not None
    try:
        assert sock.recv(1) == b""  # the server closed its end
    finally:
        conn.close()


def test_command_line_writes_the_port_file_and_exits_on_time(root: Path, tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    command = [sys.executable, "-m", "archiver.devserver", str(root), "--port-file", str(port_file)]
    command += ["--max-seconds", "1"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as proc:
        try:
            deadline = time.monotonic() + 10
            while not port_file.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            port = int(port_file.read_text())
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                conn.request("GET", f"http://{HOST}/a.html")
                assert conn.getresponse().status == 200
            finally:
                conn.close()
            out, _ = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0
    assert out.splitlines()[0] == f"serving {root} on 127.0.0.1:{port}"

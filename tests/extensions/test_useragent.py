"""The User-Agent names the project and the operator's contact (ARCHIVER_CONTACT); USER_AGENT set by the user wins."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from scrapy.settings import Settings

import archiver
from archiver import settings as project_settings
from archiver.exceptions import SettingError
from archiver.extensions.useragent import UserAgentAddon, contact, user_agent
from tests.crawlrun import run_archiver

V = archiver.__version__


def composed(**cmdline: object) -> str:
    """USER_AGENT after the add-on, with the project's settings and these command-line ones."""
    settings = Settings()
    settings.setmodule(project_settings, priority="project")
    for name, value in cmdline.items():
        settings.set(name, value, priority="cmdline")
    UserAgentAddon().update_settings(settings)
    return str(settings["USER_AGENT"])


def test_default_names_the_project_and_version_without_a_placeholder() -> None:
    assert composed() == f"archiver/{V} (Scrapy archiver for Jekyll news sites)"
    assert "github" not in composed() and "example" not in composed()


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("ops@example.org", "+mailto:ops@example.org"),
        ("  mailto:ops@example.org ", "+mailto:ops@example.org"),
        ("https://example.org/crawler", "+https://example.org/crawler"),
        ("http://example.org/", "+http://example.org/"),
    ],
)
def test_a_contact_goes_into_the_comment(value: str, sent: str) -> None:
    assert composed(ARCHIVER_CONTACT=value) == f"archiver/{V} ({sent})"


def test_a_user_agent_set_by_the_user_wins() -> None:
    assert composed(ARCHIVER_CONTACT="ops@example.org", USER_AGENT="my-bot/1") == "my-bot/1"
    settings = Settings({"USER_AGENT": "spider's own"}, priority="spider")
    UserAgentAddon().update_settings(settings)
    assert settings["USER_AGENT"] == "spider's own"


@pytest.mark.parametrize(
    "value", ["ops@example.org\r\nX-Evil: 1", "ops@example.org\n", "a\x00@example.org", "tab\t@example.org"]
)
def test_newlines_and_control_characters_are_refused(value: str) -> None:
    with pytest.raises(SettingError, match="newline or a control character"):
        composed(ARCHIVER_CONTACT=value)


@pytest.mark.parametrize("value", ["ops", "ftp://example.org/", "ops at example.org", "https://x.org/(a)"])
def test_a_contact_that_is_no_address_or_url_is_refused(value: str) -> None:
    with pytest.raises(SettingError, match="neither an e-mail address nor an http"):
        contact(Settings({"ARCHIVER_CONTACT": value}))


def test_user_agent_shape() -> None:
    assert user_agent("", "9.9") == "archiver/9.9 (Scrapy archiver for Jekyll news sites)"
    assert user_agent("mailto:a@b.org", "9.9") == "archiver/9.9 (+mailto:a@b.org)"


# -- what a crawl really sends ----------------------------------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    agents: list[str]

    def do_GET(self) -> None:
        self.agents.append(self.headers.get("User-Agent", ""))
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[str]]]:
    agents: list[str] = []
    handler = type("Handler", (_Recorder,), {"agents": agents})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", agents
    finally:
        server.shutdown()
        server.server_close()


def test_the_crawl_sends_the_contact(tmp_path: Path, recorder: tuple[str, list[str]]) -> None:
    proxy, agents = recorder
    result = run_archiver(
        "crawl", "finews", "--output", str(tmp_path), "-s", "ARCHIVER_CONTACT=ops@example.org",
        "-s", "RETRY_ENABLED=False", "--start-url", "http://finews.withounder.com/", proxy=proxy,
    )  # fmt: skip
    assert agents, result.stderr[-2000:]
    assert set(agents) == {f"archiver/{V} (+mailto:ops@example.org)"}


def test_a_bad_contact_stops_the_run_before_it_fetches(tmp_path: Path, recorder: tuple[str, list[str]]) -> None:
    proxy, agents = recorder
    result = run_archiver(
        "crawl", "finews", "--output", str(tmp_path), "-s", "ARCHIVER_CONTACT=ops@example.org\nX: y",
        "--start-url", "http://finews.withounder.com/", proxy=proxy,
    )  # fmt: skip
    assert result.returncode == 64, result.stderr[-2000:]
    assert "ARCHIVER_CONTACT=" in result.stderr.strip().splitlines()[-1]
    assert agents == []

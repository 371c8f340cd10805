"""The archiver deployed to a real Scrapyd, as the README's Scrapyd section tells users to.

A Scrapyd on 127.0.0.1 (its own folder and config, stopped by the fixture), the project deployed
with ``scrapyd-deploy archive`` from a copy of the checkout, jobs scheduled through
``schedule.json`` with settings and spider arguments, the demo site behind ``http_proxy``. The
archive is written by the job, a second job finds nothing new, a job scheduled while another run
holds the lock says ``locked``, and a changed site ends the job with exit status 4, which Scrapyd
logs.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from archiver.devserver.server import SiteServer
from tests import sitechanges
from tests.crawlrun import REPO, SITE_URL, archiver_env
from tests.processes import stop

pytest.importorskip("scrapyd", reason="needs Scrapyd (pip install -e '.[test]')")
pytestmark = pytest.mark.slow

DEMO = REPO / "spiders" / "demo" / "site"
# What `scrapyd-deploy` packages: the project's tracked files, not the checkout's caches or outputs.
PROJECT_FILES = ("archiver", "spiders", "pipelines", "scrapy.cfg", "pyproject.toml", "README.md")
SCRAPYD_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Scrapyd:
    url: str
    log: Path

    def call(self, endpoint: str, *, post: bool = False, **fields: str) -> dict[str, Any]:
        """One Scrapyd API call, its fields in the query or (``post``) the body. Never through a proxy."""
        encoded = urllib.parse.urlencode(fields)
        url, data = (f"{self.url}{endpoint}", encoded.encode()) if post else (f"{self.url}{endpoint}?{encoded}", None)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url, data=data, timeout=30) as answer:
            reply: dict[str, Any] = json.loads(answer.read())
        assert reply["status"] == "ok", reply
        return reply

    def run_job(self, output: Path, *, timeout: float = 120, **fields: str) -> str:
        """Schedule a finews job into ``output`` and wait until Scrapyd says it finished."""
        job = self.call(
            "schedule.json",
            post=True,
            project="archiver",
            spider="finews",
            setting=f"ARCHIVER_OUTPUT_DIR={output}",
            start_url=SITE_URL,
            **fields,
        )["jobid"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            jobs = self.call("listjobs.json", project="archiver")
            if any(j["id"] == job for j in jobs["finished"]):
                return str(job)
            time.sleep(0.2)
        raise AssertionError(f"job {job} did not finish in {timeout} s:\n{self.log.read_text()[-3000:]}")

    def ended(self, job: str) -> str:
        """Scrapyd's own line on how the job's process ended ("Process finished", "Process died: exitstatus=N")."""
        lines = [line for line in self.log.read_text().splitlines() if f"job='{job}'" in line and "Process " in line]
        return next(line for line in lines if "started" not in line)

    def job_log(self, job: str) -> str:
        return next(self.log.parent.glob(f"logs/archiver/finews/{job}.log")).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def site() -> Iterator[SiteServer]:
    with SiteServer(DEMO, max_seconds=600) as server:
        yield server


@pytest.fixture(scope="module")
def scrapyd(site: SiteServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scrapyd]:
    home = tmp_path_factory.mktemp("scrapyd")
    port = free_port()
    (home / "scrapyd.conf").write_text(
        f"[scrapyd]\nbind_address = 127.0.0.1\nhttp_port = {port}\npoll_interval = 0.2\n"
        f"eggs_dir = {home / 'eggs'}\nlogs_dir = {home / 'logs'}\ndbs_dir = {home / 'dbs'}\n",
        encoding="utf-8",
    )
    log = home / "scrapyd.out"
    # Jobs inherit Scrapyd's environment: that is how they reach the site on loopback.
    env = {**archiver_env(site.proxy_url), "PYTHONPATH": ""}
    with open(log, "wb") as out:
        daemon = subprocess.Popen([SCRAPYD_BIN / "scrapyd"], cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Scrapyd(f"http://127.0.0.1:{port}/", log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                server.call("daemonstatus.json")
                break
            except OSError:
                if daemon.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"Scrapyd did not start:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.1)
        deploy(home / "checkout", server.url)
        yield server
    finally:
        stop(daemon, timeout=30)


def deploy(checkout: Path, url: str) -> None:
    """``scrapyd-deploy archive`` from a copy of the checkout, with the target pointed at this Scrapyd."""
    checkout.mkdir()
    for name in PROJECT_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, checkout / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, checkout / name)
    config = (checkout / "scrapy.cfg").read_text(encoding="utf-8")
    assert "url = http://127.0.0.1:6800/" in config  # the target the README names
    (checkout / "scrapy.cfg").write_text(config.replace("http://127.0.0.1:6800/", url), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [SCRAPYD_BIN / "scrapyd-deploy", "archive"], cwd=checkout, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and '"status": "ok"' in done.stdout, done.stdout + done.stderr


def runs(output: Path) -> list[dict[str, Any]]:
    lines = (output / ".archiver" / "runs.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_the_deployed_project_lists_its_spider(scrapyd: Scrapyd) -> None:
    assert scrapyd.call("listprojects.json")["projects"] == ["archiver"]
    assert scrapyd.call("listspiders.json", project="archiver")["spiders"] == ["finews"]


def test_a_job_archives_the_site_and_the_next_finds_it_settled(scrapyd: Scrapyd, tmp_path: Path) -> None:
    output = tmp_path / "archive"
    first = scrapyd.run_job(output)
    posts = sorted(p.name for p in (output / "_posts").glob("*.md"))
    assert posts, scrapyd.job_log(first)[-3000:]
    assert [r["status"] for r in runs(output)] == ["ok"]
    assert "[archiver.commands.crawl] INFO: posts: " in scrapyd.job_log(first)
    before = {p.name: p.stat().st_mtime_ns for p in (output / "_posts").iterdir()}
    assert "Process finished" in scrapyd.ended(first)
    scrapyd.run_job(output)
    assert {p.name: p.stat().st_mtime_ns for p in (output / "_posts").iterdir()} == before
    second = runs(output)[-1]
    assert second["status"] == "ok"
    assert second["posts"]["new"] == 0


def test_a_job_while_another_run_holds_the_lock_says_locked(scrapyd: Scrapyd, tmp_path: Path) -> None:
    output = tmp_path / "archive"
    (output / ".archiver").mkdir(parents=True)
    with open(output / ".archiver" / "lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        job = scrapyd.run_job(output)
    assert [r["status"] for r in runs(output)] == ["locked"]
    assert not (output / "_posts").exists()
    assert "another run holds the lock" in scrapyd.job_log(job)
    assert "Process died: exitstatus=3 " in scrapyd.ended(job)


def test_a_changed_site_ends_the_job_with_exit_status_4(
    scrapyd: Scrapyd, site: SiteServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = sitechanges.changed_copy(DEMO, "title_out_of_h1", tmp_path / "site")
    monkeypatch.setattr(site, "root", changed.resolve())  # the same server (and proxy) serves the changed copy
    output = tmp_path / "archive"
    job = scrapyd.run_job(output)
    assert runs(output)[-1]["status"] == "site_changed"
    assert "the spider needs updating" in scrapyd.job_log(job)
    assert "Process died: exitstatus=4 " in scrapyd.ended(job)

"""Distributed crawling on scrapy-redis (archiver.distributed, archiver.redisrun), against a real Redis.

The tests start Debian's ``redis-server`` on 127.0.0.1 and a free port, with no persistence, and
stop it; they skip when it is not installed (CI: ``apt-get install redis-server``). Crawls run
in subprocesses against the demo site served by ``SiteServer``, which counts the requests.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("scrapy_redis", reason="needs scrapy-redis: pip install -e '.[test]'")

import redis
from scrapy.settings import Settings

from archiver.devserver.server import SiteServer
from archiver.distributed import addon as distributed
from archiver.exceptions import SettingError
from archiver.running import workers
from tests.crawlrun import REPO, SITE_URL, archiver_env, children, crawl, run_archiver, workers_run_under_way

pytestmark = pytest.mark.slow
POST_PAGE = r"/\d{4}/\d{2}/\d{2}/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of our own on 127.0.0.1, no persistence; stopped after the module's tests."""
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.skip("needs Debian's redis-server (apt-get install redis-server)")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    command = [executable, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen([*command, "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("redis-server did not start")
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for folder in ("_posts", "category")
        for p in sorted((root / folder).iterdir())
    }


def post_page_fetches(server: SiteServer) -> Counter[str]:
    return Counter(r.path for r in server.requests if r.status == 200 and re.search(POST_PAGE, r.path))


# --- the switch -----------------------------------------------------------------------------------
def test_without_a_url_nothing_of_redis_is_imported() -> None:
    code = (
        "import sys\n"
        "from scrapy.settings import Settings\n"
        "from archiver import settings as project\n"
        "from archiver.distributed.addon import RedisAddon\n"
        "s = Settings(); s.setmodule(project); s.set('ARCHIVER_REDIS_URL', '')\n"
        "RedisAddon().update_settings(s)\n"
        "assert s['SCHEDULER'] == 'scrapy.core.scheduler.Scheduler', s['SCHEDULER']\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('redis', 'scrapy_redis', 'archiver')))\n"
    )
    env = {**archiver_env(None), "ARCHIVER_REDIS_URL": ""}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "redis" not in result.stdout.replace("archiver.", "") and "redisrun" not in result.stdout


def test_the_switch_names_scrapy_redis_and_checks_the_url() -> None:
    from scrapy.settings import Settings

    from archiver import settings as project

    settings = Settings()
    settings.setmodule(project)
    settings.set("ARCHIVER_REDIS_URL", "redis://:secret@127.0.0.1:1/3", priority="cmdline")
    distributed.RedisAddon().update_settings(settings)
    assert settings["SCHEDULER"] == "archiver.distributed.scheduler.RunScheduler"
    assert settings["DUPEFILTER_CLASS"] == "scrapy_redis.dupefilter.RFPDupeFilter"
    assert settings.getbool("SCHEDULER_PERSIST")  # workers never flush the shared queue on close
    assert settings["SCHEDULER_QUEUE_KEY"] == "archiver:%(spider)s:requests"
    assert "archiver.distributed.sharedlock.SharedRunLock" in str(settings.getdict("EXTENSIONS"))
    for bad in ("http://127.0.0.1:6379", "127.0.0.1:6379"):
        settings.set("ARCHIVER_REDIS_URL", bad, priority="cmdline")
        with pytest.raises(SettingError, match="not a Redis URL"):
            distributed.RedisAddon().update_settings(settings)


@pytest.mark.parametrize(
    ("value", "ok"), [("0", True), ("2.5", True), ("3600", True), ("-1", False), ("x", False), ("3601", False)]
)
def test_the_idle_timeout_is_checked_at_start(value: str, ok: bool) -> None:
    settings = Settings({"ARCHIVER_REDIS_IDLE_TIMEOUT": value})
    if ok:
        assert distributed.idle_timeout(settings) == float(value)
    else:
        with pytest.raises(SettingError, match="ARCHIVER_REDIS_IDLE_TIMEOUT"):
            distributed.idle_timeout(settings)


def test_stats_and_exit_codes_merge() -> None:
    merged = workers.merge_stats(
        [
            {"downloader/response_count": 3, "archiver/index/posts": 7, "finish_reason": "finished", "x": "a"},
            {"downloader/response_count": 4, "archiver/index/posts": 7, "finish_reason": "shutdown"},
        ]
    )
    assert merged["downloader/response_count"] == 7 and merged["archiver/index/posts"] == 7
    assert merged["finish_reason"] == "shutdown"
    # A worker shorter than a second has no per-minute rate (None); the others' count, in any order.
    for rates in ([None, 60.0, 30.0], [60.0, None, 30.0], [None, None]):
        merged = workers.merge_stats([{"items_per_minute": rate} for rate in rates])
        assert merged["items_per_minute"] == (90.0 if len(rates) == 3 else None)
    assert workers.merge_codes([0, 0]) == 0
    assert workers.merge_codes([0, 2]) == 2
    assert workers.merge_codes([2, 1, 0]) == 1
    assert workers.merge_codes([0, -9]) == 1  # killed by a signal


# --- the run protocol -----------------------------------------------------------------------------
def scripts(client: redis.Redis) -> dict[str, Any]:
    from archiver.distributed import scheduler as redisrun

    return {name: client.register_script(text) for name, text in redisrun._SCRIPTS.items()}


def test_first_worker_clears_leftovers_and_last_one_out_deletes_the_run(client: redis.Redis) -> None:
    keys = distributed.run_keys({"ARCHIVER_REDIS_KEY": "t:%(spider)s"}, "finews")
    run = scripts(client)
    data = [keys["requests"], keys["dupefilter"], keys["captures"], keys["joined"]]
    head = [keys["workers"], keys["busy"]]
    client.sadd(keys["dupefilter"], "left-by-a-killed-run")
    assert run["join"](keys=[*head, *data], args=["a", 15000]) == 1
    assert not client.exists(keys["dupefilter"])
    client.sadd(keys["dupefilter"], "seen")
    assert run["join"](keys=[*head, *data], args=["b", 15000]) == 0  # joins, clears nothing
    assert client.exists(keys["dupefilter"])
    # Busy workers or a queued request keep the run going.
    assert run["quiet"](keys=[*head, keys["requests"], keys["joined"]], args=[0]) == 0
    run["beat"](keys=head, args=["a", 15000, 0])
    run["beat"](keys=head, args=["b", 15000, 0])
    assert run["quiet"](keys=[*head, keys["requests"], keys["joined"]], args=[0]) == 1
    client.zadd(keys["requests"], {"r": 0})
    assert run["quiet"](keys=[*head, keys["requests"], keys["joined"]], args=[0]) == 0
    assert run["leave"](keys=[*head, *data], args=["a"]) == 0
    assert client.exists(keys["requests"])
    assert run["leave"](keys=[*head, *data], args=["b"]) == 1
    assert not client.keys("t:finews:*")


def test_taking_the_last_requests_marks_the_worker_busy_in_the_same_step(client: redis.Redis) -> None:
    # With no grace period, "queue empty and nobody busy" must never hold while a worker holds
    # the run's last requests: the take that empties the queue marks its worker busy.
    keys = distributed.run_keys({"ARCHIVER_REDIS_KEY": "take:%(spider)s"}, "finews")
    run = scripts(client)
    head, data = (
        [keys["workers"], keys["busy"]],
        [keys["requests"], keys["dupefilter"], keys["captures"], keys["joined"]],
    )
    quiet = [*head, keys["requests"], keys["joined"]]
    for worker in ("a", "b"):
        run["join"](keys=[*head, *data], args=[worker, 15000])
        run["beat"](keys=head, args=[worker, 15000, 0])
    client.zadd(keys["requests"], {"low": 5, "high": -10, "mid": 0})
    assert run["take"](keys=[keys["requests"], keys["busy"]], args=["a", 2]) == [b"high", b"mid"]
    assert run["quiet"](keys=quiet, args=[0]) == 0  # one request left
    assert run["take"](keys=[keys["requests"], keys["busy"]], args=["b", 8]) == [b"low"]
    run["beat"](keys=head, args=["a", 15000, 0])  # a is done with its two
    assert client.zcard(keys["requests"]) == 0
    assert run["quiet"](keys=quiet, args=[0]) == 0  # b holds the last one
    assert run["take"](keys=[keys["requests"], keys["busy"]], args=["a", 8]) == []
    assert client.hget(keys["busy"], "a") == b"0"  # taking nothing does not mark a worker busy
    run["beat"](keys=head, args=["b", 15000, 0])
    assert run["quiet"](keys=quiet, args=[0]) == 1
    for worker in ("a", "b"):
        run["leave"](keys=[*head, *data], args=[worker])


def test_a_run_that_expects_n_workers_is_not_over_before_they_all_joined(client: redis.Redis) -> None:
    keys = distributed.run_keys({"ARCHIVER_REDIS_KEY": "joined:%(spider)s"}, "finews")
    run = scripts(client)
    head, data = (
        [keys["workers"], keys["busy"]],
        [keys["requests"], keys["dupefilter"], keys["captures"], keys["joined"]],
    )
    quiet = [*head, keys["requests"], keys["joined"]]
    run["join"](keys=[*head, *data], args=["a", 15000])
    run["beat"](keys=head, args=["a", 15000, 0])
    assert run["quiet"](keys=quiet, args=[2]) == 2  # b has not joined: the run may not end yet
    assert run["quiet"](keys=quiet, args=[0]) == 1
    run["join"](keys=[*head, *data], args=["b", 15000])
    run["beat"](keys=head, args=["b", 15000, 0])
    run["leave"](keys=[*head, *data], args=["b"])  # b came and went: it still joined
    assert run["quiet"](keys=quiet, args=[2]) == 1
    assert run["leave"](keys=[*head, *data], args=["a"]) == 1
    assert not client.keys("joined:finews:*")


def test_a_dead_worker_expires(client: redis.Redis) -> None:
    keys = distributed.run_keys({}, "finews")
    run = scripts(client)
    head, data = (
        [keys["workers"], keys["busy"]],
        [keys["requests"], keys["dupefilter"], keys["captures"], keys["joined"]],
    )
    run["join"](keys=[*head, *data], args=["killed", 100])  # busy, and never heard of again
    run["join"](keys=[*head, *data], args=["alive", 15000])
    run["beat"](keys=head, args=["alive", 15000, 0])
    assert run["quiet"](keys=[*head, keys["requests"], keys["joined"]], args=[0]) == 0
    time.sleep(0.2)
    assert run["quiet"](keys=[*head, keys["requests"], keys["joined"]], args=[0]) == 1
    assert client.hkeys(keys["workers"]) == [b"alive"]


# --- crawls ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory, demo_site: Path) -> Path:
    """The reference: the demo site crawled by one plain process (Scrapy's own scheduler)."""
    out = tmp_path_factory.mktemp("single") / "out"
    with SiteServer(demo_site, max_seconds=300) as server:
        result = crawl(out, server.proxy_url)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_two_workers_on_one_redis_archive_what_one_worker_does(
    tmp_path: Path, demo_site: Path, single: Path, redis_url: str, client: redis.Redis
) -> None:
    out = tmp_path / "out"
    # Slow answers and two requests at a time: the crawl outlasts a worker's start-up, so both take part.
    with SiteServer(demo_site, delay=0.05, max_seconds=300) as server:
        command = [sys.executable, "-m", "archiver", "crawl", "finews", "--start-url", SITE_URL, "--output", str(out)]
        command += ["--redis", redis_url, "--concurrency", "2", "-s", "ARCHIVER_REDIS_IDLE_TIMEOUT=1.5"]
        env = archiver_env(server.proxy_url)
        workers = [
            subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        results = [worker.communicate(timeout=180) for worker in workers]
    for worker, (_out, err) in zip(workers, results, strict=True):
        assert worker.returncode == 0, err[-3000:]
    assert tree(out) == tree(single)
    fetches = post_page_fetches(server)
    assert len(fetches) == len(list((single / "_posts").iterdir()))
    assert set(fetches.values()) == {1}, [p for p, n in fetches.items() if n > 1]
    # Every page once, whichever worker fetched it: the workers' page counts add up to the server's.
    pages = [int(re.search(r"pages: (\d+) fetched", err).group(1)) for _out, err in results]  # type: ignore[union-attr]
    assert sum(pages) == len(server.requests), pages
    print("pages per worker:", pages)
    assert not client.keys("archiver:finews:*")  # the last worker out deleted the run


def test_workers_option_runs_n_processes_and_merges_them(tmp_path: Path, demo_site: Path, single: Path) -> None:
    out = tmp_path / "out"
    # As above: a crawl that outlasts a worker's start-up, so that both workers fetch and capture.
    with SiteServer(demo_site, delay=0.05, max_seconds=300) as server:
        options = ["--workers", "2", "--warc", "--concurrency", "2"]  # the default: no grace period
        result = crawl(out, server.proxy_url, *options, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert tree(out) == tree(single)
    assert set(post_page_fetches(server).values()) == {1}
    assert "workers: 1: exit 0" in result.stderr and "; 2: exit 0" in result.stderr
    posts = len(list((single / "_posts").iterdir()))
    assert f"posts: {posts} new" in result.stderr  # one summary for the whole run
    # Each worker wrote its own WARC files; together they rebuild the archive, offline.
    assert len(list((out / "warc").glob("*.warc.gz"))) >= 2  # one file per worker, never shared
    manifest = [json.loads(line) for line in (out / ".archiver" / "captures.jsonl").read_text().splitlines()]
    assert len(manifest) == posts and all(line["post"] for line in manifest)
    rebuilt = tmp_path / "rebuilt"
    rebuild = run_archiver("rebuild", "--from-warc", str(out / "warc"), "--output", str(rebuilt))
    assert rebuild.returncode == 0, rebuild.stderr[-3000:]
    assert tree(rebuilt) == tree(single)
    # The redis-server started for the run is gone with it.
    port = re.search(r"on a redis-server started for the run \(127\.0\.0\.1:(\d+)\)", result.stderr)
    assert port, result.stderr[-2000:]
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", int(port.group(1))), 2):
        pass


def test_workers_start_as_fresh_interpreters_when_a_reactor_exists_before_the_fork(
    tmp_path: Path, demo_site: Path, single: Path
) -> None:
    # A reactor in the parent would be inherited by forked workers: they are spawned instead.
    out = tmp_path / "out"
    main = (
        "import sys; from twisted.internet import asyncioreactor; asyncioreactor.install(); "
        "from archiver.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    with SiteServer(demo_site, delay=0.05, max_seconds=300) as server:
        command = [sys.executable, "-c", main, "crawl", "finews", "--start-url", SITE_URL, "--output", str(out)]
        command += ["--workers", "2", "--concurrency", "2"]
        result = subprocess.run(
            command, cwd=REPO, env=archiver_env(server.proxy_url), capture_output=True, text=True, timeout=240
        )
    assert result.returncode == 0, result.stderr[-3000:]
    assert tree(out) == tree(single)
    assert set(post_page_fetches(server).values()) == {1}
    assert "workers: 1: exit 0" in result.stderr and "; 2: exit 0" in result.stderr


def test_a_plain_run_and_a_distributed_run_exclude_each_other(tmp_path: Path, redis_url: str) -> None:
    from archiver.store import lock
    from archiver.store.statedir import STATE_FOLDER

    out = tmp_path / "out"
    key = lock.acquire(out / STATE_FOLDER / lock.LOCK_NAME)  # a plain run holds the archive
    try:
        result = run_archiver("crawl", "finews", "--start-url", SITE_URL, "--output", str(out), "--redis", redis_url)
    finally:
        lock.release(key)
    assert result.returncode == 3, result.stderr[-2000:]
    assert "another run holds the lock" in result.stderr


def test_workers_without_any_redis_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no redis-server on PATH
    monkeypatch.delenv("ARCHIVER_REDIS_URL", raising=False)
    result = run_archiver("crawl", "finews", "--output", str(tmp_path / "out"), "--workers", "2")
    assert result.returncode == 64, result.stderr
    assert "--workers needs a Redis" in result.stderr


def test_requests_are_queued_as_scrapys_to_dict_makes_them() -> None:
    from scrapy import FormRequest, Request, Spider
    from scrapy.utils.request import request_from_dict

    from archiver.distributed.scheduler import RunScheduler

    class S(Spider):
        name = "s"

        def parse_post(self, response: object) -> None: ...

        def failed(self, failure: object) -> None: ...

    class Other:
        def parse_post(self, response: object) -> None: ...

    spider = S()
    scheduler = RunScheduler.__new__(RunScheduler)
    scheduler.spider, scheduler.method_names = spider, None
    requests = [
        Request("http://finews.withounder.com/"),
        Request("http://finews.withounder.com/a.html", callback=spider.parse_post, errback=spider.failed,
                meta={"k": [1]}, cb_kwargs={"x": 1}, priority=3, dont_filter=True, headers={"If-None-Match": "e"}),
        FormRequest("http://finews.withounder.com/f", formdata={"a": "b"}, callback=spider.parse_post),
    ]  # fmt: skip
    for request in requests:
        assert scheduler.request_dict(request) == request.to_dict(spider=spider)
        again = request_from_dict(scheduler.request_dict(request), spider=spider)
        assert again.to_dict(spider=spider) == request.to_dict(spider=spider)
    with pytest.raises(ValueError, match="not an instance method"):
        scheduler.request_dict(Request("http://x/", callback=Other().parse_post))


def test_a_worker_killed_midway_leaves_an_error_line_and_status_is_not_ok(tmp_path: Path, demo_site: Path) -> None:
    # A worker killed by a signal writes no run report: the parent writes one for the run.
    out = tmp_path / "out"
    with SiteServer(demo_site, delay=0.3, max_seconds=300) as server:
        main = workers_run_under_way(out, archiver_env(server.proxy_url), server.count)
        try:
            worker = next(pid for pid, args in children(main.pid).items() if "redis-server" not in args)
            subprocess.run(["kill", "-9", str(worker)], check=True)
            _, stderr = main.communicate(timeout=240)
        finally:
            if main.poll() is None:
                main.kill()
                main.wait()
    assert main.returncode == 1, stderr[-3000:]
    last = json.loads((out / ".archiver" / "runs.jsonl").read_text().splitlines()[-1])
    assert last["status"] == "error" and "(exit -9) ended before its run report" in last["error"], last
    status = run_archiver("status", str(out))
    assert status.returncode != 0, status.stdout

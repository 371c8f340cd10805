"""N worker processes on one Redis queue (``archiver crawl --workers N``): one run, one summary, one exit code.

The workers run the same crawl (``archiver.running.runner.run_crawl``) with ``ARCHIVER_REDIS_URL``
set, on the Redis given or on a ``redis-server`` started for the run (``LocalRedis``); their stats
are merged into one summary and their exit codes into the most serious one.

How workers start: forked from this process once it has imported what a crawl imports (Scrapy,
Twisted, the spider, the components its settings name, redis-py), so that N workers do not
each spend a third of a second importing them again. No reactor exists before the fork (each
worker's crawl installs its own); were one ever installed by an import, the workers are started
as fresh interpreters instead.

How workers write the archive: all of them write into the same output tree, through the same
exporter, which writes every file atomically (a temporary name carrying the writer's pid, then
a rename). A post page is fetched by one worker only, so one post is written by one worker;
category pages may be written by several, always with the same bytes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from archiver.distributed.addon import redact
from archiver.exceptions import UsageError
from archiver.running import startup
from archiver.running.localredis import LocalRedis, die_with_parent
from archiver.running.runner import ExitCode, crawl_settings, run_crawl, setting_getter
from archiver.running.scratch import ScratchFolder
from archiver.store.lock import state_folder
from archiver.store.runlog import SITE_CHANGED_KINDS, now_iso, record_lost_workers, site_changes

# Stats that are levels, not counts: the merged value is the largest, not the sum.
_GAUGES = {"archiver/index/posts", "archiver/index/seconds", "memusage/startup", "log_count/max"}
# OK < PAGES_FAILED < SITE_CHANGED < LOCKED < USAGE < ERROR (archiver.running.exitcodes.ExitCode)
_SEVERITY = [0, 2, 4, 3, 64, 1]


def merge_stats(per_worker: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One run's stats from its workers': counts add up, levels take the largest, times span them all."""
    merged: dict[str, Any] = {}
    for stats in per_worker:
        for key, value in stats.items():
            if key not in merged:
                merged[key] = value
            elif key == "start_time":
                merged[key] = min(merged[key], value)
            elif key == "finish_time":
                merged[key] = max(merged[key], value)
            elif key == "finish_reason":
                merged[key] = merged[key] if merged[key] != "finished" else value
            elif isinstance(value, bool) or not isinstance(value, int | float):
                continue
            elif isinstance(merged[key], bool) or not isinstance(merged[key], int | float):
                # A worker may have none where another has a number: Scrapy's per-minute rates are
                # None for a crawl shorter than a second.
                merged[key] = value
            elif key in _GAUGES or key.endswith("/max") or key.startswith("memusage/"):
                merged[key] = max(merged[key], value)
            else:
                merged[key] = merged[key] + value
    if SITE_CHANGED_KINDS in merged:  # distinct kinds over all workers, not a sum
        merged[SITE_CHANGED_KINDS] = len(site_changes(merged))
    return merged


def merge_codes(codes: Sequence[int]) -> int:
    """The run's exit code: the most serious of its workers' (a worker killed by a signal is an error)."""
    known = [code if code in _SEVERITY else 1 for code in codes] or [1]
    return max(known, key=_SEVERITY.index)


def _worker_settings(overrides: dict[str, Any], index: int, count: int, folder: Path) -> dict[str, Any]:
    settings = dict(overrides)
    settings.pop("ARCHIVER_REDIS_URL", None)  # passed in the environment: a password stays off command lines
    # The parent holds the archive's run lock for the whole run; each worker locks a private file.
    settings["ARCHIVER_LOCK_FILE"] = str(folder / f"worker-{index}.lock")
    # The run does not end before every worker joined: a late one would start it over alone.
    settings["ARCHIVER_REDIS_WORKERS"] = count
    settings.setdefault("LOG_FORMAT", f"%(asctime)s [worker {index}/{count}] [%(name)s] %(levelname)s: %(message)s")
    # N live progress lines cannot share one terminal: workers log their progress instead.
    if settings.get("ARCHIVER_PROGRESS", "auto") in ("auto", "tty"):
        settings["ARCHIVER_PROGRESS"] = "log"
    return settings


def run_workers(
    spider: str, overrides: dict[str, Any], spider_args: dict[str, Any], *, workers: int, redis: str | None = None
) -> tuple[int, dict[str, Any]]:
    """Run ``workers`` crawl processes on one Redis queue; returns the merged exit code and stats."""
    local: LocalRedis | None = None
    url = redis or str(overrides.get("ARCHIVER_REDIS_URL") or os.environ.get("ARCHIVER_REDIS_URL") or "")
    if not url:
        if not LocalRedis.available():
            raise UsageError(
                "--workers needs a Redis: pass --redis URL, or install redis-server (apt-get install redis-server)"
            )
        local = LocalRedis()
        url = local.start()
    scratch = ScratchFolder("workers")  # removed by the next run if this one is killed
    folder = scratch.path
    procs: list[subprocess.Popen[bytes] | _Forked] = []
    started, start = time.monotonic(), now_iso()

    def forward(signum: int, _frame: Any) -> None:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        # Inside: a failing import still stops the redis-server. Frozen, what the workers inherit is
        # neither walked by their collections nor copied into each of them by the collector's writes.
        with startup.collector_paused():
            fork = preload(spider, overrides)
        env = {**os.environ, "ARCHIVER_REDIS_URL": url}
        for index in range(1, workers + 1):
            spec = {
                "spider": spider,
                "settings": _worker_settings(overrides, index, workers, folder),
                "spider_args": spider_args,
                "stats_file": str(folder / f"worker-{index}.stats.json"),
            }
            if fork:
                procs.append(_fork_worker(spec, url))
                continue
            spec_path = folder / f"worker-{index}.json"
            spec_path.write_text(json.dumps(spec, default=str), encoding="utf-8")
            command = [sys.executable, "-c", _WORKER_MAIN, str(spec_path)]
            procs.append(subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent))
        codes = []
        for proc in procs:
            while True:
                try:
                    codes.append(proc.wait())
                    break
                except KeyboardInterrupt:  # Ctrl-C reached the workers too: wait for their clean stop
                    forward(signal.SIGINT, None)
        per_worker = [_read_stats(folder / f"worker-{i}.stats.json") for i in range(1, workers + 1)]
    finally:
        signal.signal(signal.SIGTERM, previous)
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        scratch.remove()
        if local is not None:
            local.stop()
    if lost := {i: code for i, (code, s) in enumerate(zip(codes, per_worker, strict=True), 1) if s is None}:
        record_lost_workers(state_folder(setting_getter(overrides)), start, lost)
    stats = merge_stats([s for s in per_worker if s])
    stats["elapsed_time_seconds"] = round(time.monotonic() - started, 3)
    stats["archiver/workers"] = workers
    stats["archiver/workers/redis"] = f"local {urlsplit(url).hostname}:{urlsplit(url).port}" if local else redact(url)
    stats["archiver/workers/failed"] = sum(1 for code in codes if code not in (0, 2))
    for index, (code, worker_stats) in enumerate(zip(codes, per_worker, strict=True), 1):
        stats[f"archiver/workers/{index}/exit"] = code
        stats[f"archiver/workers/{index}/pages"] = int((worker_stats or {}).get("downloader/response_count", 0) or 0)
    return merge_codes(codes), stats


def _read_stats(path: Path) -> dict[str, Any] | None:
    """A worker's stats; None when it died before writing them (its exit code says how)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def preload(spider: str, overrides: dict[str, Any]) -> bool:
    """Import what the workers' crawls will import; True when forking them is safe (no reactor yet)."""
    if not hasattr(os, "fork"):
        return False
    settings = crawl_settings(overrides)
    import scrapy.core.engine
    import scrapy.crawler  # noqa: F401
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.misc import load_object

    import archiver.distributed.scheduler  # noqa: F401  (redis-py and scrapy-redis)
    from archiver.downloadhandlers.client import http_handler

    # A name that does not load is left for the worker's crawl to report, as a plain run does.
    with contextlib.suppress(Exception):
        SpiderLoader.from_settings(settings).load(spider)
    with contextlib.suppress(Exception):
        load_object(http_handler(settings))  # the client ARCHIVER_HTTP_CLIENT names (an add-on installs it)
    for name in _COMPONENT_LISTS:
        for path in settings.getwithbase(name) if name in settings else ():
            if isinstance(path, str):
                with contextlib.suppress(Exception):
                    load_object(path)
    for name in ("STATS_CLASS", "LOG_FORMATTER"):
        with contextlib.suppress(Exception):
            load_object(settings[name])
    return "twisted.internet.reactor" not in sys.modules and threading.active_count() == 1


_COMPONENT_LISTS = ("ADDONS", "EXTENSIONS", "DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES", "ITEM_PIPELINES")


class _Forked:
    """A forked worker, with the part of ``subprocess.Popen``'s interface that ``run_workers`` uses."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _fork_worker(spec: dict[str, Any], url: str) -> _Forked:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return _Forked(pid)
    # The worker: whatever happens here ends here, never back in the parent's code.
    code = int(ExitCode.ERROR)
    try:
        die_with_parent()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        # In this process's memory only: the URL (and its password) is on no command line and in no file.
        os.environ["ARCHIVER_REDIS_URL"] = url
        spec = {**spec, "settings": {**spec["settings"], "ARCHIVER_REDIS_URL": url}}
        code = _work(spec)
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


_WORKER_MAIN = "import sys; from archiver.running.workers import worker_main; sys.exit(worker_main(sys.argv[1:]))"


def worker_main(argv: Sequence[str]) -> int:
    """One worker of ``run_workers`` started as a fresh interpreter: the crawl of a spec file."""
    return _work(json.loads(Path(argv[0]).read_text(encoding="utf-8")))


def _work(spec: dict[str, Any]) -> int:
    """The crawl of one worker's spec; its stats are written for the parent."""
    stats: dict[str, Any] = {}
    try:
        code, stats = run_crawl(spec["spider"], spec["settings"], spec["spider_args"])
    except UsageError as exc:
        print(f"archiver: {exc}", file=sys.stderr)
        code = ExitCode.USAGE
    except Exception as exc:  # the worker's one-line reason; the parent turns it into the run's exit code
        print(f"archiver: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = ExitCode.ERROR
    Path(spec["stats_file"]).write_text(json.dumps(stats, default=str), encoding="utf-8")
    return int(code)

"""Distributed crawling on scrapy-redis: the settings switch, N worker processes, a private redis-server.

Three parts, none of which imports Redis unless a Redis URL is given:

- ``RedisAddon`` (listed in ``ADDONS``): when ``ARCHIVER_REDIS_URL`` is set, the scheduler and the
  duplicate filter become scrapy-redis's (``archiver.redisrun.RunScheduler``), so any number of
  worker processes, on any number of machines, started with the same URL and spider share one
  request queue and one duplicate filter: every request is fetched by one worker only. Without
  the URL the add-on does nothing and Scrapy's own scheduler runs.
- ``run_workers`` (``archiver crawl --workers N``): N worker processes on one queue, on the Redis
  given or on a ``redis-server`` started for the run (``LocalRedis``); their stats are merged
  into one summary and one exit code.
- ``LocalRedis``: a throw-away ``redis-server`` on 127.0.0.1, a free port, no persistence,
  a random password (in a private config file, never on a command line), stopped with the run.

How workers write the archive: all of them write into the same output tree, through the same
exporter, which writes every file atomically (a temporary name carrying the writer's pid, then
a rename). A post page is fetched by one worker only, so one post is written by one worker;
category pages may be written by several, always with the same bytes. On several machines the
output folder must be one shared folder (an NFS mount, say).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from archiver import config

logger = logging.getLogger(__name__)

REDIS_SCHEMES = ("redis", "rediss", "unix")
INSTALL_HINT = "pip install 'archiver[redis]' (scrapy-redis and redis)"


# --- the settings switch --------------------------------------------------------------------------
def redis_url(settings: Any) -> str:
    """``ARCHIVER_REDIS_URL``, checked; empty when distributed crawling is off."""
    url = str(settings.get("ARCHIVER_REDIS_URL") or "").strip()
    if url and urlsplit(url).scheme not in REDIS_SCHEMES:
        raise config.SettingError(
            f"ARCHIVER_REDIS_URL={_redact(url)!r} is not a Redis URL: use redis://host:6379/0 (or rediss://, unix://)"
        )
    return url


def idle_timeout(settings: Any) -> float:
    """``ARCHIVER_REDIS_IDLE_TIMEOUT``: seconds the whole run must stay idle before the workers stop."""
    raw = settings.get("ARCHIVER_REDIS_IDLE_TIMEOUT")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise config.SettingError(f"ARCHIVER_REDIS_IDLE_TIMEOUT={raw!r} is not a number of seconds") from None
    if not 0.5 <= value <= 3600:
        raise config.SettingError(f"ARCHIVER_REDIS_IDLE_TIMEOUT={value} must be between 0.5 and 3600 seconds")
    return value


def run_keys(settings: Any, spider: str) -> dict[str, str]:
    """The Redis keys of a run of ``spider``: ``ARCHIVER_REDIS_KEY`` (``archiver:<spider>``) plus a suffix."""
    template = str(settings.get("ARCHIVER_REDIS_KEY") or "archiver:%(spider)s")
    try:
        base = template % {"spider": spider}
    except (KeyError, ValueError, TypeError):
        raise config.SettingError(f"ARCHIVER_REDIS_KEY={template!r}: only %(spider)s may be substituted") from None
    names = ("requests", "dupefilter", "workers", "busy", "captures")
    return {"base": base, **{name: f"{base}:{name}" for name in names}}


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


class RedisAddon:
    """Switches the scheduler to scrapy-redis when ``ARCHIVER_REDIS_URL`` is set; otherwise does nothing."""

    def update_settings(self, settings: Any) -> None:
        url = redis_url(settings)
        if not url:
            return
        try:
            import redis  # noqa: F401
            import scrapy_redis  # noqa: F401
        except ImportError as exc:
            raise config.SettingError(f"ARCHIVER_REDIS_URL is set but {exc.name} is missing: {INSTALL_HINT}") from None
        if settings.get("JOBDIR"):
            raise config.SettingError("JOBDIR and ARCHIVER_REDIS_URL: the Redis queue replaces JOBDIR; unset one")
        idle_timeout(settings)
        keys = run_keys(settings, "%(spider)s")
        _share_the_run_lock(settings)
        # "addon" priority: below the project's settings and the command line, above Scrapy's defaults.
        for name, value in {
            "SCHEDULER": "archiver.redisrun.RunScheduler",
            "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
            "REDIS_URL": url,
            # The run protocol of archiver.redisrun clears the keys; scrapy-redis must never flush them.
            "SCHEDULER_PERSIST": True,
            "SCHEDULER_FLUSH_ON_START": False,
            "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
            "SCHEDULER_QUEUE_KEY": keys["requests"],
            "SCHEDULER_DUPEFILTER_KEY": keys["dupefilter"],
        }.items():
            settings.set(name, value, priority="addon")
        logger.info("distributed crawl: scheduler and duplicate filter on Redis %s", _redact(url))


def _share_the_run_lock(settings: Any) -> None:
    from archiver.lock import LockExtension
    from archiver.redisrun import SharedRunLock

    extensions = settings.getdict("EXTENSIONS")
    if any(value is not None and _loads(key) is LockExtension for key, value in extensions.items()):
        settings.replace_in_component_priority_dict("EXTENSIONS", LockExtension, SharedRunLock)


def _loads(path: Any) -> Any:
    from scrapy.utils.misc import load_object

    try:
        return load_object(path)
    except (ImportError, NameError, ValueError):
        return None


# --- a private redis-server -----------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In a child, before exec: get SIGTERM when the parent dies (Linux), so nothing outlives a killed run."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class LocalRedis:
    """``redis-server`` on 127.0.0.1 and a free port, no persistence, password-protected, for one run."""

    def __init__(self, executable: str = "redis-server", *, start_timeout: float = 10.0) -> None:
        self.executable = executable
        self.start_timeout = start_timeout
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None
        self.folder: Path | None = None

    @staticmethod
    def available(executable: str = "redis-server") -> bool:
        return shutil.which(executable) is not None

    def start(self) -> str:
        if not self.available(self.executable):
            raise RuntimeError(f"{self.executable} is not installed (Debian: apt-get install redis-server)")
        self.folder = Path(tempfile.mkdtemp(prefix="archiver-redis-"))  # mode 0700
        for _attempt in range(5):  # the free port can be taken between the check and the bind
            port = _free_port()
            password = secrets.token_hex(16)
            conf = self.folder / "redis.conf"
            fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(
                    f'bind 127.0.0.1\nport {port}\nprotected-mode yes\nsave ""\nappendonly no\n'
                    f"requirepass {password}\ndir {self.folder}\nlogfile {self.folder / 'redis.log'}\n"
                    "daemonize no\n"
                )
            self.process = subprocess.Popen(
                [self.executable, str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
            self.url = f"redis://:{password}@127.0.0.1:{port}/0"
            if self._wait_ready():
                logger.info("started redis-server (pid %d) on 127.0.0.1:%d", self.process.pid, port)
                return self.url
            self._terminate()
        log = self.folder / "redis.log"
        tail = log.read_text(errors="replace")[-500:] if log.exists() else ""
        self.stop()
        raise RuntimeError(f"redis-server did not start: {tail.strip() or 'no log'}")

    def _wait_ready(self) -> bool:
        import redis

        assert self.process is not None
        deadline = time.monotonic() + self.start_timeout
        client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    return False
                try:
                    client.ping()
                    return True
                except redis.exceptions.ConnectionError:
                    time.sleep(0.05)
            return False
        finally:
            client.close()

    def _terminate(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def stop(self) -> None:
        self._terminate()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> LocalRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- N workers on one queue -----------------------------------------------------------------------
# Stats that are levels, not counts: the merged value is the largest, not the sum.
_GAUGES = {"archiver/index/posts", "archiver/index/seconds", "memusage/startup", "log_count/max"}
_SEVERITY = [0, 2, 3, 64, 1]  # OK < PAGES_FAILED < LOCKED < USAGE < ERROR (archiver.runner.ExitCode)


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
            elif key in _GAUGES or key.endswith("/max") or key.startswith("memusage/"):
                merged[key] = max(merged[key], value)
            else:
                merged[key] = merged[key] + value
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
            from archiver.runner import UsageError

            raise UsageError(
                "--workers needs a Redis: pass --redis URL, or install redis-server (apt-get install redis-server)"
            )
        local = LocalRedis()
        url = local.start()
    folder = Path(tempfile.mkdtemp(prefix="archiver-workers-"))
    procs: list[subprocess.Popen[bytes]] = []
    started = time.monotonic()

    def forward(signum: int, _frame: Any) -> None:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        env = {**os.environ, "ARCHIVER_REDIS_URL": url}
        for index in range(1, workers + 1):
            spec = {
                "spider": spider,
                "settings": _worker_settings(overrides, index, workers, folder),
                "spider_args": spider_args,
                "stats_file": str(folder / f"worker-{index}.stats.json"),
            }
            spec_path = folder / f"worker-{index}.json"
            spec_path.write_text(json.dumps(spec, default=str), encoding="utf-8")
            command = [sys.executable, "-c", _WORKER_MAIN, str(spec_path)]
            procs.append(subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent))
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
        shutil.rmtree(folder, ignore_errors=True)
        if local is not None:
            local.stop()
    stats = merge_stats([s for s in per_worker if s])
    stats["elapsed_time_seconds"] = round(time.monotonic() - started, 3)
    stats["archiver/workers"] = workers
    stats["archiver/workers/redis"] = f"local {urlsplit(url).hostname}:{urlsplit(url).port}" if local else _redact(url)
    stats["archiver/workers/failed"] = sum(1 for code in codes if code not in (0, 2))
    for index, (code, worker_stats) in enumerate(zip(codes, per_worker, strict=True), 1):
        stats[f"archiver/workers/{index}/exit"] = code
        stats[f"archiver/workers/{index}/pages"] = int(worker_stats.get("downloader/response_count", 0) or 0)
    return merge_codes(codes), stats


def _read_stats(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # the worker died before writing its stats; its exit code says so
    return data if isinstance(data, dict) else {}


_WORKER_MAIN = "import sys; from archiver.distributed import worker_main; sys.exit(worker_main(sys.argv[1:]))"


def worker_main(argv: Sequence[str]) -> int:
    """One worker of ``run_workers``: the crawl of a spec file, its stats written for the parent."""
    from archiver.runner import ExitCode, UsageError, run_crawl

    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
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

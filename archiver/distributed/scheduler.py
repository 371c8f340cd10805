"""The Redis side of a distributed run: scrapy-redis's scheduler, and how workers join, share and end a run.

Imported only when ``ARCHIVER_REDIS_URL`` is set (``archiver.distributed.addon.RedisAddon`` names
it in ``SCHEDULER``); nothing else in the project imports scrapy-redis.

The queue and the duplicate filter are scrapy-redis's own (a sorted set of pickled requests and
a set of request fingerprints). scrapy-redis leaves two things to the project, and this module
does them:

- **Who clears the keys.** scrapy-redis flushes the queue and the filter when *a* worker closes
  (unless ``SCHEDULER_PERSIST``), which would wipe them under the workers still running. Here the
  flush is never done by scrapy-redis: every worker registers in ``<key>:workers`` (a hash of
  worker id -> deadline, in Redis's own clock), refreshed four times a second. The first worker
  of a run (no live worker registered) clears what a killed run may have left; the last one to
  leave deletes the run's keys. Both are single Lua scripts, so two workers starting or stopping
  together cannot both believe they are first or last.
- **When a run ends.** A worker is busy from the moment it takes requests from the queue (the
  same Lua step marks it) until its engine is idle again, which is after the requests its pages
  yielded are in the queue; it then says so (at once, and on its four-a-second heartbeat). So
  "the shared queue is empty and no live worker is busy" means that nothing is left anywhere,
  and the run is over once that has held for ``ARCHIVER_REDIS_IDLE_TIMEOUT`` seconds (default
  0: at once). Until then an idle worker keeps polling the queue: another worker's page may
  still yield new links.

The workers of one run also share the archive's run lock
(``archiver.distributed.sharedlock.SharedRunLock``), which a plain run takes exclusively.
"""

from __future__ import annotations

import inspect
import logging
import os
import socket
import time
import uuid
from collections import deque
from typing import TYPE_CHECKING, Any

from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider
from scrapy_redis.scheduler import Scheduler as RedisScheduler

from archiver.distributed.addon import expected_workers, idle_timeout, run_keys

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

POP_BATCH = 8  # requests a worker takes from the shared queue at once
POLL_SECONDS = 0.25  # how often an idle worker looks at the shared queue and reports itself
WORKER_TTL_MS = 15_000  # a worker not heard from for this long is dead (killed, machine gone)
JOIN_GRACE_SECONDS = 10.0  # how long a finished run waits for workers it expected that never joined

# Every script reads Redis's clock, so workers on machines whose clocks disagree still agree.
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function purge()
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    if tonumber(all[i + 1]) < now then
      redis.call('HDEL', KEYS[1], all[i])
      redis.call('HDEL', KEYS[2], all[i])
    end
  end
end
"""
# KEYS: workers, busy, then the run's data keys, the count of workers that joined last.
# ARGV: worker id, ttl. Returns 1 for the run's first worker.
JOIN = (
    _NOW
    + """
purge()
local first = 0
if redis.call('HLEN', KEYS[1]) == 0 then
  for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
  first = 1
end
redis.call('HSET', KEYS[1], ARGV[1], now + tonumber(ARGV[2]))
redis.call('HSET', KEYS[2], ARGV[1], 1)
redis.call('INCR', KEYS[#KEYS])
return first
"""
)
# KEYS: workers, busy. ARGV: worker id, ttl, busy (0/1).
BEAT = (
    _NOW
    + """
redis.call('HSET', KEYS[1], ARGV[1], now + tonumber(ARGV[2]))
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
"""
)
# KEYS: workers, busy, queue, joined. ARGV: workers expected (0: not known). Returns 0 while the
# queue holds requests or a live worker is busy; else 1, or 2 when fewer workers joined than expected.
QUIET = (
    _NOW
    + """
purge()
if redis.call('ZCARD', KEYS[3]) > 0 then return 0 end
local busy = redis.call('HVALS', KEYS[2])
for i = 1, #busy do if busy[i] ~= '0' then return 0 end end
if tonumber(redis.call('GET', KEYS[4]) or '0') < tonumber(ARGV[1]) then return 2 end
return 1
"""
)
# KEYS: workers, busy, then the run's data keys. ARGV: worker id. Returns 1 when this was the last worker.
LEAVE = (
    _NOW
    + """
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
purge()
if redis.call('HLEN', KEYS[1]) > 0 then return 0 end
for i = 1, #KEYS do redis.call('DEL', KEYS[i]) end
return 1
"""
)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class RunScheduler(RedisScheduler):
    """scrapy-redis's scheduler, with the run protocol of this module and no blocking calls."""

    crawler: Any = None
    worker: str = ""
    keys: dict[str, str]
    idle_timeout: float = 3.0
    expected: int = 0  # workers this run is known to have (ARCHIVER_REDIS_WORKERS); 0: not known
    quiet_since: float | None = None
    loop: Any = None
    scripts: dict[str, Any]
    seen: set[str]
    buffer: deque[Any]
    outbox: list[Any]  # (fingerprint or "", score, pickled request) triples not yet in Redis
    flush_call: Any
    method_names: dict[Any, str] | None  # the spider's methods' functions -> their names

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunScheduler:
        instance = super().from_crawler(crawler)
        settings = crawler.settings
        instance.crawler = crawler
        instance.worker = worker_id()
        instance.keys = run_keys(settings, crawler.spidercls.name)
        instance.idle_timeout = idle_timeout(settings)
        instance.expected = expected_workers(settings)
        instance.quiet_since = None
        instance.loop = None
        instance.seen = set()
        instance.buffer = deque()
        instance.outbox = []
        instance.flush_call = None
        instance.method_names = None
        server = instance.server
        instance.scripts = {name: server.register_script(text) for name, text in _SCRIPTS.items()}
        crawler.signals.connect(instance.spider_idle, signal=signals.spider_idle)
        return instance

    # --- the run ------------------------------------------------------------------------------
    def _data_keys(self) -> list[str]:
        keys = self.keys
        return [keys["requests"], keys["dupefilter"], keys["captures"], keys["joined"]]

    def open(self, spider: Any) -> None:
        keys = self.keys
        first = self.scripts["join"](
            keys=[keys["workers"], keys["busy"], *self._data_keys()], args=[self.worker, WORKER_TTL_MS]
        )
        self.stats.set_value("archiver/redis/worker", self.worker)
        if first:
            logger.info("distributed run: %s is the first worker of a new run in %s", self.worker, keys["base"])
        else:
            logger.info("distributed run: joined the run under way in %s as %s", keys["base"], self.worker)
        super().open(spider)
        from scrapy.utils.asyncio import create_looping_call

        self.loop = create_looping_call(self._tick)
        self.loop.start(POLL_SECONDS, now=False)

    def close(self, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        if self.flush_call is not None:
            self.flush_call.cancel()
        self._flush()
        # Requests taken but not started (a stop before the end): back to the other workers.
        while self.buffer:
            self.queue.push(self.buffer.popleft())
        keys = self.keys
        last = self.scripts["leave"](keys=[keys["workers"], keys["busy"], *self._data_keys()], args=[self.worker])
        if last:
            logger.info("distributed run: last worker out; deleted the run's queue and duplicate filter")
        elif reason == "finished":
            logger.info("distributed run: this worker is done; others are still registered")

    def _beat(self, busy: bool) -> None:
        self.scripts["beat"](
            keys=[self.keys["workers"], self.keys["busy"]], args=[self.worker, WORKER_TTL_MS, int(busy)]
        )

    def _tick(self) -> None:
        engine = self.crawler.engine
        if engine is None or not engine.running:
            return
        try:
            busy = not engine.spider_is_idle()
        except RuntimeError:  # the engine has no slot: the spider is closing
            return
        self._beat(busy)
        if busy:
            self.quiet_since = None
        # Scrapy asks the scheduler for requests after every download and on a 5-second heartbeat;
        # an idle worker would wait up to 5 s for work another worker queued. There is no public
        # way to wake the engine; without the private slot this degrades to Scrapy's heartbeat.
        slot = getattr(engine, "_slot", None)
        if slot is not None and not engine.needs_backout():
            slot.nextcall.schedule()

    def spider_idle(self) -> None:
        """Keep an idle worker open until the queue is empty and every worker idle for the idle timeout."""
        self._beat(False)
        keys = self.keys
        quiet = self.scripts["quiet"](
            keys=[keys["workers"], keys["busy"], keys["requests"], keys["joined"]], args=[self.expected]
        )
        if not quiet:
            self.quiet_since = None
            raise DontCloseSpider
        now = time.monotonic()
        if self.quiet_since is None:
            self.quiet_since = now
            logger.debug("distributed run: queue empty and all workers idle; ending in %.1f s", self.idle_timeout)
        # A worker of the run that has not joined yet would otherwise start the run again alone;
        # one that never joins (it failed at start) holds the others for JOIN_GRACE_SECONDS only.
        wait = self.idle_timeout if quiet == 1 else max(self.idle_timeout, JOIN_GRACE_SECONDS)
        if now - self.quiet_since < wait:
            raise DontCloseSpider
        logger.info("distributed run: queue empty and all workers idle for %.1f s; closing", self.idle_timeout)

    # --- queue and filter: scrapy-redis's, with few round trips and no blocking pop ---------------
    # Every round trip stalls the reactor. Asking Redis for each request, a crawl of this site made
    # 7.5 round trips a page; with the local filter cache, batched pops and batched pushes, < 1.
    def enqueue_request(self, request: Request) -> bool:
        fingerprint = ""
        if not request.dont_filter:
            fingerprint = self.df.request_fingerprint(request)
            # The run's filter only grows: a fingerprint known to be in it needs no round trip
            # (every post page links back to its category and home page).
            if fingerprint in self.seen:
                self.df.log(request, self.spider)
                self.stats.inc_value("dupefilter/filtered")
                return False
            self.seen.add(fingerprint)
        # Filtered and queued in Redis at the end of this reactor turn, with the turn's other requests;
        # a request another worker already queued is dropped there (counted; no request_dropped signal).
        data = self.queue.serializer.dumps(self.request_dict(request))
        self.outbox.extend((fingerprint, -request.priority, data))
        if self.flush_call is None:
            from scrapy.utils.asyncio import call_later

            self.flush_call = call_later(0, self._flush_later)
        return True

    def request_dict(self, request: Request) -> dict[str, Any]:
        """``request.to_dict(spider=...)``, naming the spider's callbacks from a table made once.

        Scrapy finds a callback's name with ``inspect.getmembers`` over the whole spider, for every
        request: 3 % of a worker's CPU. The dict is Scrapy's own, built the way ``to_dict`` builds
        it; a callback that is not a method of this spider gets ``to_dict`` itself (and its error).
        """
        if self.method_names is None:
            self.method_names = {m.__func__: n for n, m in inspect.getmembers(self.spider, inspect.ismethod)}
        names: list[Any] = []
        for function in (request.callback, request.errback):
            func = getattr(function, "__func__", None)
            if not callable(function):
                names.append(function)
            elif getattr(function, "__self__", None) is self.spider and func in self.method_names:
                names.append(self.method_names[func])
            else:
                return request.to_dict(spider=self.spider)
        data = {"url": request.url, "callback": names[0], "errback": names[1], "headers": dict(request.headers)}
        for attr in request.attributes:
            data.setdefault(attr, getattr(request, attr))
        if type(request) is not Request:
            data["_class"] = f"{type(request).__module__}.{type(request).__name__}"
        return data

    def _flush_later(self) -> None:
        self.flush_call = None
        self._flush()

    def _flush(self) -> None:
        if not self.outbox:
            return
        args, self.outbox = self.outbox, []
        queued, filtered = self.scripts["enqueue"](keys=[self.df.key, self.queue.key], args=args)
        self.stats.inc_value("scheduler/enqueued/redis", queued)
        self.stats.inc_value("scheduler/enqueued", queued)
        if filtered:
            self.stats.inc_value("dupefilter/filtered", filtered)

    def next_request(self) -> Any:
        self._flush()
        if not self.buffer:
            self._fill()
        if not self.buffer:
            return None
        self.stats.inc_value("scheduler/dequeued/redis")
        self.stats.inc_value("scheduler/dequeued")
        return self.buffer.popleft()

    def _fill(self) -> None:
        """Take up to ``POP_BATCH`` requests (highest priority first), and be marked busy, in one round trip."""
        from scrapy.utils.request import request_from_dict
        from scrapy_redis.queue import PriorityQueue

        keys = self.keys
        if not isinstance(self.queue, PriorityQueue):
            self._beat(True)  # before the pop: no moment when this worker holds work and looks idle
            if (request := self.queue.pop(0)) is not None:
                self.buffer.append(request)
            return
        taken = self.scripts["take"](keys=[self.queue.key, keys["busy"]], args=[self.worker, POP_BATCH])
        for data in taken:
            self.buffer.append(request_from_dict(self.queue.serializer.loads(data), spider=self.spider))

    def has_pending_requests(self) -> bool:
        return bool(self.buffer or self.outbox) or len(self.queue) > 0


# KEYS: dupefilter, queue. ARGV: triples (fingerprint, score, request); "" for a request never filtered.
# Returns {queued, filtered}: scrapy-redis's filter and queue, updated for a batch in one round trip.
ENQUEUE = """
local queued, filtered = 0, 0
for i = 1, #ARGV, 3 do
  if ARGV[i] == '' or redis.call('SADD', KEYS[1], ARGV[i]) == 1 then
    redis.call('ZADD', KEYS[2], ARGV[i + 1], ARGV[i + 2])
    queued = queued + 1
  else
    filtered = filtered + 1
  end
end
return {queued, filtered}
"""
# KEYS: queue, busy. ARGV: worker id, count. Returns up to count requests, lowest score first; a
# worker that takes any is marked busy in the same step, so the queue never looks empty while the
# run's last requests are held by a worker marked idle.
TAKE = """
local taken = redis.call('ZPOPMIN', KEYS[1], ARGV[2])
local requests = {}
for i = 1, #taken, 2 do requests[#requests + 1] = taken[i] end
if #requests > 0 then redis.call('HSET', KEYS[2], ARGV[1], 1) end
return requests
"""
_SCRIPTS = {"join": JOIN, "beat": BEAT, "quiet": QUIET, "leave": LEAVE, "enqueue": ENQUEUE, "take": TAKE}

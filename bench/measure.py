"""Running one benchmarked command in a fresh process and measuring it from outside.

Wall time, CPU seconds and peak memory are taken by the harness, never by the program under
test (Scrapy's own ``memusage/max`` samples only once a minute):

- CPU: ``os.wait4`` on the child gives the rusage of *that* child and of every descendant it
  waited for (worker processes included), unlike ``RUSAGE_CHILDREN``, which sums all children
  of the harness;
- peak RSS: a thread polls ``/proc`` every 20 ms and sums the resident memory of the child's
  whole process tree (a crawl with ``--workers N`` is several processes); ``ru_maxrss`` from
  ``wait4`` (the largest single process) is recorded beside it as a cross-check.
"""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

POLL_SECONDS = 0.02
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measurement:
    wall_s: float
    cpu_user_s: float
    cpu_sys_s: float
    peak_rss_mb: float  # the process tree's resident memory, summed, at its highest sample
    max_rss_single_mb: float  # ru_maxrss: the largest single process (kernel's own figure)
    returncode: int

    @property
    def cpu_s(self) -> float:
        return self.cpu_user_s + self.cpu_sys_s

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "cpu_s": round(self.cpu_s, 3)}


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                kids += [int(k) for k in handle.read().split()]
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass  # the process ended between two reads: it holds no memory any more
    return kids


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0


def _tree(pid: int) -> list[int]:
    pids, stack = [], [pid]
    while stack:
        current = stack.pop()
        if current not in pids:
            pids.append(current)
            stack += _children(current)
    return pids


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by ``pid`` and its living descendants."""
    return sum(_cpu_ticks(p) for p in _tree(pid)) / os.sysconf("SC_CLK_TCK")


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants, now."""
    return sum(_rss_bytes(p) for p in _tree(pid))


def run(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdout: Path | None = None,
    timeout: float = 3600,
) -> Measurement:
    """Run ``command`` to completion (killed after ``timeout``) and measure it."""
    out = open(stdout, "wb") if stdout is not None else subprocess.DEVNULL  # noqa: SIM115 - closed below
    peak = 0
    done = threading.Event()
    try:
        start = time.perf_counter()
        process = subprocess.Popen(
            list(command), env=dict(env) if env is not None else None, cwd=cwd, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip

        def poll() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss(process.pid))
                done.wait(POLL_SECONDS)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        watchdog = threading.Timer(timeout, process.kill)
        watchdog.daemon = True
        watchdog.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            watchdog.cancel()
            done.set()
            poller.join()
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)  # wait4 reaped it; tell Popen
    finally:
        if stdout is not None:
            out.close()  # type: ignore[union-attr]
    return Measurement(
        wall_s=round(wall, 3),
        cpu_user_s=round(usage.ru_utime, 3),
        cpu_sys_s=round(usage.ru_stime, 3),
        peak_rss_mb=round(peak / 2**20, 1),
        max_rss_single_mb=round(usage.ru_maxrss / 1024, 1),  # Linux: kilobytes
        returncode=process.returncode,
    )


def self_cpu() -> float:
    """CPU seconds of the current process (for in-process micro-benchmarks)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

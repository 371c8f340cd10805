"""Faults the loopback site server injects, per request, from one seeded RNG.

``fail`` (500/503), ``drop`` (close without an answer), ``truncate`` (announce the full
``Content-Length``, send half, close), ``delay`` (seconds before every answer), ``fail_first``
(the first request of each URL answers 503) and ``fail_paths`` (URLs containing a substring
always answer a fixed status).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

FAIL_STATUSES = (500, 503)


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Which faults to inject; probabilities are per request and drawn from one seeded RNG."""

    fail: float = 0.0
    drop: float = 0.0
    truncate: float = 0.0
    delay: float = 0.0
    fail_first: bool = False
    fail_paths: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("fail", "drop", "truncate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {value}")
        # One draw decides between the three faults, so their probabilities must add up to <= 1.
        if self.fail + self.drop + self.truncate > 1.0:
            raise ValueError("fail + drop + truncate must not exceed 1")
        if self.delay < 0:
            raise ValueError(f"delay must be >= 0, got {self.delay}")
        for needle, status in self.fail_paths.items():
            if not needle or not 100 <= status <= 599:
                raise ValueError(f"invalid fail_paths entry {needle!r}: {status}")


@dataclass(frozen=True, slots=True)
class Decision:
    """The fault chosen for one request; ``status`` is set for faults that answer an error."""

    fault: str = ""
    status: int = 0


class FaultDice:
    """Draws the fault of each request from a plan; thread-safe, reproducible for one seed and order."""

    def __init__(self, plan: FaultPlan, seed: int) -> None:
        self.plan = plan
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._seen: set[tuple[str, str]] = set()

    def decide(self, host: str, path_with_query: str) -> Decision:
        faults = self.plan
        for needle, status in faults.fail_paths.items():
            if needle in path_with_query:
                return Decision("fail_path", status)
        with self._lock:
            key = (host, path_with_query)
            first = key not in self._seen
            self._seen.add(key)
            draw = self._rng.random()
            fail_status = self._rng.choice(FAIL_STATUSES)
        if faults.fail_first and first:
            return Decision("fail_first", 503)
        if draw < faults.fail:
            return Decision("fail", fail_status)
        if draw < faults.fail + faults.drop:
            return Decision("drop")
        if draw < faults.fail + faults.drop + faults.truncate:
            return Decision("truncate")
        return Decision()

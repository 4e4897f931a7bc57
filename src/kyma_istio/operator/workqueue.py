"""A coalescing, delaying work queue with per-key exponential backoff (client-go's semantics, in asyncio).

Why our own: kopf is edge-triggered and keeps per-handler state on the object; a level-based reconciler
wants "run this key once, soon" no matter how many events arrived, plus backoff on failure and a timer
after success. Pure asyncio, no I/O, unit-tested with a fake clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    """Per-key exponential backoff: base * 2^failures, capped (reference: 1s to 1000s)."""

    base_s: float = 1.0
    max_s: float = 1000.0

    def delay(self, failures: int) -> float:
        return float(min(self.base_s * (2 ** max(failures - 1, 0)), self.max_s))


WARNING_BACKOFF = Backoff(base_s=5.0, max_s=60.0)
"""Retries of a warning: soon after the user may have acted, then at most every minute (ADR 13)."""


@dataclass(order=True)
class _Entry:
    due: float
    seq: int
    key: str = field(compare=False)


class WorkQueue:
    """Keys become due at a time; a key is queued at most once (the earliest due time wins)."""

    def __init__(
        self, *, backoff: Backoff | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._heap: list[_Entry] = []
        self._due: dict[str, float] = {}
        self._resync: dict[str, bool] = {}
        self._failures: dict[str, int] = {}
        self._warnings: dict[str, int] = {}
        self._seq = itertools.count()
        self._wakeup = asyncio.Event()
        self._clock = clock
        self.backoff = backoff or Backoff()

    def __len__(self) -> int:
        return len(self._due)

    def add(self, key: str, *, after_s: float = 0.0, resync: bool = False) -> None:
        """Queue ``key``; an event (resync=False) marks the pass as event-triggered even if coalesced."""
        due = self._clock() + max(after_s, 0.0)
        if key in self._due and self._due[key] <= due:
            self._resync[key] = self._resync[key] and resync
            return
        self._due[key] = due
        self._resync[key] = resync if key not in self._resync else (self._resync[key] and resync)
        heapq.heappush(self._heap, _Entry(due, next(self._seq), key))
        self._wakeup.set()

    def forget(self, key: str) -> None:
        """Drop ``key`` and its failure count (the object is gone)."""
        self._due.pop(key, None)
        self._resync.pop(key, None)
        self._failures.pop(key, None)
        self._warnings.pop(key, None)

    def failed(self, key: str) -> float:
        """Record a failure; the key is requeued with the next backoff delay, which is returned."""
        self._failures[key] = self._failures.get(key, 0) + 1
        delay = self.backoff.delay(self._failures[key])
        self.add(key, after_s=delay, resync=True)
        return delay

    def warned(self, key: str, *, cap_s: float = WARNING_BACKOFF.max_s) -> float:
        """Record a warning; the key is requeued on the warning backoff (capped at ``cap_s``), which
        grows by itself, separately from the error backoff. The delay is returned."""
        self._failures.pop(key, None)
        self._warnings[key] = self._warnings.get(key, 0) + 1
        delay = min(WARNING_BACKOFF.delay(self._warnings[key]), cap_s)
        # Not a resync: a warning retry looks again, it does not re-run istioctl for drift repair.
        self.add(key, after_s=delay, resync=False)
        return delay

    def succeeded(self, key: str, *, requeue_after_s: float | None, resync: bool = True) -> None:
        """Reset both backoffs; requeue when asked to: for the periodic pass (``resync``), or to continue
        unfinished work (chunked restarts), which is no resync."""
        self._failures.pop(key, None)
        self._warnings.pop(key, None)
        if requeue_after_s is not None:
            self.add(key, after_s=requeue_after_s, resync=resync)

    def failures(self, key: str) -> int:
        return self._failures.get(key, 0)

    async def get(self) -> tuple[str, bool]:
        """Wait for the next due key; returns it with whether the pass is a periodic resync."""
        while True:
            while self._heap and self._due.get(self._heap[0].key) != self._heap[0].due:
                heapq.heappop(self._heap)  # superseded entry
            now = self._clock()
            if self._heap and self._heap[0].due <= now:
                entry = heapq.heappop(self._heap)
                del self._due[entry.key]
                return entry.key, self._resync.pop(entry.key, False)
            timeout = self._heap[0].due - now if self._heap else None
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout)

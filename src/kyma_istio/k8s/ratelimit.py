"""A client-side token bucket for API requests, as client-go's (``--rate-limiter-frequency`` tokens per
second refill a bucket of ``--rate-limiter-burst``; each request takes one, waiting when it is empty).

Pure apart from ``asyncio.sleep``: the clock is injectable, so the arithmetic is tested without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; ``rate <= 0`` means no limit."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if burst < 1 and rate > 0:
            raise ValueError(f"burst must be at least 1 with a rate of {rate}/s, got {burst}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._stamp = clock()
        self.waited_s = 0.0
        """Total time requests spent waiting for a token (for tests and debugging)."""

    def reserve(self) -> float:
        """Take a token now and return how long to wait before using it (0 when one was saved up)."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def acquire(self) -> None:
        """Wait for a token; callers are served in order (``reserve`` is atomic on the event loop)."""
        delay = self.reserve()
        if delay > 0:
            self.waited_s += delay
            await self._sleep(delay)

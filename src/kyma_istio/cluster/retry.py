"""Retrying one API call by ``k8s.retry.RetryPolicy``: the thin I/O shell (sleeping, randomness).

Every ``Kube`` method runs through :func:`retrying`; the policy decides, this loop only waits. The
randomness is injectable so tests and the fault benchmark are deterministic.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from kyma_istio.k8s import errors
from kyma_istio.k8s.retry import RetryPolicy

T = TypeVar("T")


@dataclass
class Retrier:
    """Applies a policy; counts the retries it made (for metrics, tests and the fault benchmark)."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    jitter: Callable[[], float] = random.random
    retries: int = 0
    """Calls repeated after a transient failure, over this retrier's life."""
    gave_up: int = 0
    """Calls that still failed transiently after the last attempt."""

    async def call(self, attempt_once: Callable[[], Awaitable[T]]) -> T:
        """``attempt_once()`` until it succeeds, fails for good, or the attempts run out."""
        attempt = 1
        while True:
            try:
                return await attempt_once()
            except errors.ClusterError as err:
                wait = self.policy.delay(attempt, err, self.jitter())
                if wait is None:
                    if self.policy.retryable(err):
                        self.gave_up += 1
                    raise
            self.retries += 1
            attempt += 1
            await self.sleep(wait)

"""The token bucket: a burst goes at once, then requests are spaced by 1/rate."""

from __future__ import annotations

import asyncio

import pytest

from kyma_istio.k8s.ratelimit import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_burst_is_free_then_requests_wait_one_interval_each() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=3, clock=clock, sleep=clock.sleep)

    async def send(n: int) -> None:
        for _ in range(n):
            await bucket.acquire()

    asyncio.run(send(6))

    assert clock.slept == pytest.approx([0.1, 0.1, 0.1])
    assert bucket.waited_s == pytest.approx(0.3)


def test_idle_time_refills_the_bucket_up_to_the_burst() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=2, clock=clock, sleep=clock.sleep)
    for _ in range(2):
        assert bucket.reserve() == 0
    clock.now += 100  # long idle: only `burst` tokens are saved up

    assert [bucket.reserve() for _ in range(3)] == pytest.approx([0, 0, 0.5])


def test_a_zero_rate_means_no_limit() -> None:
    bucket = TokenBucket(rate=0, burst=0)

    assert all(bucket.reserve() == 0 for _ in range(1000))


def test_a_rate_without_a_burst_is_refused() -> None:
    with pytest.raises(ValueError, match="burst must be at least 1"):
        TokenBucket(rate=5, burst=0)

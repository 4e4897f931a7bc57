"""The retry loop at the client seam: repeats transient failures by policy, counts them, gives up."""

import pytest

from kyma_istio.cluster.retry import Retrier
from kyma_istio.k8s import errors
from kyma_istio.k8s.retry import RetryPolicy


class Flaky:
    """Fails with the given errors in turn, then returns "ok"."""

    def __init__(self, *failures: errors.ClusterError) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def retrier(attempts: int = 4) -> tuple[Retrier, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    policy = RetryPolicy(attempts=attempts, base_s=1.0, max_s=8.0)
    return Retrier(policy=policy, sleep=sleep, jitter=lambda: 0.0), slept


async def test_transient_failures_are_absorbed_and_counted() -> None:
    loop, slept = retrier()
    call = Flaky(errors.Transient("503"), errors.Transient("429", retry_after_s=3))

    assert await loop.call(call) == "ok"
    assert call.calls == 3
    assert slept == [0.5, 3]
    assert loop.retries == 2
    assert loop.gave_up == 0


async def test_a_persisting_failure_is_raised_with_the_api_error_after_the_last_attempt() -> None:
    loop, slept = retrier(attempts=3)
    call = Flaky(*(errors.Transient(f"patch Deployment app/a: HTTP 503 #{n}") for n in range(5)))

    with pytest.raises(errors.Transient, match="patch Deployment app/a: HTTP 503 #2"):
        await loop.call(call)
    assert call.calls == 3
    assert len(slept) == 2
    assert loop.gave_up == 1


async def test_a_failure_retrying_cannot_help_is_raised_at_once() -> None:
    loop, slept = retrier()
    call = Flaky(errors.Conflict("modified"))

    with pytest.raises(errors.Conflict):
        await loop.call(call)
    assert call.calls == 1
    assert slept == []
    assert loop.gave_up == 0

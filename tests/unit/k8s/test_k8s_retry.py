"""The retry policy: which failures are retried, how long to wait, and when to give up."""

import pytest

from kyma_istio.k8s import errors
from kyma_istio.k8s.retry import NO_RETRY, RetryPolicy

POLICY = RetryPolicy(attempts=5, base_s=0.5, max_s=3.0, max_retry_after_s=10.0)


@pytest.mark.parametrize(
    "err",
    [
        errors.Conflict("patch: modified"),
        errors.NotFound("gone"),
        errors.Forbidden("no"),
        errors.Invalid("bad"),
        errors.Expired("410"),
        errors.DisruptionRefused("pdb"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_only_transient_failures_are_retried(err: errors.ClusterError) -> None:
    assert POLICY.delay(1, err, 0.5) is None


def test_waits_double_from_the_base_up_to_the_cap_with_the_jitter_in_the_upper_half() -> None:
    err = errors.Transient("503")

    lowest = [POLICY.delay(n, err, 0.0) for n in range(1, 5)]
    highest = [POLICY.delay(n, err, 0.999999) for n in range(1, 5)]

    assert lowest == [0.25, 0.5, 1.0, 1.5]
    assert highest == pytest.approx([0.5, 1.0, 2.0, 3.0])


def test_the_servers_retry_after_is_honoured_up_to_its_cap() -> None:
    assert POLICY.delay(1, errors.Transient("429", retry_after_s=7), 0.3) == 7
    assert POLICY.delay(1, errors.Transient("429", retry_after_s=600), 0.3) == 10
    assert POLICY.delay(1, errors.Transient("429", retry_after_s=0), 0.3) == 0


def test_the_attempts_are_bounded() -> None:
    err = errors.Transient("reset")

    assert POLICY.delay(4, err, 0.5) is not None
    assert POLICY.delay(5, err, 0.5) is None
    assert NO_RETRY.delay(1, err, 0.5) is None


def test_the_worst_case_is_bounded_by_attempts_and_caps() -> None:
    assert POLICY.worst_case_s() == 4 * 10.0

"""When to retry an API call and how long to wait: pure policy, applied by ``cluster.retry``.

A failed request that is likely to succeed when repeated (429, 5xx, timeouts, connection resets) is
retried inside the step, so one bad request never turns a CR to ``Error``. The waits grow
exponentially with "equal jitter" (half fixed, half random) so many callers do not retry in lock-step,
honour the server's ``Retry-After`` up to a cap, and the attempts are bounded: an outage that outlasts
them is reported by the step with the API error, and the pass backs off as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from kyma_istio.k8s import errors


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded, jittered exponential backoff for one API call."""

    attempts: int = 8
    """Calls in total, the first included; 1 disables retries."""
    base_s: float = 0.25
    max_s: float = 4.0
    """The longest computed wait between two calls."""
    max_retry_after_s: float = 10.0
    """The longest ``Retry-After`` honoured; a longer one is cut to this."""

    def retryable(self, err: errors.ClusterError) -> bool:
        """Only transient failures are retried; conflicts need a re-read (the caller's), the rest a fix."""
        return isinstance(err, errors.Transient)

    def delay(self, attempt: int, err: errors.ClusterError, jitter: float) -> float | None:
        """Seconds to wait before call ``attempt + 1`` after call ``attempt`` (1-based) failed with
        ``err``, or None to give up. ``jitter`` is a number in [0, 1) from the caller's random source."""
        if attempt >= self.attempts or not self.retryable(err):
            return None
        retry_after = err.retry_after_s if isinstance(err, errors.Transient) else None
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after_s)
        ceiling = min(self.base_s * 2.0 ** (attempt - 1), self.max_s)
        return ceiling / 2 + ceiling / 2 * min(max(jitter, 0.0), 1.0)

    def worst_case_s(self) -> float:
        """The longest the retries of one call can wait in total (every wait a full ``Retry-After``)."""
        return (self.attempts - 1) * max(self.max_s, self.max_retry_after_s)


COMMAND_RETRY = RetryPolicy(attempts=3, max_s=1.0, max_retry_after_s=2.0)
"""For one-shot commands (``diff``, ``plan-restarts``): a blip is absorbed, an unreachable server is
reported within about a second per call, as kubectl would, instead of after the operator's patience."""

NO_RETRY = RetryPolicy(attempts=1)
"""For callers that handle failures themselves (tests that count single requests)."""

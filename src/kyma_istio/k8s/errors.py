"""API errors, typed by what the caller should do next.

The reconciler does not look at HTTP codes: it asks whether an error is transient (retry with backoff),
a conflict (re-read and retry now), a missing object, or permanent (report and wait for a change).
``cluster.errors.translate`` maps lightkube's and httpx's errors onto these.
"""

from __future__ import annotations


class ClusterError(Exception):
    """An API call failed; the message is short and safe to show in a CR's status."""


class NotFound(ClusterError):
    """The object (or its kind) does not exist."""


class Conflict(ClusterError):
    """A write lost an optimistic-concurrency race; re-read and retry."""


class Transient(ClusterError):
    """The API server is overloaded or unreachable; retry with backoff."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        """The server's ``Retry-After`` (a 429 or 503 says when to come back), if it sent one."""


class DisruptionRefused(ClusterError):
    """An eviction was refused because a PodDisruptionBudget allows no disruption now (429 on
    ``pods/eviction``): not an API failure, the owner waits for a later wave or pass."""


class Expired(ClusterError):
    """A list's continue token expired (410 Gone); the listing must start over."""


class Forbidden(ClusterError):
    """RBAC denies the call; retrying will not help until the role changes."""


class Invalid(ClusterError):
    """The API server refused the object as invalid."""


class NoConfig(ClusterError):
    """No kubeconfig (file, in-cluster or ``$KUBECONFIG``) says which cluster to talk to."""

"""API errors, typed by what the caller should do next.

The reconciler does not look at HTTP codes: it asks whether an error is transient (retry with backoff),
a conflict (re-read and retry now), a missing object, or permanent (report and wait for a change).
"""

from __future__ import annotations

import httpx2
from lightkube import ApiError


class ClusterError(Exception):
    """An API call failed; the message is short and safe to show in a CR's status."""


class NotFound(ClusterError):
    """The object (or its kind) does not exist."""


class Conflict(ClusterError):
    """A write lost an optimistic-concurrency race; re-read and retry."""


class Transient(ClusterError):
    """The API server is overloaded or unreachable; retry with backoff."""


class Expired(ClusterError):
    """A list's continue token expired (410 Gone); the listing must start over."""


class Forbidden(ClusterError):
    """RBAC denies the call; retrying will not help until the role changes."""


class Invalid(ClusterError):
    """The API server refused the object as invalid."""


_TRANSIENT_CODES = {429, 500, 502, 503, 504}


def translate(err: Exception, what: str) -> ClusterError:
    """Map a lightkube/httpx error to a typed one whose message names ``what`` was attempted."""
    if isinstance(err, ApiError):
        code = err.status.code or 0
        return _by_code(code, f"{what}: {err.status.message or err.status.reason or code}")
    if isinstance(err, httpx2.HTTPStatusError):
        # A reply that is not a Status object, e.g. the 404 for a kind the API server does not serve.
        code = err.response.status_code
        return _by_code(code, f"{what}: HTTP {code} {err.response.reason_phrase}".rstrip())
    if isinstance(err, httpx2.HTTPError | OSError | TimeoutError):
        return Transient(f"{what}: {type(err).__name__}: {err}")
    return ClusterError(f"{what}: {err}")


def _by_code(code: int, message: str) -> ClusterError:
    if code == 404:
        return NotFound(message)
    if code == 409:
        return Conflict(message)
    if code == 410:
        return Expired(message)
    if code == 403:
        return Forbidden(message)
    if code == 422:
        return Invalid(message)
    if code in _TRANSIENT_CODES:
        return Transient(message)
    return ClusterError(message)

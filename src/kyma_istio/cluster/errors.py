"""lightkube's and httpx's errors translated into the typed errors of ``k8s.errors``.

The types are defined in the pure ``k8s`` package (code above the seam catches them without importing
lightkube); they are re-exported here so callers of the cluster facade find them next to ``translate``.
"""

from __future__ import annotations

import httpx2
from lightkube import ApiError

from kyma_istio.k8s.errors import (
    ClusterError,
    Conflict,
    Expired,
    Forbidden,
    Invalid,
    NoConfig,
    NotFound,
    Transient,
)

__all__ = [
    "ClusterError",
    "Conflict",
    "Expired",
    "Forbidden",
    "Invalid",
    "NoConfig",
    "NotFound",
    "Transient",
    "translate",
]


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

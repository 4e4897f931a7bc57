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
    DisruptionRefused,
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
    "DisruptionRefused",
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
        message = f"{what}: {err.status.message or err.status.reason or code}"
        budget = _disruption_budget(err)
        if budget is not None:
            return DisruptionRefused(f"{message} {budget}".rstrip())
        return _by_code(code, message, _retry_after(err))
    if isinstance(err, httpx2.HTTPStatusError):
        # A reply that is not a Status object, e.g. the 404 for a kind the API server does not serve.
        code = err.response.status_code
        message = f"{what}: HTTP {code} {err.response.reason_phrase}".rstrip()
        return _by_code(code, message, _retry_after(err))
    if isinstance(err, httpx2.HTTPError | OSError | TimeoutError):
        return Transient(f"{what}: {type(err).__name__}: {err}")
    return ClusterError(f"{what}: {err}")


def _disruption_budget(err: ApiError) -> str | None:
    """The PDB's own words when the reply is an eviction refused by a disruption budget, else None."""
    details = err.status.details
    for cause in (details.causes if details else None) or []:
        if cause.reason == "DisruptionBudget":
            return cause.message or ""
    return None


def _retry_after(err: httpx2.HTTPStatusError) -> float | None:
    """Seconds from the ``Retry-After`` header (or the Status's ``retryAfterSeconds``), if any."""
    header = err.response.headers.get("Retry-After") if err.response is not None else None
    if header is not None:
        try:
            return float(header)
        except ValueError:
            return None  # an HTTP date: rare from kube-apiserver, fall back to our own backoff
    details = err.status.details if isinstance(err, ApiError) else None
    seconds = details.retryAfterSeconds if details else None
    return float(seconds) if seconds else None


def _by_code(code: int, message: str, retry_after_s: float | None = None) -> ClusterError:
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
        return Transient(message, retry_after_s=retry_after_s)
    return ClusterError(message)

"""Timestamps in the form Kubernetes writes them."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(moment: datetime) -> str:
    """``2026-11-27T03:04:05Z``, the form Kubernetes and the reference's restartedAt use."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

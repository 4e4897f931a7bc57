"""Which Istio CR drives the module when several exist (spec section 9, step 5), decided purely.

The oldest by ``creationTimestamp`` wins. The reference breaks ties by list order (quirk 9), which can
flip between reads; here a tie goes to the smaller name, then UID, so every pass agrees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def oldest(crs: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The CR that reconciles the module, or None when there is none."""

    def key(cr: Mapping[str, Any]) -> tuple[str, str, str]:
        meta = cr.get("metadata", {})
        return (str(meta.get("creationTimestamp", "")), str(meta.get("name", "")), str(meta.get("uid", "")))

    return min(crs, key=key, default=None)

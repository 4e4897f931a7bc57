"""Our installation finalizer on the CR, added and removed with optimistic concurrency.

The patch carries the ``resourceVersion`` it was computed from, so another party's finalizer edit in
between makes it fail with a conflict (and we retry on fresh data) instead of being overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kyma_istio.api import names
from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.seam import KubeApi

_ATTEMPTS = 5


def has(cr: Mapping[str, Any]) -> bool:
    return names.FINALIZER in (cr.get("metadata", {}).get("finalizers") or [])


async def _update(kube: KubeApi, cr: dict[str, Any], *, add: bool) -> dict[str, Any]:
    current = cr
    for attempt in range(_ATTEMPTS):
        meta = current["metadata"]
        finalizers = [f for f in meta.get("finalizers") or [] if f != names.FINALIZER]
        if add:
            finalizers.append(names.FINALIZER)
        patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta.get("resourceVersion")}}
        try:
            return await kube.patch(kinds.ISTIO, meta["name"], patch, namespace=meta.get("namespace"))
        except errors.Conflict:
            if attempt == _ATTEMPTS - 1:
                raise
            fresh = await kube.get(kinds.ISTIO, meta["name"], meta.get("namespace"))
            if fresh is None:
                raise errors.NotFound(f"Istio {meta.get('namespace')}/{meta['name']} is gone") from None
            current = fresh
            if has(current) == add:
                return current
    raise AssertionError("unreachable")


async def add(kube: KubeApi, cr: dict[str, Any]) -> dict[str, Any]:
    """The CR with our finalizer (unchanged, and no write, when it already has it)."""
    return cr if has(cr) else await _update(kube, cr, add=True)


async def remove(kube: KubeApi, cr: dict[str, Any]) -> dict[str, Any] | None:
    """The CR without our finalizer, or None when the API server deleted it as a result."""
    if not has(cr):
        return cr
    try:
        return await _update(kube, cr, add=False)
    except errors.NotFound:
        return None

"""When a rolled-out workload counts as healthy: the rule the executor's health gate waits for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def healthy(obj: Mapping[str, Any]) -> bool:
    """A workload whose rollout finished: every replica updated and available."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if (status.get("observedGeneration") or 0) < (obj.get("metadata", {}).get("generation") or 0):
        return False
    kind = obj.get("kind")
    if kind == "DaemonSet":
        desired = status.get("desiredNumberScheduled", 0)
        return bool(status.get("updatedNumberScheduled", 0) == desired == status.get("numberAvailable", 0))
    replicas = spec.get("replicas", 1)
    ready_key = "readyReplicas" if kind == "StatefulSet" else "availableReplicas"
    # Old replicas still running (status.replicas above the updated ones) mean the rollout is not over:
    # they count as available, so a new pod can still be unready.
    updated = status.get("updatedReplicas", 0)
    return bool(updated == replicas == status.get("replicas", 0) and status.get(ready_key, 0) == replicas)

"""Kubernetes Events about the Istio CR: what ``kubectl describe istio`` shows next to the status.

Aggregated as client-go's recorder does (its EventCorrelator): an Event equal to one posted before (same
object, type, reason, message and source) is not created again; the earlier Event's ``count`` and
``lastTimestamp`` are patched. A bounded in-memory cache remembers what was posted; when the Event is
gone (expired by the API server's TTL, deleted), a new one is created.
"""

from __future__ import annotations

import collections
import logging
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.seam import KubeApi, PatchType

COMPONENT = "kyma-istio-operator"
_MAX_MESSAGE = 1024
CACHE_SIZE = 4096
"""Events remembered for aggregation (client-go's LRU holds 4096 too)."""

EventKey = tuple[str, ...]


@dataclass
class _Posted:
    name: str
    namespace: str
    count: int


def event_key(event: Mapping[str, Any]) -> EventKey:
    """What makes two Events the same one: client-go's ``getEventKey`` fields."""
    involved = event.get("involvedObject", {})
    return (
        str(event.get("source", {}).get("component", "")),
        *(str(involved.get(k, "")) for k in ("apiVersion", "kind", "namespace", "name", "uid")),
        str(event.get("type", "")),
        str(event.get("reason", "")),
        str(event.get("message", "")),
    )


class KubeEvents:
    """Posts core/v1 Events; a failure to post is logged, never fatal to the pass."""

    def __init__(self, kube: KubeApi, log: logging.Logger | None = None) -> None:
        self.kube = kube
        self.log = log or logging.getLogger("kyma_istio.events")
        self.instance = socket.gethostname()
        self._posted: collections.OrderedDict[EventKey, _Posted] = collections.OrderedDict()

    async def post(self, cr: Mapping[str, Any], *, type_: str, reason: str, message: str) -> None:
        meta = cr.get("metadata", {})
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            # A cluster-scoped object's (a Namespace's) Events live in "default", as kubectl expects.
            "metadata": {
                "generateName": f"{meta.get('name', 'istio')}.",
                "namespace": meta.get("namespace") or "default",
            },
            "involvedObject": {
                "apiVersion": cr.get("apiVersion"),
                "kind": cr.get("kind"),
                "name": meta.get("name"),
                "namespace": meta.get("namespace"),
                "uid": meta.get("uid"),
            },
            "reason": reason,
            "message": message[:_MAX_MESSAGE],
            "type": type_,
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": self.instance,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        self.log.info(
            "event %s %s: %s",
            type_,
            reason,
            message,
            extra={"cr": f"{meta.get('namespace')}/{meta.get('name')}"},
        )
        try:
            await self._record(event, now)
        except errors.ClusterError as err:
            self.log.warning("could not post event %s: %s", reason, err)

    async def _record(self, event: dict[str, Any], now: str) -> None:
        key = event_key(event)
        seen = self._posted.get(key)
        if seen is not None:
            patch = {"count": seen.count + 1, "lastTimestamp": now}
            try:
                await self.kube.patch(
                    kinds.EVENT, seen.name, patch, namespace=seen.namespace, patch_type=PatchType.MERGE
                )
            except errors.NotFound:
                self._posted.pop(key, None)  # expired or deleted: start a new one below
            else:
                seen.count += 1
                self._posted.move_to_end(key)
                return
        created = await self.kube.create(kinds.EVENT, event)
        meta = created.get("metadata", {})
        self._posted[key] = _Posted(name=meta.get("name", ""), namespace=meta.get("namespace", ""), count=1)
        while len(self._posted) > CACHE_SIZE:
            self._posted.popitem(last=False)

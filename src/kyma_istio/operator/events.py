"""Kubernetes Events about the Istio CR: what ``kubectl describe istio`` shows next to the status."""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.seam import KubeApi

COMPONENT = "kyma-istio-operator"
_MAX_MESSAGE = 1024


class KubeEvents:
    """Posts core/v1 Events; a failure to post is logged, never fatal to the pass."""

    def __init__(self, kube: KubeApi, log: logging.Logger | None = None) -> None:
        self.kube = kube
        self.log = log or logging.getLogger("kyma_istio.events")
        self.instance = socket.gethostname()

    async def post(self, cr: Mapping[str, Any], *, type_: str, reason: str, message: str) -> None:
        meta = cr.get("metadata", {})
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{meta.get('name', 'istio')}.", "namespace": meta.get("namespace")},
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
            await self.kube.create(kinds.EVENT, event)
        except errors.ClusterError as err:
            self.log.warning("could not post event %s: %s", reason, err)

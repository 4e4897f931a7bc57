"""Removal rule (spec 6.7): after uninstall, every pod that still runs an Istio proxy has to be recreated.

Only pods where the proxy is a sidecar count: a classic ``istio-proxy`` next to at least one other
container, or a native sidecar. A single-container ``istio-proxy`` pod is a gateway, not an injected
workload. Image and health do not matter (there is no expected image any more); a pod already being
deleted is left alone because its replacement is on the way.
"""

from __future__ import annotations

from kyma_istio.restart.podview import PodView
from kyma_istio.restart.predicates.reason import OutdatedReason


def sidecar_present(pod: PodView) -> OutdatedReason | None:
    """``SIDECAR_REMOVAL`` when the pod still carries an injected proxy."""
    if pod.terminating:
        return None
    injected = any(proxy.native for proxy in pod.proxies) or (
        pod.container_count > 1 and any(not proxy.native for proxy in pod.proxies)
    )
    return OutdatedReason.SIDECAR_REMOVAL if injected else None

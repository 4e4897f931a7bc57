"""Why a pod's sidecar is due for a restart: the rule that fired, reported per owner action.

The value is what users see: in ``kyma-istio plan-restarts``, in the ``SidecarRestart`` Event and as the
``reason`` label of ``kyma_istio_sidecar_outdated_proxies``.
"""

from __future__ import annotations

import enum


class OutdatedReason(enum.StrEnum):
    """The rule that selected a pod, in the order the rules are evaluated (spec 6.4)."""

    COMPATIBILITY_MODE_CHANGED = "CompatibilityModeChanged"
    DNS_PROXYING_CHANGED = "DNSProxyingChanged"
    PROXY_STATS_MATCHER_CHANGED = "ProxyStatsMatcherChanged"
    PROMETHEUS_MERGE_OUTDATED = "PrometheusMergeOutdated"
    IMAGE_OUTDATED = "ImageOutdated"
    RESOURCES_OUTDATED = "ResourcesOutdated"
    SIDECAR_MISSING = "SidecarMissing"
    """The pod's namespace asks for injection (``istio-injection=enabled``) but the pod has no sidecar:
    injection was turned on after it started. Its owner rolls so the injector adds one."""
    SIDECAR_REMOVAL = "SidecarRemoval"
    """Only the uninstall plan uses this: Istio is gone and the sidecar has to go with it."""

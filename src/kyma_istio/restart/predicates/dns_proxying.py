"""Rule 1b: an ``enableDNSProxying`` change alters the proxy metadata of every injected pod.

The setting becomes ``ISTIO_META_DNS_CAPTURE`` in the mesh's ``defaultConfig.proxyMetadata``, which the
injector copies into each pod's ``istio-proxy`` environment when the pod is created: only a new pod picks
a change up. Like the compatibility rule it concerns the whole mesh and overrides the custom-image
exemption (a pinned proxy image does not pin the injected environment). Unset is a value of its own,
as in the reference: from unset to ``false`` writes ``ISTIO_META_DNS_CAPTURE=false`` and counts.
"""

from __future__ import annotations

from kyma_istio.restart.podview import PodView
from kyma_istio.restart.predicates.expectation import Expectation
from kyma_istio.restart.predicates.reason import OutdatedReason


def dns_proxying_differs(before: bool | None, now: bool | None) -> bool:
    """Whether the setting moved; ``None`` (unset), ``False`` and ``True`` are three values."""
    return before is not now


def dns_proxying_changed(pod: PodView, expectation: Expectation) -> OutdatedReason | None:
    """``DNS_PROXYING_CHANGED`` for every pod while the setting differs from the last-applied one."""
    del pod  # Deliberately pod-independent: the change concerns the whole mesh.
    return OutdatedReason.DNS_PROXYING_CHANGED if expectation.dns_proxying_changed else None

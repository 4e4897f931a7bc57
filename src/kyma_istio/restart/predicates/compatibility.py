"""Rule 1 (spec 6.4): a compatibility-mode flip changes proxy behaviour for every injected pod.

The flip changes proxy metadata that the injector writes into each pod, so even pods with a custom
proxy image must be recreated; this rule therefore runs before the custom-image exemption, as do the
other injection-time rules (DNS proxying, proxy stats matcher, Prometheus merge).
"""

from __future__ import annotations

from kyma_istio.restart.podview import PodView
from kyma_istio.restart.predicates.expectation import Expectation
from kyma_istio.restart.predicates.reason import OutdatedReason


def compatibility_changed(pod: PodView, expectation: Expectation) -> OutdatedReason | None:
    """``COMPATIBILITY_MODE_CHANGED`` for every pod while the mode differs from the last-applied one."""
    del pod  # Deliberately pod-independent: the change concerns the whole mesh.
    return OutdatedReason.COMPATIBILITY_MODE_CHANGED if expectation.compatibility_changed else None

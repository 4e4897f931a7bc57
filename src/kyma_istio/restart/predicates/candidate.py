"""Rule 0 (spec 6.3): only healthy, running, injected pods are considered at all.

Restarting a pod that is starting, failing or being deleted gains nothing: its replacement is already
on the way or it would not become ready anyway, and touching its owner would only add churn.
"""

from __future__ import annotations

from kyma_istio.restart.podview import PodView


def is_candidate(pod: PodView) -> bool:
    """Running, not terminating, every condition True, and injected (has ``sidecar.istio.io/status``)."""
    return (
        pod.phase == "Running" and not pod.terminating and pod.all_conditions_true and pod.has_sidecar_status
    )

"""The rules in order (spec 6.4): the first that fires names the reason.

Order matters only for the reported reason and for the custom-image exemption. First the mesh-wide
changes against the last applied spec (compatibility mode, DNS proxying, proxy stats matcher): each one
selects every injected pod, so it is the most telling reason for all of them. Then Prometheus merge, per
pod. All four concern what the injector writes into a pod (proxy metadata, proxy config, annotations),
which a pinned proxy image (``sidecar.istio.io/proxyImage``) does not pin, so they run before the
custom-image exemption and still recreate such pods. Image comes before resources because a new image
usually brings new resources too, and the image is the more telling reason.
"""

from __future__ import annotations

from kyma_istio.restart.podview import PodView
from kyma_istio.restart.predicates.candidate import is_candidate
from kyma_istio.restart.predicates.compatibility import compatibility_changed
from kyma_istio.restart.predicates.custom_image import has_custom_image
from kyma_istio.restart.predicates.dns_proxying import dns_proxying_changed
from kyma_istio.restart.predicates.expectation import Expectation
from kyma_istio.restart.predicates.image import image_outdated
from kyma_istio.restart.predicates.prometheus_merge import prometheus_merge_outdated
from kyma_istio.restart.predicates.reason import OutdatedReason
from kyma_istio.restart.predicates.resources import resources_outdated
from kyma_istio.restart.predicates.stats_matcher import stats_matcher_changed

_INJECTED_SETTINGS = (
    compatibility_changed,
    dns_proxying_changed,
    stats_matcher_changed,
    prometheus_merge_outdated,
)
"""The rules that override the custom-image exemption, in order."""


def outdated_reason(pod: PodView, expectation: Expectation) -> OutdatedReason | None:
    """Why this pod's sidecar needs a restart, or ``None`` when it is current or not a candidate."""
    if not is_candidate(pod):
        return None
    for rule in _INJECTED_SETTINGS:
        if reason := rule(pod, expectation):
            return reason
    if has_custom_image(pod):
        return None
    return image_outdated(pod, expectation) or resources_outdated(pod, expectation)

"""The rules in the reference's order (spec 6.4): the first that fires names the reason.

Order matters only for the reported reason and for the custom-image exemption: compatibility comes
first because it overrides the exemption; image comes before resources because a new image usually
brings new resources too, and the image is the more telling reason.
"""

from __future__ import annotations

from kyma_istio.restart.podview import PodView
from kyma_istio.restart.predicates.candidate import is_candidate
from kyma_istio.restart.predicates.compatibility import compatibility_changed
from kyma_istio.restart.predicates.custom_image import has_custom_image
from kyma_istio.restart.predicates.expectation import Expectation
from kyma_istio.restart.predicates.image import image_outdated
from kyma_istio.restart.predicates.reason import OutdatedReason
from kyma_istio.restart.predicates.resources import resources_outdated


def outdated_reason(pod: PodView, expectation: Expectation) -> OutdatedReason | None:
    """Why this pod's sidecar needs a restart, or ``None`` when it is current or not a candidate."""
    if not is_candidate(pod):
        return None
    if reason := compatibility_changed(pod, expectation):
        return reason
    if has_custom_image(pod):
        return None
    return image_outdated(pod, expectation) or resources_outdated(pod, expectation)

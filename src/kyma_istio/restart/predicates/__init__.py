"""One module per selection rule; :func:`outdated_reason` applies them in the reference's order."""

from kyma_istio.restart.predicates.candidate import is_candidate
from kyma_istio.restart.predicates.compatibility import compatibility_changed
from kyma_istio.restart.predicates.custom_image import has_custom_image
from kyma_istio.restart.predicates.expectation import Expectation, ProxyResources
from kyma_istio.restart.predicates.image import image_outdated
from kyma_istio.restart.predicates.outdated import outdated_reason
from kyma_istio.restart.predicates.reason import OutdatedReason
from kyma_istio.restart.predicates.resources import expected_resources, resources_outdated
from kyma_istio.restart.predicates.sidecar_present import sidecar_present

__all__ = [
    "Expectation",
    "OutdatedReason",
    "ProxyResources",
    "compatibility_changed",
    "expected_resources",
    "has_custom_image",
    "image_outdated",
    "is_candidate",
    "outdated_reason",
    "resources_outdated",
    "sidecar_present",
]

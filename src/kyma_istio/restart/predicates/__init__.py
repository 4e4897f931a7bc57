"""One module per selection rule; :func:`outdated_reason` applies them in order (``outdated``)."""

from kyma_istio.restart.predicates.candidate import is_candidate
from kyma_istio.restart.predicates.compatibility import compatibility_changed
from kyma_istio.restart.predicates.custom_image import has_custom_image
from kyma_istio.restart.predicates.dns_proxying import dns_proxying_changed, dns_proxying_differs
from kyma_istio.restart.predicates.expectation import DEFAULT_STATUS_PORT, Expectation, ProxyResources
from kyma_istio.restart.predicates.image import image_outdated
from kyma_istio.restart.predicates.outdated import outdated_reason
from kyma_istio.restart.predicates.prometheus_merge import STATS_PATH, prometheus_merge_outdated
from kyma_istio.restart.predicates.reason import OutdatedReason
from kyma_istio.restart.predicates.resources import expected_resources, resources_outdated
from kyma_istio.restart.predicates.sidecar_present import sidecar_present
from kyma_istio.restart.predicates.stats_matcher import (
    canonical_regexps,
    inclusion_regexps_differ,
    stats_matcher_changed,
)

__all__ = [
    "DEFAULT_STATUS_PORT",
    "STATS_PATH",
    "Expectation",
    "OutdatedReason",
    "ProxyResources",
    "canonical_regexps",
    "compatibility_changed",
    "dns_proxying_changed",
    "dns_proxying_differs",
    "expected_resources",
    "has_custom_image",
    "image_outdated",
    "inclusion_regexps_differ",
    "is_candidate",
    "outdated_reason",
    "prometheus_merge_outdated",
    "resources_outdated",
    "sidecar_present",
    "stats_matcher_changed",
]

"""Rule 2b (spec 6.4): proxy requests or limits that differ from the expected ones.

Values are compared as quantities, so ``1`` equals ``1000m`` and ``1Gi`` equals ``1024Mi``. Per-pod
``sidecar.istio.io/proxyCPU`` (and friends) annotations replace the CR's value for their key, because
the injector applies them over the mesh-wide defaults: comparing such a pod with the CR's values would
find it outdated forever and restart it on every reconcile (quirk 4 of the reference, fixed here).
"""

from __future__ import annotations

from kyma_istio.restart._quantity import same_quantity
from kyma_istio.restart.podview import PodView, ProxyView
from kyma_istio.restart.predicates.expectation import Expectation, ProxyResources
from kyma_istio.restart.predicates.reason import OutdatedReason


def expected_resources(pod: PodView, expectation: Expectation) -> ProxyResources:
    """The resources the injector would give this pod's proxy: the CR's, overridden per annotation."""
    wanted, overrides = expectation.resources, pod.overrides
    return ProxyResources(
        cpu_request=overrides.cpu_request or wanted.cpu_request,
        memory_request=overrides.memory_request or wanted.memory_request,
        cpu_limit=overrides.cpu_limit or wanted.cpu_limit,
        memory_limit=overrides.memory_limit or wanted.memory_limit,
    )


def resources_outdated(pod: PodView, expectation: Expectation) -> OutdatedReason | None:
    """``RESOURCES_OUTDATED`` when any ``istio-proxy`` differs from the expected resources."""
    wanted = expected_resources(pod, expectation)
    if any(not _matches(proxy, wanted) for proxy in pod.proxies):
        return OutdatedReason.RESOURCES_OUTDATED
    return None


def _matches(proxy: ProxyView, wanted: ProxyResources) -> bool:
    return (
        same_quantity(proxy.cpu_request, wanted.cpu_request)
        and same_quantity(proxy.memory_request, wanted.memory_request)
        and same_quantity(proxy.cpu_limit, wanted.cpu_limit)
        and same_quantity(proxy.memory_limit, wanted.memory_limit)
    )

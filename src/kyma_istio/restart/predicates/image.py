"""Rule 2a (spec 6.4): a proxy running another image than this Istio release's ``proxyv2``.

Native sidecars (init containers with ``restartPolicy: Always``) are inspected as well, unlike the
reference, which only looked at ``spec.containers`` and so never upgraded them.
"""

from __future__ import annotations

from kyma_istio.restart.podview import PodView
from kyma_istio.restart.predicates.expectation import Expectation
from kyma_istio.restart.predicates.reason import OutdatedReason


def image_outdated(pod: PodView, expectation: Expectation) -> OutdatedReason | None:
    """``IMAGE_OUTDATED`` when any ``istio-proxy`` image is not exactly the expected one."""
    if any(proxy.image != expectation.image for proxy in pod.proxies):
        return OutdatedReason.IMAGE_OUTDATED
    return None

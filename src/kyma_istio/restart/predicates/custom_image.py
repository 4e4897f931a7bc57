"""Exemption (spec 6.4): a pod that pins its own proxy image is never restarted for image or resources.

The user chose that image on purpose; restarting would bring back the same pinned image and restart
again on the next pass. Only the compatibility rule, which runs first, overrides the exemption.
"""

from __future__ import annotations

from kyma_istio.restart.podview import PodView


def has_custom_image(pod: PodView) -> bool:
    """The pod carries ``sidecar.istio.io/proxyImage``."""
    return pod.has_custom_proxy_image

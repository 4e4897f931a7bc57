"""Exemption (spec 6.4): a pod that pins its own proxy image is never restarted for image or resources.

The user chose that image on purpose; restarting would bring back the same pinned image and restart
again on the next pass. The rules about settings the injector writes into the pod (compatibility mode,
DNS proxying, proxy stats matcher, Prometheus merge) run first and override the exemption: the pinned
image does not pin those, and only a new pod gets them.
"""

from __future__ import annotations

from kyma_istio.restart.podview import PodView


def has_custom_image(pod: PodView) -> bool:
    """The pod carries ``sidecar.istio.io/proxyImage``."""
    return pod.has_custom_proxy_image

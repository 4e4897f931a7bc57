"""Takeover without collateral: which hub to install from when Istio is already running.

A cluster moving to this operator from the Kyma Istio module runs Istio from Kyma's registry. Installing
from our default hub there would change every Istio image and make every sidecar look outdated, so the
whole mesh would restart for nothing (and users behind egress rules may not reach the other registry).
The rule, pure so the reconciler, ``diff`` and ``plan-restarts`` agree on it (ADR 12):

1. a hub set explicitly (the operator's ``--hub`` flag) wins;
2. else the hub the installed istiod runs from;
3. else (a fresh cluster) the default hub.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from kyma_istio import pins

ISTIOD_DEPLOYMENT: Final = "istiod"
"""The default-revision istiod Deployment in istio-system (the one istioctl and the Kyma module install)."""
ISTIOD_CONTAINER: Final = "discovery"


@dataclass(frozen=True)
class ImageRef:
    """A container image split into registry path (the hub), repository name and tag."""

    hub: str
    name: str
    tag: str


def split_image(image: str) -> ImageRef | None:
    """``<hub>/<name>:<tag>`` of an image reference (a digest is dropped); None without a hub or tag."""
    ref = image.split("@", 1)[0]
    path, _, name_tag = ref.rpartition("/")
    name, colon, tag = name_tag.partition(":")
    if not path or not name or not colon or not tag:
        return None
    return ImageRef(hub=path, name=name, tag=tag)


def running_istiod_image(deployment: Mapping[str, Any] | None) -> ImageRef | None:
    """The image of the ``discovery`` container of an istiod Deployment; None when there is none."""
    if not deployment:
        return None
    containers = ((deployment.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers")
    for container in containers or []:
        if container.get("name") == ISTIOD_CONTAINER and isinstance(container.get("image"), str):
            return split_image(container["image"])
    return None


def choose_hub(configured: str | None, running: ImageRef | None) -> str:
    """The hub to install from: the configured one, else the running istiod's, else the default."""
    if configured:
        return configured
    if running is not None:
        return running.hub
    return pins.DEFAULT_HUB

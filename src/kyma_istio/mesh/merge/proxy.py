"""``spec.components.proxy`` into the sidecar's resources, and what a correct sidecar looks like.

The sidecar restarter compares running ``istio-proxy`` containers with the merged IstioOperator: a pod
whose image or resources differ was injected under an older configuration and needs a restart (spec 6.2).
Reading both expectations from the merged document, not from the CR, keeps the restarter and the
installer agreeing on one source.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

from kyma_istio.api.v1alpha2 import Components
from kyma_istio.mesh.merge.deep import deep_merge, nested, patch_at

_RESOURCES: Final = ("spec", "values", "global", "proxy", "resources")
_DEFAULT_PROXY_IMAGE: Final = "proxyv2"


class ProxyResourcesMissingError(ValueError):
    """The merged IstioOperator lacks one of the sidecar's four resource values."""

    def __init__(self) -> None:
        super().__init__("proxy resources missing in merged IstioOperator")


def apply_proxy(iop: Mapping[str, Any], components: Components | None) -> dict[str, Any]:
    """Override ``values.global.proxy.resources`` key by key with the CR's sidecar resources."""
    proxy = components.proxy if components else None
    if proxy is None or proxy.k8s.resources is None:
        return copy.deepcopy(dict(iop))
    return deep_merge(iop, patch_at(*_RESOURCES, value=proxy.k8s.resources.to_wire()))


def expected_proxy_resources(iop: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """``{"requests": {"cpu", "memory"}, "limits": {"cpu", "memory"}}`` every sidecar should have.

    Raises :class:`ProxyResourcesMissingError` when any of the four is absent: a partial expectation
    would make every sidecar look outdated and restart the whole mesh.
    """
    resources = nested(iop, *_RESOURCES) or {}
    expected: dict[str, dict[str, str]] = {}
    for bound in ("requests", "limits"):
        expected[bound] = {}
        for resource in ("cpu", "memory"):
            value = nested(resources, bound, resource)
            if value is None or value == "":
                raise ProxyResourcesMissingError()
            expected[bound][resource] = str(value)
    return expected


def expected_proxy_image(iop: Mapping[str, Any]) -> str:
    """The sidecar image injection uses: ``<hub>/<image>:<tag>``, the image being ``proxyv2``.

    As in Istio's injection template, an image value containing a ``/`` is already a full reference.
    """
    image = str(nested(iop, "spec", "values", "global", "proxy", "image") or _DEFAULT_PROXY_IMAGE)
    if "/" in image:
        return image
    hub, tag = nested(iop, "spec", "hub"), nested(iop, "spec", "tag")
    if not hub or not tag:
        raise ValueError("hub or tag missing in merged IstioOperator")
    return f"{hub}/{image}:{tag}"

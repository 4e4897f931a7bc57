"""Post-install check that every Istio pod runs the target version (spec section 4, "Post-install").

Pure: it reads pod dicts listed from ``istio-system``. The tag's flavour (``-distroless``) is ignored;
``major.minor.patch`` of every ``discovery``, ``istio-proxy`` and ``install-cni`` container must agree
with each other and with the target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kyma_istio.mesh.versions import parse_tag

_CONTAINERS = frozenset({"discovery", "istio-proxy", "install-cni"})


def _image_version(image: str) -> str:
    """``major.minor.patch`` of an image reference's tag (digests and registries with ports handled)."""
    reference = image.split("@", 1)[0]
    _name, sep, tag = reference.rpartition(":")
    if not sep or "/" in tag:
        raise ValueError(f"Unable to parse container image reference: {image}")
    try:
        version = parse_tag(tag)
    except ValueError as err:
        raise ValueError(f"Unable to parse container image reference: {image}") from err
    return f"{version.major}.{version.minor}.{version.patch}"


def verify_pod_versions(pods: Iterable[Mapping[str, Any]], target_version: str) -> str | None:
    """None when all Istio containers run ``target_version``; otherwise the reference's error text."""
    first: tuple[str, str] | None = None
    for pod in pods:
        meta = pod.get("metadata", {})
        if meta.get("deletionTimestamp"):
            continue
        for container in pod.get("spec", {}).get("containers") or []:
            if container.get("name") not in _CONTAINERS:
                continue
            try:
                version = _image_version(str(container.get("image", "")))
            except ValueError as err:
                return str(err)
            if first is None:
                first = (meta.get("name", "?"), version)
            elif version != first[1]:
                pod_name = meta.get("name")
                return f"Image version of Pod {pod_name} {version} do not match other Pods version {first[1]}"
    if first is None:
        return "Unable to obtain installed Istio image version"
    if first[1] != target_version:
        return f"istio-system Pods version {first[1]} do not match istio operator version {target_version}"
    return None

"""The Istio objects the operator keeps in the cluster, and what to apply or prune to get there.

Spec section 7: a mesh-wide strict-mTLS PeerAuthentication always, and on AWS an EnvoyFilter that makes
the ingress gateway read the PROXY protocol. Both carry the operator's labels, the operator version and
the disclaimer annotation. The cluster shell lists what exists, asks :func:`needs_apply` per object so a
no-change reconcile writes nothing, and deletes what :func:`resources_to_prune` names, e.g. the
EnvoyFilter after a cluster stops being an AWS one.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import yaml

from kyma_istio.api import names
from kyma_istio.k8s.kinds import Kind

AWS_PROVIDER: Final = "aws"
"""The provider value (as ``kyma_istio.mesh.profile.CloudProvider.AWS``) that needs the PROXY protocol."""

VERSION_LABEL: Final = "app.kubernetes.io/version"

PEER_AUTHENTICATION_TEMPLATE: Final = "peer-authentication.yaml"
PROXY_PROTOCOL_TEMPLATE: Final = "proxy-protocol-envoyfilter.yaml"

OWNERSHIP_LABELS: Final = {
    "app.kubernetes.io/name": names.OPERATOR_LABELS["app.kubernetes.io/name"],
    "app.kubernetes.io/instance": names.OPERATOR_LABELS["app.kubernetes.io/instance"],
}
"""Labels that mark an object as created by this operator.

The module label alone is not enough: 5.9 puts it on Istio's own objects too (EnvoyFilters included),
and pruning one of those would break the mesh.
"""

OWNERSHIP_SELECTOR: Final = ",".join(f"{key}={value}" for key, value in OWNERSHIP_LABELS.items())
"""Label selector for listing candidates to prune."""

MANAGED_KINDS: Final = (
    Kind("security.istio.io", "v1", "PeerAuthentication", "peerauthentications"),
    Kind("networking.istio.io", "v1alpha3", "EnvoyFilter", "envoyfilters"),
)
"""The kinds the operator may own objects of; the cluster shell lists these to find prune candidates."""


@dataclass(frozen=True)
class ObjectKey:
    """Identifies one object for a delete; the group, not the version, decides identity."""

    api_version: str
    kind: str
    namespace: str | None
    name: str

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def identity(self) -> tuple[str, str, str | None, str]:
        """The same object listed through another API version has the same identity."""
        return (self.group, self.kind, self.namespace, self.name)

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ObjectKey:
        """The key of an object as the API server returns it."""
        metadata = obj.get("metadata") or {}
        return cls(
            api_version=str(obj.get("apiVersion", "")),
            kind=str(obj.get("kind", "")),
            namespace=metadata.get("namespace") or None,
            name=str(metadata.get("name", "")),
        )


@functools.cache
def _template(file_name: str) -> dict[str, Any]:
    templates = importlib.resources.files("kyma_istio.resources") / "templates"
    text = templates.joinpath(file_name).read_text(encoding="utf-8")
    loaded = yaml.safe_load(text)
    if not isinstance(loaded, dict):
        raise ValueError(f"template {file_name} is not a single object")
    return loaded


def _with_managed_metadata(template: Mapping[str, Any], *, operator_version: str) -> dict[str, Any]:
    """A fresh copy of ``template`` with our labels and the disclaimer; the cached template stays intact."""
    obj = copy.deepcopy(dict(template))
    metadata = dict(obj.get("metadata") or {})
    metadata["labels"] = {
        **(metadata.get("labels") or {}),
        **names.OPERATOR_LABELS,
        VERSION_LABEL: operator_version,
    }
    metadata["annotations"] = {
        **(metadata.get("annotations") or {}),
        names.DISCLAIMER_ANNOTATION: names.DISCLAIMER,
    }
    obj["metadata"] = metadata
    return obj


def desired_resources(*, provider: str, operator_version: str) -> list[dict[str, Any]]:
    """The objects section 7 wants for a cluster on ``provider``, in the order they should be applied."""
    wanted = [PEER_AUTHENTICATION_TEMPLATE]
    if provider == AWS_PROVIDER:
        wanted.append(PROXY_PROTOCOL_TEMPLATE)
    return [_with_managed_metadata(_template(name), operator_version=operator_version) for name in wanted]


def is_owned(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` was created by this operator (and not by istioctl, which 5.9 also module-labels)."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    # istioctl labels what it installs; such an object is never ours to prune.
    if names.ISTIO_COMPONENT_LABEL in labels:
        return False
    return all(labels.get(key) == value for key, value in OWNERSHIP_LABELS.items())


def resources_to_prune(
    desired: Sequence[Mapping[str, Any]], existing_managed: Sequence[Mapping[str, Any]]
) -> list[ObjectKey]:
    """Objects of ours that exist but are no longer desired.

    ``existing_managed`` is whatever the shell listed (ideally with :data:`OWNERSHIP_SELECTOR` for each of
    :data:`MANAGED_KINDS`); objects that are not ours or of another kind are skipped here again, so a
    sloppy listing can never make the operator delete a user's or Istio's object.
    """
    managed_kinds = {kind.group_kind for kind in MANAGED_KINDS}
    wanted = {ObjectKey.of(obj).identity for obj in desired}
    prune: list[ObjectKey] = []
    for obj in existing_managed:
        key = ObjectKey.of(obj)
        if (key.group, key.kind) in managed_kinds and is_owned(obj) and key.identity not in wanted:
            prune.append(key)
    return prune


def _content(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object's payload (``spec``, ``data``, ...): everything but identity, metadata and status."""
    skipped = {"apiVersion", "kind", "metadata", "status"}
    return {key: value for key, value in obj.items() if key not in skipped}


def _contains(wanted: Mapping[str, Any], actual: Mapping[str, Any]) -> bool:
    return all(key in actual and actual[key] == value for key, value in wanted.items())


def needs_apply(desired: Mapping[str, Any], live: Mapping[str, Any] | None) -> bool:
    """Whether applying ``desired`` would change anything we own in ``live``.

    Labels and annotations are ours only by key, so others may add their own. The payload is ours as a
    whole: a manual edit, an added field included, is a difference that the next apply reverts.
    """
    if live is None:
        return True
    desired_meta = desired.get("metadata") or {}
    live_meta = live.get("metadata") or {}
    for field in ("labels", "annotations"):
        if not _contains(desired_meta.get(field) or {}, live_meta.get(field) or {}):
            return True
    return _content(desired) != _content(live)

"""Kinds the operator reads or writes, as data: group, version, plural and scope.

lightkube's generic resources give one dict-based code path for built-in kinds and CRDs alike; the
classes are created lazily and cached, once per kind.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from lightkube.core.resource_registry import resource_registry
from lightkube.generic_resource import create_global_resource, create_namespaced_resource

from kyma_istio.api import names


@dataclass(frozen=True)
class Kind:
    """One API kind."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def resource(self) -> Any:
        """The lightkube generic resource class for this kind."""
        return _resource(self)

    def __str__(self) -> str:
        return self.kind


@functools.cache
def _resource(kind: Kind) -> Any:
    # A kind lightkube already knows (a built-in model, or a generic one made elsewhere) is reused:
    # registering it again with another signature is an error.
    known = resource_registry.get(kind.api_version, kind.kind)
    if known is not None:
        return known
    create = create_namespaced_resource if kind.namespaced else create_global_resource
    return create(kind.group, kind.version, kind.kind, kind.plural)


ISTIO = Kind(names.GROUP, names.VERSION, names.KIND, names.PLURAL)
NODE = Kind("", "v1", "Node", "nodes", namespaced=False)
NAMESPACE = Kind("", "v1", "Namespace", "namespaces", namespaced=False)
POD = Kind("", "v1", "Pod", "pods")
EVENT = Kind("", "v1", "Event", "events")
DEPLOYMENT = Kind("apps", "v1", "Deployment", "deployments")
DAEMONSET = Kind("apps", "v1", "DaemonSet", "daemonsets")
STATEFULSET = Kind("apps", "v1", "StatefulSet", "statefulsets")
REPLICASET = Kind("apps", "v1", "ReplicaSet", "replicasets")
CRD = Kind("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False)
MUTATING_WEBHOOK = Kind(
    "admissionregistration.k8s.io",
    "v1",
    "MutatingWebhookConfiguration",
    "mutatingwebhookconfigurations",
    False,
)
LEASE = Kind("coordination.k8s.io", "v1", "Lease", "leases")

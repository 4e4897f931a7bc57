"""Kinds the operator reads or writes, as data: group, version, plural and scope.

One type for the idea of a kind: the module tables (``resources.desired.MANAGED_KINDS``,
``resources.dangling.CONTROLLED_KINDS``, ``resources.labelling.LABELLED_KINDS``,
``restart.owners.WORKLOAD_KINDS``) hold ``Kind`` values, or subclasses that add a rule to one.
``cluster.kinds.resource`` resolves a ``Kind`` to its lightkube resource; nothing is registered.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    def group_kind(self) -> tuple[str, str]:
        """Identity across API versions: an owner reference names this pair."""
        return (self.group, self.kind)

    def __str__(self) -> str:
        return self.kind


ISTIO = Kind(names.GROUP, names.VERSION, names.KIND, names.PLURAL)
NODE = Kind("", "v1", "Node", "nodes", namespaced=False)
NAMESPACE = Kind("", "v1", "Namespace", "namespaces", namespaced=False)
POD = Kind("", "v1", "Pod", "pods")
EVENT = Kind("", "v1", "Event", "events")
CONFIGMAP = Kind("", "v1", "ConfigMap", "configmaps")
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

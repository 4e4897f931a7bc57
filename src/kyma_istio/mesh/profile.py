"""What the Nodes say about the cluster: its size profile, its flavour and its cloud provider.

Three decisions of the install pass depend on the Nodes alone (spec 5.3, 5.6): which default template
to start from (a small cluster gets the evaluation profile), which distribution-specific CNI paths to
force (GKE, k3d), and whether the ingress gateway runs behind an AWS load balancer. The cluster shell
lists the Nodes; :func:`node_facts` reduces each to the few fields these decisions read, so the
decisions are pure functions of plain values that tests can state directly.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from kyma_istio.k8s import quantity

EVALUATION_MAX_CPU_MILLIS: Final = 5_000
"""A cluster with less CPU than 5 cores in total gets the evaluation profile."""
EVALUATION_MAX_MEMORY_BYTES: Final = 10_000_000_000
"""A cluster with less memory than this gets the evaluation profile: decimal 10 G, not 10 Gi."""


@dataclass(frozen=True)
class NodeFacts:
    """The fields of one Node that the profile, flavour and provider decisions read."""

    cpu_millis: int
    memory_bytes: int
    kube_proxy_version: str = ""
    os_image: str = ""
    provider_id: str = ""
    kubelet_version: str = ""


def node_facts(node: Mapping[str, Any]) -> NodeFacts:
    """Reduce a Node object (as a dict) to :class:`NodeFacts`.

    Missing capacity counts as zero, so a Node that has not reported yet makes the cluster look smaller,
    never bigger. A malformed quantity raises ``ValueError``: guessing would pick the wrong profile.
    """
    status = node.get("status") or {}
    capacity = status.get("capacity") or {}
    info = status.get("nodeInfo") or {}
    spec = node.get("spec") or {}
    return NodeFacts(
        cpu_millis=quantity.to_millis(str(capacity.get("cpu", "0"))),
        memory_bytes=quantity.to_units(str(capacity.get("memory", "0"))),
        kube_proxy_version=str(info.get("kubeProxyVersion") or ""),
        os_image=str(info.get("osImage") or ""),
        provider_id=str(spec.get("providerID") or ""),
        kubelet_version=str(info.get("kubeletVersion") or ""),
    )


# --- size profile --------------------------------------------------------------------------------


class Profile(enum.StrEnum):
    """Which default template the merge starts from."""

    PRODUCTION = "production"
    EVALUATION = "evaluation"


def choose_profile(nodes: Sequence[NodeFacts]) -> Profile:
    """Evaluation when the whole cluster has under 5 cores or under 10 G of memory, else production.

    Both thresholds are strict, so exactly 5 cores and exactly 10,000,000,000 bytes are production. No
    Nodes at all is the smallest possible cluster, hence evaluation.
    """
    cpu = sum(node.cpu_millis for node in nodes)
    memory = sum(node.memory_bytes for node in nodes)
    if cpu < EVALUATION_MAX_CPU_MILLIS or memory < EVALUATION_MAX_MEMORY_BYTES:
        return Profile.EVALUATION
    return Profile.PRODUCTION


# --- flavour -------------------------------------------------------------------------------------


class Flavour(enum.StrEnum):
    """The Kubernetes distribution, as far as it changes the IstioOperator (spec 5.6)."""

    GKE = "gke"
    K3D = "k3d"
    GARDENER = "gardener"
    UNKNOWN = "unknown"


# ``fullmatch`` anchors both ends; ``$`` alone would also accept a trailing newline. The Gardener
# pattern escapes the dot that the reference left bare, since it means the version separator.
_GKE: Final = re.compile(r"v\d+\.\d+\.\d+-gke\.\d+", re.ASCII)
_K3S: Final = re.compile(r"v\d+\.\d+\.\d+\+k3s\d+", re.ASCII)
_GARDEN_LINUX: Final = re.compile(r"Garden Linux \d+\.\d+", re.ASCII)


def _node_flavour(node: NodeFacts) -> Flavour:
    """One Node's flavour, checked in the reference order GKE, k3d, Gardener.

    Newer Kubernetes leaves ``kubeProxyVersion`` empty (reference quirk 12), so the kubelet version,
    which carries the same distribution suffix, is read as well.
    """
    versions = (node.kube_proxy_version, node.kubelet_version)
    if any(_GKE.fullmatch(version) for version in versions):
        return Flavour.GKE
    if any(_K3S.fullmatch(version) for version in versions):
        return Flavour.K3D
    if _GARDEN_LINUX.fullmatch(node.os_image):
        return Flavour.GARDENER
    return Flavour.UNKNOWN


def detect_flavour(nodes: Sequence[NodeFacts]) -> Flavour:
    """The flavour of the first Node, in list order, that has a recognisable one."""
    for node in nodes:
        flavour = _node_flavour(node)
        if flavour is not Flavour.UNKNOWN:
            return flavour
    return Flavour.UNKNOWN


def flavour_overrides(flavour: Flavour) -> dict[str, Any]:
    """The IstioOperator fragment that a flavour forces over the merged result (override wins).

    GKE and k3s keep the CNI binaries and config outside the usual paths; GKE also restricts the
    system-node-critical priority class to namespaces with a ResourceQuota for it.
    """
    cni: dict[str, Any]
    if flavour is Flavour.K3D:
        cni = {"cniBinDir": "/bin", "cniConfDir": "/var/lib/rancher/k3s/agent/etc/cni/net.d"}
    elif flavour is Flavour.GKE:
        cni = {"cniBinDir": "/home/kubernetes/bin", "resourceQuotas": {"enabled": True}}
    else:
        return {}
    return {"spec": {"values": {"cni": cni}}}


# --- cloud provider ------------------------------------------------------------------------------


class CloudProvider(enum.StrEnum):
    """The infrastructure under the cluster, as far as managed resources care (spec 7)."""

    AWS = "aws"
    OTHER = "other"


def detect_provider(nodes: Sequence[NodeFacts]) -> CloudProvider:
    """AWS when the first Node's ``spec.providerID`` starts with ``aws://``; otherwise (or no Nodes) other."""
    if nodes and nodes[0].provider_id.startswith("aws://"):
        return CloudProvider.AWS
    return CloudProvider.OTHER

"""Fake nodes that kwok plays the kubelet for.

They are ordinary ``v1.Node`` objects (the API server keeps ``status`` on create, which is how a kubelet
registers) with the capacity the caller chose, so rules that look at the cluster's size, such as the
choice between Istio's evaluation and production profiles, see a cluster of that size. They carry no
``kwok.x-k8s.io/node`` taint: Istio's Deployments tolerate nothing special and must schedule here.
"""

from dataclasses import dataclass
from typing import Final

from lightkube import Client
from lightkube.models.core_v1 import NodeSpec, NodeStatus
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Node

FAKE_NODE_ANNOTATION = "kwok.x-k8s.io/node"
"""kwok manages the nodes whose annotation has the value ``fake``."""

FAKE_NODE_LABELS: Final = {"type": "kwok"}
"""The label selector that finds our fake nodes."""


@dataclass(frozen=True)
class NodePool:
    """How many fake nodes, and how big each is."""

    count: int = 3
    cpu: str = "4"
    memory: str = "16Gi"
    pods: str = "110"
    name_prefix: str = "kwok-node"

    def names(self) -> list[str]:
        """Node names, numbered from 0."""
        return [f"{self.name_prefix}-{index}" for index in range(self.count)]


def fake_node(name: str, pool: NodePool) -> Node:
    """One fake node object of the pool's size, labelled like a Linux node."""
    resources = {"cpu": pool.cpu, "memory": pool.memory, "pods": pool.pods}
    return Node(
        metadata=ObjectMeta(
            name=name,
            labels={
                **FAKE_NODE_LABELS,
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node-role.kubernetes.io/agent": "",
            },
            annotations={FAKE_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
        ),
        spec=NodeSpec(),
        status=NodeStatus(allocatable=dict(resources), capacity=dict(resources)),
    )


def create_nodes(client: Client, pool: NodePool) -> None:
    """Register the pool's nodes; kwok then marks them Ready and keeps their leases fresh."""
    for name in pool.names():
        client.create(fake_node(name, pool))


def ready_node_names(client: Client) -> set[str]:
    """Names of fake nodes whose Ready condition is True."""
    ready = set()
    for node in client.list(Node, labels={**FAKE_NODE_LABELS}):
        conditions = (node.status.conditions if node.status else None) or []
        if any(c.type == "Ready" and c.status == "True" for c in conditions) and node.metadata:
            ready.add(str(node.metadata.name))
    return ready

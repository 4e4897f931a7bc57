"""Cluster shapes through the real reconciler, the real istioctl and the real API server: a k3d or a GKE
node moves the CNI DaemonSet's host paths, an AWS first node brings the proxy-protocol EnvoyFilter (pruned
once the provider changes), and a cluster under 5 CPUs gets the evaluation profile.

The shapes are made on the session cluster with kwok: an extra fake node carrying the chosen
``providerID`` and ``nodeInfo`` (kwok keeps what a node registers with), or the session nodes' reported
capacity lowered and restored. Node listing is in name order, so the AWS node is named to come first.
One CR is shared by the module; each test makes its shape, runs a pass and reads what istioctl applied.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from istio_fixtures import (
    NS,
    crd_and_namespace,
    create_cr,
    drop_all_crs,
    make_deps,
    wait_istio_system_settled,
)
from lightkube import Client
from lightkube.models.core_v1 import NodeSystemInfo
from lightkube.resources.core_v1 import Node
from lightkube.types import PatchType

from kyma_istio.api import names
from kyma_istio.devenv.nodes import FAKE_NODE_LABELS, NodePool, fake_node, ready_node_names
from kyma_istio.k8s import kinds
from kyma_istio.reconcile import pipeline
from kyma_istio.reconcile.context import Deps

pytestmark = pytest.mark.integration

__all__ = ["crd_and_namespace"]  # fixtures used by name

ENVOY_FILTER = kinds.Kind("networking.istio.io", "v1alpha3", "EnvoyFilter", "envoyfilters")
HPA = kinds.Kind("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers")
RESOURCE_QUOTA = kinds.Kind("", "v1", "ResourceQuota", "resourcequotas")
SESSION_NODE_CPU = "4"


@pytest.fixture(scope="module")
async def shared(kubeconfig: Path, client: Client, crd_and_namespace: None) -> AsyncIterator[Deps]:
    """One reconciler and one Istio CR for the module; the CR is dropped afterwards."""
    wait_istio_system_settled(client)  # an earlier module may have just deleted it
    deps = make_deps(kubeconfig)
    await drop_all_crs(deps.kube)
    await create_cr(deps.kube, "default", {})
    yield deps
    await drop_all_crs(deps.kube)
    await deps.kube.close()


async def _pass_to_ready(deps: Deps) -> None:
    result = await pipeline.reconcile(NS, "default", deps)
    assert result.state is not None and result.state.value == "Ready", result.description


@contextmanager
def extra_node(
    client: Client,
    wait_for: Callable[..., Any],
    name: str,
    *,
    provider_id: str | None = None,
    kube_proxy_version: str = "",
    kubelet_version: str = "",
    os_image: str = "",
) -> Iterator[None]:
    """A kwok node with the given identity while the block runs; deleted (and gone) afterwards."""
    node = fake_node(name, NodePool(cpu="2", memory="8Gi"))
    assert node.spec is not None and node.status is not None
    node.spec.providerID = provider_id
    node.status.nodeInfo = NodeSystemInfo(
        architecture="amd64",
        bootID="",
        containerRuntimeVersion="kwok",
        kernelVersion="kwok",
        kubeProxyVersion=kube_proxy_version,
        kubeletVersion=kubelet_version,
        machineID="",
        operatingSystem="linux",
        osImage=os_image,
        systemUUID="",
    )
    client.create(node)
    try:
        wait_for(f"node {name} Ready", lambda: name in ready_node_names(client), timeout=120)
        yield
    finally:
        client.delete(Node, name)
        wait_for(
            f"node {name} gone",
            lambda: name not in {n.metadata.name for n in client.list(Node) if n.metadata},
            timeout=120,
        )


async def _cni_host_paths(deps: Deps) -> set[str]:
    """The host paths the installed CNI DaemonSet mounts."""
    cni = await deps.kube.get(kinds.DAEMONSET, "istio-cni-node", names.ISTIO_NAMESPACE)
    assert cni is not None
    volumes = cni["spec"]["template"]["spec"].get("volumes") or []
    return {v["hostPath"]["path"] for v in volumes if "hostPath" in v}


async def test_a_k3d_node_moves_the_cni_paths_of_the_installed_daemonset(
    shared: Deps, client: Client, wait_for: Callable[..., Any]
) -> None:
    with extra_node(client, wait_for, "shape-k3d", kube_proxy_version="v1.31.4+k3s1"):
        await _pass_to_ready(shared)

        paths = await _cni_host_paths(shared)
        assert "/bin" in paths, paths
        assert "/var/lib/rancher/k3s/agent/etc/cni/net.d" in paths, paths


async def test_a_gke_node_moves_the_cni_binaries_and_enables_cni_resource_quotas(
    shared: Deps, client: Client, wait_for: Callable[..., Any]
) -> None:
    with extra_node(client, wait_for, "shape-gke", kubelet_version="v1.30.5-gke.1014001"):
        await _pass_to_ready(shared)

        paths = await _cni_host_paths(shared)
        assert "/home/kubernetes/bin" in paths, paths
        assert "/var/lib/rancher/k3s/agent/etc/cni/net.d" not in paths, paths
        quotas = await shared.kube.list_all(RESOURCE_QUOTA, namespace=names.ISTIO_NAMESPACE)
        assert quotas, "GKE's resourceQuotas.enabled makes istioctl create a ResourceQuota for the CNI"

    await _pass_to_ready(shared)
    assert "/home/kubernetes/bin" not in await _cni_host_paths(shared)


async def test_an_aws_first_node_brings_the_proxy_protocol_filter_which_is_pruned_when_it_goes(
    shared: Deps, client: Client, wait_for: Callable[..., Any]
) -> None:
    assert next(n.metadata.name for n in client.list(Node) if n.metadata) != "a-shape-aws"
    with extra_node(client, wait_for, "a-shape-aws", provider_id="aws:///eu-central-1a/i-0123456789abcdef0"):
        assert next(n.metadata.name for n in client.list(Node) if n.metadata) == "a-shape-aws"
        await _pass_to_ready(shared)

        envoy_filter = await shared.kube.get(ENVOY_FILTER, "proxy-protocol", names.ISTIO_NAMESPACE)
        assert envoy_filter is not None
        assert envoy_filter["spec"]["workloadSelector"]["labels"] == {"istio": "ingressgateway"}
        (patch,) = envoy_filter["spec"]["configPatches"]
        assert patch["applyTo"] == "LISTENER_FILTER"
        assert patch["patch"]["operation"] == "INSERT_FIRST"
        assert patch["patch"]["value"]["name"] == "proxy_protocol"
        assert envoy_filter["metadata"]["labels"][names.MODULE_LABEL] == names.MODULE_LABEL_VALUE

    await _pass_to_ready(shared)

    assert await shared.kube.get(ENVOY_FILTER, "proxy-protocol", names.ISTIO_NAMESPACE) is None


@contextmanager
def session_nodes_with_cpu(client: Client, cpu: str) -> Iterator[None]:
    """The session's nodes report ``cpu`` cores of capacity while the block runs (allocatable, which the
    scheduler reads, is left alone); restored afterwards."""
    session_nodes = [n.metadata.name for n in client.list(Node, labels={**FAKE_NODE_LABELS}) if n.metadata]

    def set_cpu(value: str) -> None:
        for name in session_nodes:
            client.patch(
                Node.Status,
                name,
                {"status": {"capacity": {"cpu": value}}},
                patch_type=PatchType.MERGE,
            )

    set_cpu(cpu)
    try:
        yield
    finally:
        set_cpu(SESSION_NODE_CPU)


async def _pilot_shape(deps: Deps) -> tuple[dict[str, str], int]:
    istiod = await deps.kube.get(kinds.DEPLOYMENT, "istiod", names.ISTIO_NAMESPACE)
    assert istiod is not None
    (container,) = [c for c in istiod["spec"]["template"]["spec"]["containers"] if c["name"] == "discovery"]
    hpa = await deps.kube.get(HPA, "istiod", names.ISTIO_NAMESPACE)
    assert hpa is not None
    return container["resources"]["requests"], int(hpa["spec"]["maxReplicas"])


async def test_a_cluster_under_five_cpus_gets_the_evaluation_profile_and_back(
    shared: Deps, client: Client
) -> None:
    nodes = [n for n in client.list(Node) if n.metadata]
    assert len(nodes) * int(SESSION_NODE_CPU) >= 5, "the session cluster must start production-sized"
    with session_nodes_with_cpu(client, "1"):
        await _pass_to_ready(shared)

        requests, max_replicas = await _pilot_shape(shared)
        assert requests == {"cpu": "50m", "memory": "128Mi"}
        assert max_replicas == 1

    await _pass_to_ready(shared)

    requests, max_replicas = await _pilot_shape(shared)
    assert requests == {"cpu": "100m", "memory": "512Mi"}
    assert max_replicas == 5

"""The local control plane behaves like a small real cluster: nodes of the requested size, Deployments
that become Available on kwok's fake kubelets, and rollouts that replace Pods."""

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Node, Pod
from workloads import pause_deployment

from kyma_istio.devenv.cluster import LocalCluster

pytestmark = pytest.mark.integration

Wait = Callable[..., Any]


def _available(client: Client, name: str, namespace: str, replicas: int) -> Deployment | None:
    """The Deployment once its rollout is complete: every replica updated, available, and no extras."""
    deployment = client.get(Deployment, name, namespace=namespace)
    status = deployment.status
    if deployment.metadata is None or status is None:
        return None
    conditions = {c.type: c.status for c in status.conditions or []}
    done = (
        status.observedGeneration == deployment.metadata.generation
        and status.updatedReplicas == replicas
        and status.availableReplicas == replicas
        and status.replicas == replicas
        and conditions.get("Available") == "True"
    )
    return deployment if done else None


def _running_pods(client: Client, name: str, namespace: str) -> dict[str, Pod]:
    pods = client.list(Pod, namespace=namespace, labels={"app": name})
    return {
        str(pod.metadata.name): pod
        for pod in pods
        if pod.metadata
        and pod.status
        and pod.status.phase == "Running"
        and not pod.metadata.deletionTimestamp
    }


def test_fake_nodes_have_the_requested_size_and_are_ready(client: Client, cluster: LocalCluster) -> None:
    nodes = list(client.list(Node, labels={"type": "kwok"}))

    assert sorted(str(n.metadata.name) for n in nodes if n.metadata) == cluster.node_pool.names()
    for node in nodes:
        assert node.status is not None
        assert node.status.allocatable == {"cpu": "4", "memory": "16Gi", "pods": "110"}
        assert {c.type: c.status for c in node.status.conditions or []}["Ready"] == "True"


def test_a_deployment_becomes_available_with_running_pods_on_fake_nodes(
    client: Client, namespace: str, wait_for: Wait
) -> None:
    client.create(pause_deployment("web", namespace, replicas=3))

    wait_for("Deployment web Available with 3 replicas", lambda: _available(client, "web", namespace, 3))
    pods = wait_for("3 Running pods", lambda: len(_running_pods(client, "web", namespace)) == 3 or None)

    assert pods is True
    for pod in _running_pods(client, "web", namespace).values():
        assert pod.spec is not None
        assert pod.spec.nodeName in {"kwok-node-0", "kwok-node-1", "kwok-node-2"}
        assert pod.status is not None
        assert pod.status.podIP


def test_a_rollout_restart_replaces_every_pod(client: Client, namespace: str, wait_for: Wait) -> None:
    client.create(pause_deployment("web", namespace, replicas=3))
    wait_for("first rollout", lambda: _available(client, "web", namespace, 3))
    before = set(wait_for("3 Running pods", lambda: _running_pods(client, "web", namespace).keys() or None))

    restarted_at = datetime.datetime.now(datetime.UTC).isoformat()
    client.patch(
        Deployment,
        "web",
        {
            "spec": {
                "template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": restarted_at}}}
            }
        },
        namespace=namespace,
    )

    wait_for("restart rollout", lambda: _available(client, "web", namespace, 3), timeout=90)
    after = wait_for(
        "only new pods left",
        lambda: (
            (pods := _running_pods(client, "web", namespace)).keys().isdisjoint(before)
            and len(pods) == 3
            and pods
        ),
        timeout=90,
    )
    for pod in after.values():
        assert pod.metadata.annotations["kubectl.kubernetes.io/restartedAt"] == restarted_at

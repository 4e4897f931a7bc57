"""Which sidecars a real pass restarts, beyond an outdated image: a proxy-resource change in the CR, a
flip of ``compatibilityMode``, and the exemptions (a pinned proxy image, per-pod resource annotations,
pending and unready pods, a workload or a namespace that opted out), through the real reconciler,
istioctl and API server.

The workloads' templates carry the ``istio-proxy`` container and ``sidecar.istio.io/status`` themselves
(what the injector would have added), so their pods stay as written. A restart is a template patch, seen
as a new ``metadata.generation`` of the Deployment. One install and one CR serve the module; the tests
run in order, each changing the CR once.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
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
from lightkube import Client, codecs
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace, Pod
from lightkube.types import PatchType

from kyma_istio import pins
from kyma_istio.api import names
from kyma_istio.k8s import kinds
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.reconcile import pipeline
from kyma_istio.reconcile.context import Deps

pytestmark = pytest.mark.integration

__all__ = ["crd_and_namespace"]  # fixtures used by name

CURRENT_PROXY = f"{pins.DEFAULT_HUB}/proxyv2:{DEFAULT_LINE.tag}"
OLD_PROXY = f"{pins.DEFAULT_HUB}/proxyv2:1.22.3-distroless"
# The production profile's sidecar resources (spec 5.3), what a pod injected by this Istio runs.
CURRENT_RESOURCES = {
    "requests": {"cpu": "10m", "memory": "192Mi"},
    "limits": {"cpu": "1000m", "memory": "1024Mi"},
}
TEST_LABEL = "kyma-istio.test/integration"
WaitFor = Callable[..., Any]


def _deployment(
    namespace: str,
    name: str,
    *,
    image: str = CURRENT_PROXY,
    resources: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
    node_selector: dict[str, str] | None = None,
) -> dict[str, Any]:
    pod_spec: dict[str, Any] = {
        "terminationGracePeriodSeconds": 0,
        "containers": [
            {"name": "app", "image": "registry.example/app:1"},
            {"name": names.PROXY_CONTAINER, "image": image, "resources": resources or CURRENT_RESOURCES},
        ],
    }
    if node_selector:
        pod_spec["nodeSelector"] = node_selector
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {
                    "labels": {"app": name},
                    "annotations": {names.SIDECAR_STATUS_ANNOTATION: "{}", **(annotations or {})},
                },
                "spec": pod_spec,
            },
        },
    }


def _workloads(apps: str, opted_out_ns: str) -> list[dict[str, Any]]:
    tuned_resources = {**CURRENT_RESOURCES, "requests": {"cpu": "10m", "memory": "192Mi"}}
    return [
        _deployment(apps, "current"),
        _deployment(apps, "stale", image=OLD_PROXY),
        _deployment(apps, "custom", image=OLD_PROXY, annotations={names.PROXY_IMAGE_ANNOTATION: OLD_PROXY}),
        _deployment(
            apps, "tuned", resources=tuned_resources, annotations={"sidecar.istio.io/proxyCPU": "10m"}
        ),
        _deployment(
            apps, "optout", image=OLD_PROXY, annotations={names.RESTART_OPT_OUT_ANNOTATION: "disabled"}
        ),
        _deployment(apps, "pending", image=OLD_PROXY, node_selector={"kyma-istio.test/no-such-node": "x"}),
        _deployment(apps, "unready", image=OLD_PROXY),
        _deployment(opted_out_ns, "elsewhere", image=OLD_PROXY),
    ]


@pytest.fixture(scope="module")
def workloads(client: Client) -> Iterator[tuple[str, str]]:
    """Two namespaces (the second opted out of restarts) with one Deployment per case; deleted after."""
    apps, opted_out = f"apps-{secrets.token_hex(3)}", f"optout-{secrets.token_hex(3)}"
    client.create(Namespace(metadata=ObjectMeta(name=apps, labels={TEST_LABEL: "true"})))
    client.create(
        Namespace(
            metadata=ObjectMeta(
                name=opted_out,
                labels={TEST_LABEL: "true"},
                annotations={names.RESTART_OPT_OUT_ANNOTATION: "disabled"},
            )
        )
    )
    for workload in _workloads(apps, opted_out):
        client.create(codecs.from_dict(workload))
    yield apps, opted_out
    client.delete(Namespace, apps)
    client.delete(Namespace, opted_out)


def _pods(client: Client, namespace: str, app: str) -> list[Pod]:
    return [p for p in client.list(Pod, namespace=namespace, labels={"app": app}) if p.metadata]


@pytest.fixture(scope="module")
async def shared(
    kubeconfig: Path, client: Client, crd_and_namespace: None, workloads: tuple[str, str]
) -> AsyncIterator[Deps]:
    """Istio installed for the CR ``default`` once every workload pod is in the state its case needs."""
    wait_istio_system_settled(client)  # an earlier module may have just deleted it
    apps, opted_out = workloads
    deps = make_deps(kubeconfig)
    await drop_all_crs(deps.kube)
    running = ("current", "stale", "custom", "tuned", "optout", "unready")

    def settled() -> bool:
        def phase(ns: str, app: str) -> set[str]:
            return {p.status.phase for p in _pods(client, ns, app) if p.status and p.status.phase}

        return (
            all(phase(apps, app) == {"Running"} for app in running)
            and phase(opted_out, "elsewhere") == {"Running"}
            and phase(apps, "pending") == {"Pending"}
        )

    await _wait(settled, "workload pods running (and one pending)")
    # The kubelet (kwok) reported the pod ready once; a failing readiness probe would now say otherwise.
    (unready,) = _pods(client, apps, "unready")
    assert unready.metadata is not None
    client.patch(
        Pod.Status,
        unready.metadata.name,
        {
            "status": {
                "conditions": [
                    {"type": "Ready", "status": "False"},
                    {"type": "ContainersReady", "status": "False"},
                ]
            }
        },
        namespace=apps,
        patch_type=PatchType.STRATEGIC,
    )
    await create_cr(deps.kube, "default", {})
    yield deps
    await drop_all_crs(deps.kube)
    await deps.kube.close()


async def _wait(check: Callable[[], bool], what: str, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


def _generations(client: Client, workloads: tuple[str, str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for namespace in workloads:
        for deployment in client.list(Deployment, namespace=namespace):
            assert deployment.metadata is not None and deployment.metadata.name is not None
            found[deployment.metadata.name] = int(deployment.metadata.generation or 0)
    return found


async def _restarted_by_a_pass(deps: Deps, client: Client, workloads: tuple[str, str]) -> set[str]:
    before = _generations(client, workloads)
    result = await pipeline.reconcile(NS, "default", deps)
    assert result.state is not None and result.state.value == "Ready", result.description
    after = _generations(client, workloads)
    return {name for name, generation in after.items() if generation != before[name]}


NEVER = {"optout", "elsewhere", "pending", "unready"}


async def test_an_outdated_image_is_restarted_and_every_exemption_is_left_alone(
    shared: Deps, client: Client, workloads: tuple[str, str]
) -> None:
    restarted = await _restarted_by_a_pass(shared, client, workloads)

    assert restarted == {"stale"}


async def test_a_proxy_resource_change_restarts_pods_on_the_old_resources_but_not_annotated_or_pinned_ones(
    shared: Deps, client: Client, workloads: tuple[str, str]
) -> None:
    proxy = {"proxy": {"k8s": {"resources": {"requests": {"cpu": "20m"}}}}}
    await shared.kube.patch(kinds.ISTIO, "default", {"spec": {"components": proxy}}, namespace=NS)

    restarted = await _restarted_by_a_pass(shared, client, workloads)

    assert "current" in restarted
    assert "tuned" not in restarted, "its proxyCPU annotation decides its CPU request, not the CR"
    assert "custom" not in restarted, "a pinned proxy image is exempt from image and resource rules"
    assert not restarted & NEVER


async def test_a_compatibility_mode_flip_restarts_every_injected_pod_but_the_opted_out_and_unhealthy(
    shared: Deps, client: Client, workloads: tuple[str, str]
) -> None:
    await shared.kube.patch(kinds.ISTIO, "default", {"spec": {"compatibilityMode": True}}, namespace=NS)

    restarted = await _restarted_by_a_pass(shared, client, workloads)

    assert {"tuned", "custom"} <= restarted
    assert not restarted & NEVER

"""A namespace that gains injection: its workloads roll once so their pods get a sidecar; pods that opt
out, bare pods and Jobs' pods are left alone, and the controller reacts to the label change at once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from reconcile_world import World

from kyma_istio.api import names
from kyma_istio.k8s import kinds
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.restart.podview import reduce_pod
from kyma_istio.restart.predicates import Expectation, OutdatedReason
from kyma_istio.restart.predicates.expectation import ProxyResources
from kyma_istio.restart.selection import restart_selection

OWNED = [{"kind": "ReplicaSet", "name": "web-rs", "apiVersion": "apps/v1", "uid": "u1", "controller": True}]


def _pod(name: str = "web-1", namespace: str = "shop", **extra: Any) -> dict[str, Any]:
    pod: dict[str, Any] = {
        "metadata": {"name": name, "namespace": namespace, "ownerReferences": OWNED},
        "spec": {"containers": [{"name": "app", "image": "app"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }
    for key, value in extra.items():
        section, _, field = key.partition("__")
        pod[section][field] = value
    return pod


def _selection() -> Any:
    expectation = Expectation(
        image=f"docker.io/istio/proxyv2:{DEFAULT_LINE.tag}",
        resources=ProxyResources("10m", "32Mi", "1000m", "1024Mi"),
    )
    return restart_selection(expectation).with_injection(frozenset({"shop"}))


@pytest.mark.parametrize(
    ("pod", "reason"),
    [
        (_pod(), OutdatedReason.SIDECAR_MISSING),
        (_pod(namespace="elsewhere"), None),
        (_pod(metadata__labels={"sidecar.istio.io/inject": "false"}), None),
        (_pod(metadata__annotations={"sidecar.istio.io/inject": "False"}), None),
        (_pod(spec__hostNetwork=True), None),
        (_pod(metadata__ownerReferences=[]), None),
        (_pod(status__phase="Pending"), None),
        (_pod(metadata__deletionTimestamp="2026-01-01T00:00:00Z"), None),
        (_pod(status__conditions=[{"type": "Ready", "status": "False"}]), None),
    ],
    ids=[
        "missing",
        "other-namespace",
        "label-opt-out",
        "annotation-opt-out",
        "host-network",
        "bare",
        "pending",
        "terminating",
        "not-ready",
    ],
)
def test_a_running_owned_pod_without_a_sidecar_in_an_injection_namespace_is_selected(
    pod: dict[str, Any], reason: OutdatedReason | None
) -> None:
    assert _selection().reason(reduce_pod(pod)) is reason


def _world_with_injection() -> World:
    world = World()
    world.kube.put(kinds.NAMESPACE, {"metadata": {"name": "app", "labels": {"istio-injection": "enabled"}}})
    last = json.dumps({"config": {}, "IstioTag": DEFAULT_LINE.tag})
    world.cr(annotations={names.LAST_APPLIED_ANNOTATION: last})
    return world


async def test_a_workload_without_sidecars_in_an_injection_namespace_rolls_once() -> None:
    world = _world_with_injection()
    world.outdated_workload("web")
    stored = world.kube.objects[(kinds.POD.plural, "app", "web-pod")]
    stored["metadata"]["annotations"] = {}
    stored["spec"]["containers"] = [{"name": "app", "image": "app"}]

    first = await world.reconcile()
    second = await world.reconcile()

    assert first.state is not None and first.state.value == "Ready", first.description
    assert second.state is not None and second.state.value == "Ready"
    patched = [name for plural, name, _ in world.kube.patches if plural == "deployments" and name == "web"]
    assert patched == ["web"]  # the second pass finds the owner stamped: its rollout is under way


async def test_a_jobs_pod_without_a_sidecar_is_no_warning() -> None:
    world = _world_with_injection()
    job = [{"kind": "Job", "name": "nightly", "apiVersion": "batch/v1", "uid": "j1", "controller": True}]
    world.kube.put(kinds.POD, _pod("nightly-x", "app", metadata__ownerReferences=job))

    result = await world.reconcile()

    assert result.state is not None and result.state.value == "Ready", result.description


def _sidecar_pod(name: str, namespace: str, **labels: str) -> dict[str, Any]:
    owner = [
        {
            "kind": "ReplicaSet",
            "name": f"{name}-5d8f9",
            "apiVersion": "apps/v1",
            "uid": f"u-{name}",
            "controller": True,
        }
    ]
    return {
        "metadata": {
            "name": f"{name}-5d8f9-abcde",
            "namespace": namespace,
            "ownerReferences": owner,
            "labels": {"pod-template-hash": "5d8f9", **labels},
            # Opted out of restarts, so the (fake) proxy resources that differ from the expected ones
            # restart nothing here: this test is about the report alone.
            "annotations": {
                names.SIDECAR_STATUS_ANNOTATION: "{}",
                names.RESTART_OPT_OUT_ANNOTATION: "disabled",
            },
        },
        "spec": {
            "containers": [
                {"name": "app", "image": "app"},
                {"name": "istio-proxy", "image": f"docker.io/istio/proxyv2:{DEFAULT_LINE.tag}"},
            ]
        },
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }


async def test_workloads_keeping_a_sidecar_where_injection_is_off_are_named_in_the_cr_not_restarted() -> None:
    world = _world_with_injection()  # "app" injects
    world.kube.put(kinds.NAMESPACE, {"metadata": {"name": "legacy"}})
    world.kube.put(
        kinds.NAMESPACE, {"metadata": {"name": "going", "deletionTimestamp": "2026-01-01T00:00:00Z"}}
    )
    world.kube.put(kinds.POD, _sidecar_pod("web", "legacy"))
    world.kube.put(kinds.POD, _sidecar_pod("asks", "legacy", **{"sidecar.istio.io/inject": "true"}))
    world.kube.put(kinds.POD, _sidecar_pod("meshed", "app"))
    world.kube.put(kinds.POD, _sidecar_pod("leaving", "going"))

    result = await world.reconcile()

    assert result.state is not None and result.state.value == "Ready", result.description
    found = world.condition("SidecarsWithoutInjection")
    assert (found["status"], found["reason"]) == ("True", "SidecarsWithoutInjectionFound")
    assert (
        "1 workload in namespaces without injection still carries a sidecar (Deployment legacy/web)"
        in found["message"]
    )
    assert [name for plural, name, _ in world.kube.patches if plural in ("deployments", "replicasets")] == []

    world.kube.objects.pop((kinds.POD.plural, "legacy", "web-5d8f9-abcde"))
    await world.reconcile()
    gone = world.condition("SidecarsWithoutInjection")
    assert (gone["status"], gone["reason"]) == ("False", "SidecarsWithoutInjectionNotFound")


async def test_a_cr_that_never_had_such_workloads_shows_no_such_condition() -> None:
    world = _world_with_injection()
    await world.reconcile()
    assert "SidecarsWithoutInjection" not in {c["type"] for c in world.stored()["status"]["conditions"]}

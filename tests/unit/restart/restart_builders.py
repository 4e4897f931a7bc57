"""Builders for pods (raw and reduced) and expectations used by the restart tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kyma_istio.restart.outcomes import Outcome, RestartPlan
from kyma_istio.restart.owners import WorkloadKey
from kyma_istio.restart.plan import plan_restarts, target_hash
from kyma_istio.restart.podview import OwnerRef, PodView, ProxyView
from kyma_istio.restart.predicates import Expectation, ProxyResources

IMAGE = "docker.io/istio/proxyv2:1.23.2-distroless"
OLD_IMAGE = "docker.io/istio/proxyv2:1.22.3-distroless"
RESOURCES = ProxyResources(cpu_request="10m", memory_request="32Mi", cpu_limit="1", memory_limit="1Gi")
EXPECTATION = Expectation(image=IMAGE, resources=RESOURCES)

APPS = "apps/v1"
TARGET = target_hash(EXPECTATION)


def proxy(image: str = IMAGE, *, native: bool = False, **resources: str | None) -> ProxyView:
    """A proxy with the expected resources unless overridden."""
    values: dict[str, str | None] = {
        "cpu_request": RESOURCES.cpu_request,
        "memory_request": RESOURCES.memory_request,
        "cpu_limit": RESOURCES.cpu_limit,
        "memory_limit": RESOURCES.memory_limit,
    }
    values.update(resources)
    return ProxyView(image=image, native=native, **values)


def owner(kind: str, name: str, api_version: str = APPS) -> OwnerRef:
    return OwnerRef(kind=kind, name=name, api_version=api_version, uid=f"uid-{kind}-{name}")


def current_pod(name: str = "web-1", namespace: str = "shop", **changes: Any) -> PodView:
    """A healthy injected pod of ReplicaSet ``web-rs`` with a current sidecar."""
    pod = PodView(
        namespace=namespace,
        name=name,
        proxies=(proxy(),),
        container_count=2,
        owner=owner("ReplicaSet", "web-rs"),
    )
    return replace(pod, **changes)


def outdated_pod(name: str = "web-1", namespace: str = "shop", **changes: Any) -> PodView:
    """Like :func:`current_pod` but running the previous proxy image."""
    changes.setdefault("proxies", (proxy(OLD_IMAGE),))
    return current_pod(name, namespace, **changes)


NS = "shop"
WEB = WorkloadKey("Deployment", NS, "web")
WEB_OWNERS = {(NS, "web-rs"): owner("Deployment", "web"), (NS, "web-old"): owner("Deployment", "web")}


def plan(pods: list[PodView], **facts: Any) -> RestartPlan:
    """``plan_restarts`` against :data:`EXPECTATION`, with the ``web`` Deployment's ReplicaSets known."""
    facts.setdefault("replicaset_owners", WEB_OWNERS)
    return plan_restarts(pods, expectation=EXPECTATION, **facts)


def outcomes(result: RestartPlan) -> dict[tuple[Outcome, WorkloadKey], int]:
    """Pods per (outcome, owner), summed over rules."""
    found: dict[tuple[Outcome, WorkloadKey], int] = {}
    for outcome in result.outcomes:
        key = (outcome.outcome, outcome.workload)
        found[key] = found.get(key, 0) + outcome.pods
    return found


def deployment_pods(name: str, count: int, namespace: str = NS) -> list[PodView]:
    """``count`` outdated pods of ReplicaSet ``<name>-rs``."""
    return [
        outdated_pod(f"{name}-{i}", namespace, owner=owner("ReplicaSet", f"{name}-rs")) for i in range(count)
    ]


def raw_pod(
    name: str = "web-7d9c-x2x4k",
    namespace: str = "shop",
    *,
    image: str = IMAGE,
    annotations: dict[str, str] | None = None,
    owner_references: list[dict[str, Any]] | None = None,
    native: bool = False,
) -> dict[str, Any]:
    """A pod as the API server returns it (trimmed to realistic fields, camelCase)."""
    proxy_container: dict[str, Any] = {
        "name": "istio-proxy",
        "image": image,
        "args": ["proxy", "sidecar"],
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
    }
    app: dict[str, Any] = {"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}
    init: list[dict[str, Any]] = [{"name": "istio-init", "image": image}]
    containers = [app]
    if native:
        init.append({**proxy_container, "restartPolicy": "Always"})
    else:
        containers.append(proxy_container)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": "5b1c0e0e-0000-4000-8000-000000000001",
            "labels": {"app": "web", "security.istio.io/tlsMode": "istio"},
            "annotations": {
                "sidecar.istio.io/status": '{"containers":["istio-proxy"]}',
                **(annotations or {}),
            },
            "ownerReferences": owner_references
            if owner_references is not None
            else [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "web-7d9c",
                    "uid": "7a0e6f6e-0000-4000-8000-000000000002",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {"initContainers": init, "containers": containers, "nodeName": "node-1"},
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "PodReadyToStartContainers", "status": "True"},
                {"type": "Initialized", "status": "True"},
                {"type": "Ready", "status": "True"},
                {"type": "ContainersReady", "status": "True"},
                {"type": "PodScheduled", "status": "True"},
            ],
            "podIP": "10.0.0.12",
        },
    }

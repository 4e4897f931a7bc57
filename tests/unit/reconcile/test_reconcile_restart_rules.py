"""Sidecar restarts for DNS proxying, the proxy stats matcher and Prometheus merge, through whole passes
with in-memory fakes: each owner once per target, Kyma modules' owners first, a module's failure an
Error and a customer's a Warning, and a failed pass leaving the old value recorded so the next pass
retries exactly what is missing. ``plan-restarts`` reads the status port as the pass does."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from test_reconcile_pipeline_reasons import World

from kyma_istio import pins
from kyma_istio.api import names
from kyma_istio.cli.plan_restarts import compute_plan
from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.kinds import Kind
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.reconcile import pipeline
from kyma_istio.reconcile.context import Settings
from kyma_istio.reconcile.sidecars import MESH_CONFIG_MAP
from kyma_istio.restart import execute
from kyma_istio.restart.predicates import OutdatedReason

NS = names.OPERATOR_NAMESPACE
PROXY = f"{pins.DEFAULT_HUB}/proxyv2:{DEFAULT_LINE.tag}"
PRODUCTION = {"requests": {"cpu": "10m", "memory": "192Mi"}, "limits": {"cpu": "1000m", "memory": "1024Mi"}}
MODULE = ("zeta", "telemetry")
"""A module's workload outside kyma-system: labelled ``kyma-project.io/module``."""
KYMA = (NS, "api-gateway")
"""A module's workload in kyma-system."""
SHOP = ("alpha", "shop")
CART = ("beta", "cart")
APPS = (MODULE, KYMA, SHOP, CART)


def injected(
    world: World,
    namespace: str,
    name: str,
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> None:
    """A healthy Deployment whose one pod runs the current proxy with the production resources."""
    world.kube.put(
        kinds.DEPLOYMENT,
        {
            "metadata": {"name": name, "namespace": namespace, "generation": 1},
            "spec": {"replicas": 1, "strategy": {"type": "RollingUpdate"}, "template": {"metadata": {}}},
            "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1},
        },
    )
    controller = {"apiVersion": "apps/v1", "controller": True}
    world.kube.put(
        kinds.REPLICASET,
        {
            "metadata": {
                "name": f"{name}-rs",
                "namespace": namespace,
                "ownerReferences": [{**controller, "kind": "Deployment", "name": name, "uid": f"uid-{name}"}],
            }
        },
    )
    world.kube.put(
        kinds.POD,
        {
            "metadata": {
                "name": f"{name}-pod",
                "namespace": namespace,
                "labels": {"app": name, **(labels or {})},
                "annotations": {names.SIDECAR_STATUS_ANNOTATION: "{}", **(annotations or {})},
                "ownerReferences": [
                    {**controller, "kind": "ReplicaSet", "name": f"{name}-rs", "uid": f"uid-{name}-rs"}
                ],
            },
            "spec": {
                "containers": [
                    {"name": "app", "image": "app"},
                    {"name": names.PROXY_CONTAINER, "image": PROXY, "resources": PRODUCTION},
                ]
            },
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        },
    )


def cluster(settings: Settings | None = None) -> World:
    """Istio's CR reconciled to Ready with the empty spec, and four injected workloads with current
    sidecars: two of Kyma modules, two of customers."""
    world = World(settings=settings or Settings(restart_wave_size=1))
    injected(world, *MODULE, labels={names.MODULE_LABEL: "telemetry"})
    injected(world, *KYMA)
    injected(world, *SHOP, labels={names.MODULE_LABEL: ""})
    injected(world, *CART)
    world.cr()
    return world


async def ready(world: World) -> pipeline.PassResult:
    result = await world.reconcile()
    assert result.state is not None and result.state.value == "Ready", result.description
    return result


async def set_spec(world: World, spec: dict[str, Any]) -> None:
    await world.kube.patch(kinds.ISTIO, "default", {"spec": spec}, namespace=NS)


def restarted(world: World, since: int = 0) -> list[str]:
    """The app Deployments patched since the ``since``-th patch, in order, as ``namespace/name``."""
    apps = {name: namespace for namespace, name in APPS}
    return [
        f"{apps[name]}/{name}"
        for plural, name, _ in world.kube.patches[since:]
        if plural == "deployments" and name in apps
    ]


def last_applied(world: World) -> dict[str, Any]:
    text = world.stored()["metadata"]["annotations"][names.LAST_APPLIED_ANNOTATION]
    document: dict[str, Any] = json.loads(text)
    return document


@pytest.fixture(autouse=True)
def quick_waves(monkeypatch: pytest.MonkeyPatch) -> None:
    """The executor polls a wave's rollouts every second; the fake's are healthy at once."""
    monkeypatch.setattr(execute, "POLL_S", 0.01)


def refuse(world: World, *deployments: str) -> Callable[[], None]:
    """The API refuses patches of those Deployments until the returned function is called."""
    original = world.kube.patch

    async def patch(kind: Kind, name: str, body: Any, **kw: Any) -> dict[str, Any]:
        if kind.plural == "deployments" and name in deployments:
            raise errors.ClusterError("denied")
        return await original(kind, name, body, **kw)

    world.kube.patch = patch  # type: ignore[method-assign]
    return lambda: setattr(world.kube, "patch", original)


@pytest.mark.parametrize(
    ("before", "now"),
    [(None, False), (False, True), (True, None)],
    ids=["nil->false", "false->true", "true->nil"],
)
async def test_a_dns_proxying_change_restarts_each_owner_once_kyma_modules_first(
    before: bool | None, now: bool | None
) -> None:
    world = cluster()
    await set_spec(world, {} if before is None else {"config": {"enableDNSProxying": before}})
    await ready(world)
    mark = len(world.kube.patches)

    await set_spec(world, {"config": {"enableDNSProxying": now}})
    await ready(world)

    # Sorted modules first (kyma-system sorts before zeta), then customers by namespace.
    assert restarted(world, mark) == ["kyma-system/api-gateway", "zeta/telemetry", "alpha/shop", "beta/cart"]
    assert last_applied(world)["config"].get("enableDNSProxying") is now
    mark = len(world.kube.patches)
    await ready(world)
    await ready(world)
    assert restarted(world, mark) == []


async def test_an_unchanged_dns_proxying_restarts_nothing() -> None:
    world = cluster()
    await set_spec(world, {"config": {"enableDNSProxying": True}})
    await ready(world)
    mark = len(world.kube.patches)

    await set_spec(world, {"config": {"enableDNSProxying": True, "numTrustedProxies": 2}})
    await ready(world)

    assert restarted(world, mark) == []


async def test_reordering_the_stats_regexps_restarts_nothing_changing_them_restarts_everything() -> None:
    world = cluster()
    await set_spec(world, {"config": {"proxyStatsMatcher": {"inclusionRegexps": [".*a.*", ".*b.*"]}}})
    await ready(world)
    mark = len(world.kube.patches)

    await set_spec(world, {"config": {"proxyStatsMatcher": {"inclusionRegexps": [".*b.*", ".*a.*"]}}})
    await ready(world)
    assert restarted(world, mark) == []

    await set_spec(world, {"config": {"proxyStatsMatcher": {"inclusionRegexps": [".*b.*"]}}})
    await ready(world)
    assert sorted(restarted(world, mark)) == sorted(f"{ns}/{name}" for ns, name in APPS)


async def test_a_failed_customer_restart_is_a_warning_and_the_next_pass_retries_only_it() -> None:
    world = cluster()
    await ready(world)
    await set_spec(world, {"config": {"enableDNSProxying": True}})
    allow = refuse(world, "shop")
    mark = len(world.kube.patches)

    result = await world.reconcile()

    status = world.stored()["status"]
    assert status["state"] == "Warning" and result.warning and not result.failed
    assert status["description"] == (
        "The sidecars of some customer workloads could not be restarted: Deployment alpha/shop: denied"
    )
    assert world.condition("ProxySidecarRestartSucceeded")["reason"] == "ProxySidecarRestartFailed"
    assert restarted(world, mark) == ["kyma-system/api-gateway", "zeta/telemetry", "beta/cart"]
    # The old value stays recorded: the next pass sees the same change and the same target.
    assert "enableDNSProxying" not in last_applied(world)["config"]

    allow()
    mark = len(world.kube.patches)
    await ready(world)

    assert restarted(world, mark) == ["alpha/shop"]
    assert last_applied(world)["config"]["enableDNSProxying"] is True
    mark = len(world.kube.patches)
    await ready(world)
    assert restarted(world, mark) == []


async def test_a_failed_module_restart_is_an_error_customers_are_restarted_all_the_same() -> None:
    world = cluster()
    await ready(world)
    await set_spec(world, {"config": {"enableDNSProxying": False}})
    refuse(world, "telemetry")
    mark = len(world.kube.patches)

    result = await world.reconcile()

    status = world.stored()["status"]
    assert status["state"] == "Error" and result.failed
    assert status["description"] == (
        "Error occurred during reconciliation of Istio Sidecars: Deployment zeta/telemetry: denied"
    )
    assert world.condition("ProxySidecarRestartSucceeded")["reason"] == "ProxySidecarRestartFailed"
    assert restarted(world, mark) == ["kyma-system/api-gateway", "alpha/shop", "beta/cart"]
    assert "enableDNSProxying" not in last_applied(world)["config"]


async def test_module_and_customer_failures_are_an_error_listing_the_modules_first() -> None:
    world = cluster()
    await ready(world)
    await set_spec(world, {"config": {"enableDNSProxying": True}})
    refuse(world, "shop", "api-gateway")

    await world.reconcile()

    status = world.stored()["status"]
    assert status["state"] == "Error"
    assert status["description"] == (
        "Error occurred during reconciliation of Istio Sidecars: "
        "Deployment kyma-system/api-gateway: denied; Deployment alpha/shop: denied"
    )


async def test_continuation_passes_restart_each_owner_once_module_owners_in_the_first_chunk() -> None:
    world = cluster(Settings(restart_limit=1, restart_wave_size=1))
    await ready(world)
    await set_spec(world, {"config": {"enableDNSProxying": True}})
    mark = len(world.kube.patches)

    states = [(await world.reconcile()).state for _ in range(6)]

    assert [s.value for s in states if s is not None][:4] == ["Processing"] * 3 + ["Ready"]
    assert restarted(world, mark) == ["kyma-system/api-gateway", "zeta/telemetry", "alpha/shop", "beta/cart"]


def _mesh(world: World, status_port: int) -> None:
    mesh = yaml.safe_dump({"defaultConfig": {"statusPort": status_port}})
    world.kube.put(
        kinds.CONFIGMAP,
        {"metadata": {"name": MESH_CONFIG_MAP, "namespace": names.ISTIO_NAMESPACE}, "data": {"mesh": mesh}},
    )


def _scraped(port: str) -> dict[str, str]:
    return {
        "prometheus.io/path": "/stats/prometheus",
        "prometheus.io/port": port,
        "prometheus.io/scrape": "true",
    }


async def test_prometheus_merge_restarts_the_pods_not_annotated_for_the_mesh_status_port() -> None:
    world = World(settings=Settings(restart_wave_size=1))
    _mesh(world, 15090)
    injected(world, "alpha", "merged", annotations=_scraped("15090"))
    injected(world, "alpha", "default-port", annotations=_scraped("15020"))
    injected(world, "alpha", "own", annotations={"prometheus.io/port": "8080", "prometheus.io/path": "/m"})
    injected(world, "alpha", "opted-out", annotations={"prometheus.io/scrape": "false"})
    world.cr({"config": {"telemetry": {"metrics": {"prometheusMerge": True}}}})

    await ready(world)

    patched = [name for plural, name, _ in world.kube.patches if plural == "deployments"]
    assert sorted(n for n in patched if n != names.INGRESS_GATEWAY) == ["default-port", "own"]


async def test_after_takeover_without_prometheus_merge_nothing_is_restarted_for_it() -> None:
    world = World()
    injected(world, "alpha", "app", annotations={"prometheus.io/port": "8080", "prometheus.io/path": "/m"})
    injected(world, "beta", "plain")
    world.cr()

    await ready(world)

    assert [name for plural, name, _ in world.kube.patches if plural == "deployments"] == []


async def test_plan_restarts_reads_the_status_port_as_the_pass_does() -> None:
    world = World()
    _mesh(world, 15090)
    world.kube.put(kinds.CRD, {"metadata": {"name": names.CRD_NAME}})
    injected(world, "alpha", "merged", annotations=_scraped("15090"))
    injected(world, "alpha", "default-port", annotations=_scraped("15020"))
    world.cr({"config": {"telemetry": {"metrics": {"prometheusMerge": True}}}})

    report = await compute_plan(world.kube, settings=Settings())

    assert [(a.workload.name, a.rules) for a in report.plan.actions] == [
        ("default-port", (OutdatedReason.PROMETHEUS_MERGE_OUTDATED,))
    ]

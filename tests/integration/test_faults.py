"""Reliability under API faults: the operator's client talks to the real API server through the
fault-injecting proxy (``devenv.faultproxy``), and what reached the server is checked at the server.

Counts are taken at the server side: a Deployment's ``metadata.generation`` moves once per change of
its pod template, so an owner restarted twice (a retried patch that carried a new time) would show
generation 3, not 2; the proxy also counts the writes the server answered with success.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from lightkube import Client, codecs
from lightkube.resources.apps_v1 import Deployment, ReplicaSet
from lightkube.resources.policy_v1 import PodDisruptionBudget
from test_restarter import WaitFor, _all_running, _cr, _expectation, _template, _workload

from kyma_istio.cluster.kube import Kube
from kyma_istio.devenv.cluster import LocalCluster
from kyma_istio.devenv.faultproxy import Fault, FaultProxy, Rule, mixed
from kyma_istio.operator.events import KubeEvents
from kyma_istio.reconcile import sidecars
from kyma_istio.reconcile.context import Deps, Settings
from kyma_istio.restart import gather
from kyma_istio.restart.execute import Executed
from kyma_istio.restart.plan import PlanBuilder

OWNERS = 50


@pytest.fixture
async def proxy(cluster: LocalCluster, tmp_path: Path) -> AsyncIterator[FaultProxy]:
    async with FaultProxy(
        upstream=cluster.server, files=cluster.layout.pki, seed=11, workdir=tmp_path / "proxy"
    ) as started:
        yield started


@pytest.fixture
async def faulty_deps(proxy: FaultProxy, tmp_path: Path) -> AsyncIterator[Deps]:
    """Reconciler dependencies whose every API call goes through the proxy."""
    kube = Kube.connect(proxy.write_kubeconfig(tmp_path / "via-proxy.kubeconfig"))
    settings = Settings(restart_wave_size=25, restart_limit=100, restart_wave_timeout_s=30)
    yield Deps(kube=kube, installer=_Refuse(), events=KubeEvents(kube), settings=settings)
    await kube.close()


class _Refuse:
    async def install(self, iop: object) -> object:
        raise AssertionError("these tests never install")

    async def uninstall(self) -> object:
        raise AssertionError("these tests never uninstall")


async def _restart_pass(deps: Deps, namespace: str) -> tuple[int, Executed]:
    builder = PlanBuilder.for_restart(_expectation())
    plan = await gather.build_plan(deps.kube, builder, running_only=True, limit=None, namespace=namespace)
    return len(plan.actions), await sidecars.execute(deps, plan, builder.selection, _cr(namespace))


async def test_fifty_owners_restart_through_a_fifth_of_requests_failing_each_patched_once_at_the_server(
    faulty_deps: Deps, proxy: FaultProxy, client: Client, namespace: str, wait_for: WaitFor
) -> None:
    apps = [f"svc-{index:02d}" for index in range(OWNERS)]
    for app in apps:
        client.create(codecs.from_dict(_workload("Deployment", app, namespace, replicas=1)))
    _all_running(client, namespace, {f"Deployment/{a}": 1 for a in apps}, None, wait_for)
    proxy.set_rules(mixed(0.2))
    retrier = faulty_deps.kube.retrier  # type: ignore[attr-defined]

    acted, executed = await _restart_pass(faulty_deps, namespace)
    again, _ = await _restart_pass(faulty_deps, namespace)

    assert acted == OWNERS
    assert executed.failures == {}
    assert again == 0  # none skipped: every owner carries the target after one pass
    assert sum(proxy.counts.injected.values()) > 0
    assert retrier.retries > 0
    for app in apps:
        deployment = client.get(Deployment, app, namespace=namespace)
        assert deployment.metadata is not None
        assert deployment.metadata.generation == 2, f"{app} restarted more than once"
        assert proxy.counts.writes_to("PATCH", f"/deployments/{app}") >= 1


async def test_an_eviction_a_pdb_refuses_holds_the_owner_and_completes_once_the_pdb_allows(
    faulty_deps: Deps, proxy: FaultProxy, client: Client, namespace: str, wait_for: WaitFor
) -> None:
    # A ReplicaSet nobody owns: its pods can only be replaced by eviction, which PDBs govern.
    template = _template("shop")
    replicaset = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "shop", "namespace": namespace},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "shop"}}, "template": template},
    }
    client.create(codecs.from_dict(replicaset))
    _all_running(client, namespace, {"ReplicaSet/shop": 1}, None, wait_for)
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "shop-pdb", "namespace": namespace},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "shop"}}},
    }
    client.create(codecs.from_dict(pdb))

    def pdb_counts_the_pod() -> bool:
        status = client.get(PodDisruptionBudget, "shop-pdb", namespace=namespace).status
        return status is not None and status.expectedPods == 1 and status.disruptionsAllowed == 0

    wait_for("the PDB counts the pod", pdb_counts_the_pod)
    proxy.set_rules([Rule(Fault.UNAVAILABLE, 0.3), Rule(Fault.RESET, 0.1, verbs=frozenset({"get", "list"}))])

    _, held = await _restart_pass(faulty_deps, namespace)

    assert held.failures == {}
    assert [w.name for w in held.held] == ["shop"]
    assert "shop-pdb" in next(iter(held.held.values()))

    client.delete(PodDisruptionBudget, "shop-pdb", namespace=namespace)
    _, allowed = await _restart_pass(faulty_deps, namespace)

    assert allowed.failures == {}
    assert allowed.held == {}
    assert client.get(ReplicaSet, "shop", namespace=namespace) is not None
    assert proxy.counts.writes_to("POST", "/eviction") == 1

"""The sidecar restarter against the local control plane with kwok: every owner kind with outdated
sidecars is acted on exactly once (or reported with its reason), a second pass writes nothing, and a
per-pass cap leaves work for a later pass that then completes it.

No Istio is installed: the workloads' pod templates carry an ``istio-proxy`` container with an old
``proxyv2`` tag and the ``sidecar.istio.io/status`` annotation, which is all the selection reads. Plans
are confined to the test's namespace because other tests share the cluster.

kwok completes every Running pod owned by a Job at once, so a Job's pod would never be a Running
candidate there. Job pods are therefore bound to a node that kwok does not play (``hand_node``): the
test writes their Running status itself and keeps the node's lease fresh, as a kubelet would.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client, codecs
from lightkube.resources.apps_v1 import DaemonSet, Deployment, ReplicaSet, StatefulSet
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import Node, Pod
from rich.console import Console

from kyma_istio import pins
from kyma_istio.api import names
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.cli.plan_restarts import plan_restarts_command
from kyma_istio.cluster.kube import Kube
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.mesh.merge import merge
from kyma_istio.mesh.profile import Profile
from kyma_istio.operator.events import KubeEvents
from kyma_istio.reconcile import sidecars
from kyma_istio.reconcile.context import Deps, InstallOutcome, Settings
from kyma_istio.restart import gather
from kyma_istio.restart.owners import ActionKind, WorkloadKey
from kyma_istio.restart.plan import Outcome, PlanBuilder, RestartPlan
from kyma_istio.restart.predicates import DEFAULT_STATUS_PORT, Expectation

pytestmark = pytest.mark.integration

OLD_PROXY = "docker.io/istio/proxyv2:1.22.0-distroless"
WaitFor = Callable[..., Any]


class _NoInstaller:
    """The restarter never installs; a call would be a bug."""

    async def install(self, iop: Mapping[str, Any]) -> InstallOutcome:
        raise AssertionError("the restarter must not install")

    async def uninstall(self) -> InstallOutcome:
        raise AssertionError("the restarter must not uninstall")


def _expectation() -> Expectation:
    """What the controller expects for the empty CR on a production-sized cluster (its own code)."""
    iop = merge(IstioSpec(), profile=Profile.PRODUCTION, line=DEFAULT_LINE)
    return sidecars.expectation_of(iop, IstioSpec(), None, status_port=DEFAULT_STATUS_PORT)


@pytest.fixture
async def deps(kubeconfig: Path) -> AsyncIterator[Deps]:
    kube = Kube.connect(kubeconfig)
    settings = Settings(restart_wave_size=20, restart_limit=100, restart_wave_timeout_s=30)
    yield Deps(kube=kube, installer=_NoInstaller(), events=KubeEvents(kube), settings=settings)
    await kube.close()


def _cr(namespace: str) -> dict[str, Any]:
    """Events about the restarts go to an Istio CR; a stand-in in the test namespace is enough."""
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.KIND,
        "metadata": {"name": "default", "namespace": namespace, "uid": str(uuid.uuid4())},
    }


# --- a node played by the test, for Job pods ------------------------------------------------------

HAND_TAINT = "kyma-istio.test/hand-played"


def _heartbeat(client: Client, node: str) -> None:
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    ready = {
        "type": "Ready",
        "status": "True",
        "reason": "KubeletReady",
        "message": "played by the test",
        "lastHeartbeatTime": stamp,
        "lastTransitionTime": stamp,
    }
    client.patch(Node.Status, node, {"status": {"conditions": [ready]}})
    client.patch(
        Lease,
        node,
        {"spec": {"renewTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}},
        namespace="kube-node-lease",
    )


@pytest.fixture(scope="module")
def hand_node(cluster: Any) -> Iterator[str]:
    """A tainted Node that kwok leaves alone; its lease is renewed so the node controller keeps it Ready."""
    name = f"hand-{uuid.uuid4().hex[:6]}"
    stop = threading.Event()
    with cluster.client() as client:
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name},
            "spec": {"taints": [{"key": HAND_TAINT, "value": "true", "effect": "NoSchedule"}]},
        }
        client.create(codecs.from_dict(node))
        lease = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": 40},
        }
        client.create(codecs.from_dict(lease))
        _heartbeat(client, name)

        def beat() -> None:
            with cluster.client() as own:
                while not stop.wait(5.0):
                    _heartbeat(own, name)

        thread = threading.Thread(target=beat, name=f"heartbeat-{name}", daemon=True)
        thread.start()
        yield name
        stop.set()
        thread.join()
        client.delete(Lease, name, namespace="kube-node-lease")
        client.delete(Node, name)


def _play_running(client: Client, namespace: str, node: str) -> int:
    """Mark the Job pods on the hand-played node Running and Ready (what a kubelet would report)."""
    count = 0
    for pod in client.list(Pod, namespace=namespace):
        if pod.spec is None or pod.spec.nodeName != node:
            continue
        count += 1
        if pod.status is not None and pod.status.phase == "Running":
            continue
        conditions = [
            {"type": kind, "status": "True"}
            for kind in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
        ]
        status = {"status": {"phase": "Running", "conditions": conditions}}
        assert pod.metadata is not None and pod.metadata.name is not None
        client.patch(Pod.Status, pod.metadata.name, status, namespace=namespace)
    return count


# --- workloads ------------------------------------------------------------------------------------


def _template(app: str, *, hand_node: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "terminationGracePeriodSeconds": 0,
        "containers": [
            {"name": "app", "image": "registry.example/app:1"},
            {"name": names.PROXY_CONTAINER, "image": OLD_PROXY},
        ],
    }
    if hand_node is not None:
        spec |= {
            "nodeName": hand_node,
            "restartPolicy": "Never",
            "tolerations": [{"key": HAND_TAINT, "operator": "Exists"}],
        }
    return {
        "metadata": {"labels": {"app": app}, "annotations": {names.SIDECAR_STATUS_ANNOTATION: "{}"}},
        "spec": spec,
    }


def _workload(kind: str, name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    api = "batch/v1" if kind in {"Job", "CronJob"} else "apps/v1"
    body: dict[str, Any] = {"selector": {"matchLabels": {"app": name}}, "template": _template(name)}
    body.update(spec)
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": namespace}, "spec": body}


def _bare_pod(name: str, namespace: str, owner: Mapping[str, Any] | None = None) -> dict[str, Any]:
    template = _template(name)
    meta = {**template["metadata"], "name": name, "namespace": namespace}
    if owner is not None:
        meta["ownerReferences"] = [owner]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template["spec"]}


def _job_from_cronjob(namespace: str, cronjob: str, uid: str, hand_node: str) -> dict[str, Any]:
    """What ``kubectl create job --from=cronjob/...`` makes: a Job controlled by the CronJob."""
    owner = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "name": cronjob,
        "uid": uid,
        "controller": True,
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "nightly-manual", "namespace": namespace, "ownerReferences": [owner]},
        "spec": {"template": _template("nightly", hand_node=hand_node)},
    }


def _create_every_kind(client: Client, namespace: str, hand_node: str) -> dict[str, int]:
    """One workload of each kind with outdated sidecars; returns the pods each one should run."""
    objects = [
        _workload("Deployment", "web", namespace, replicas=2),
        _workload("StatefulSet", "db", namespace, replicas=2, serviceName="db"),
        _workload(
            "StatefulSet",
            "legacy",
            namespace,
            replicas=2,
            serviceName="legacy",
            updateStrategy={"type": "OnDelete"},
        ),
        _workload("DaemonSet", "agent", namespace),
        _workload("DaemonSet", "agent-ondelete", namespace, updateStrategy={"type": "OnDelete"}),
        _workload("ReplicaSet", "bare-rs", namespace, replicas=2),
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "migrate", "namespace": namespace},
            "spec": {"template": _template("migrate", hand_node=hand_node)},
        },
        _bare_pod("lonely", namespace),
    ]
    for obj in objects:
        client.create(codecs.from_dict(obj))
    cronjob = client.create(
        codecs.from_dict(
            {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": {"name": "nightly", "namespace": namespace},
                "spec": {
                    "schedule": "0 3 1 1 *",
                    "jobTemplate": {"spec": {"template": _template("nightly", hand_node=hand_node)}},
                },
            }
        )
    )
    assert cronjob.metadata is not None and cronjob.metadata.uid is not None
    client.create(codecs.from_dict(_job_from_cronjob(namespace, "nightly", cronjob.metadata.uid, hand_node)))
    rollout_owner = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "name": "canary",
        "uid": str(uuid.uuid4()),
        "controller": True,
    }
    client.create(codecs.from_dict(_bare_pod("canary-7f9c", namespace, rollout_owner)))
    nodes = _daemon_nodes(client)
    return {
        "Deployment/web": 2,
        "StatefulSet/db": 2,
        "StatefulSet/legacy": 2,
        "DaemonSet/agent": nodes,
        "DaemonSet/agent-ondelete": nodes,
        "ReplicaSet/bare-rs": 2,
        "Job/migrate": 1,
        "Job/nightly-manual": 1,
        "Pod/lonely": 1,
        "Rollout/canary": 1,
    }


def _daemon_nodes(client: Client) -> int:
    """Nodes a DaemonSet without tolerations runs on: the untainted ones (kwok's)."""
    return sum(1 for node in client.list(Node) if not (node.spec and node.spec.taints))


def _top_owner(client: Client, pod: Pod) -> str:
    assert pod.metadata is not None
    refs = pod.metadata.ownerReferences or []
    if not refs:
        return f"Pod/{pod.metadata.name}"
    ref = refs[0]
    if ref.kind == "ReplicaSet":
        rs = client.get(ReplicaSet, ref.name, namespace=pod.metadata.namespace)
        parents = (rs.metadata.ownerReferences if rs.metadata else None) or []
        if parents:
            return f"{parents[0].kind}/{parents[0].name}"
    return f"{ref.kind}/{ref.name}"


def _running_by_owner(client: Client, namespace: str) -> Counter[str]:
    """Running, ready, not terminating pods per top-level owner."""
    counts: Counter[str] = Counter()
    for pod in client.list(Pod, namespace=namespace):
        assert pod.metadata is not None
        if pod.metadata.deletionTimestamp is not None or pod.status is None:
            continue
        ready = all(c.status == "True" for c in pod.status.conditions or [])
        if pod.status.phase == "Running" and ready:
            counts[_top_owner(client, pod)] += 1
    return counts


def _all_running(
    client: Client, namespace: str, wanted: Mapping[str, int], hand_node: str | None, wait_for: WaitFor
) -> None:
    def check() -> bool:
        if hand_node is not None:
            _play_running(client, namespace, hand_node)
        counts = _running_by_owner(client, namespace)
        return all(counts[owner] >= n for owner, n in wanted.items())

    wait_for(f"pods of {sorted(wanted)} running", check, timeout=240)


# --- counting what a pass wrote -------------------------------------------------------------------


def _writes(deps: Deps) -> list[str]:
    """The writes since the last clear; fails when the window was too small to hold them all."""
    writes = list(deps.kube.recent_writes)
    assert len(writes) < (deps.kube.recent_writes.maxlen or 0), "write window overflowed"
    return writes


def _patches_by_owner(writes: list[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for write in writes:
        method, path = write.split(" ", 1)
        if method == "PATCH":
            parts = path.strip("/").split("/")
            counts[f"{parts[-2]}/{parts[-1]}"] += 1
    return counts


def _evictions(writes: list[str]) -> list[str]:
    return [w.split(" ", 1)[1].split("/")[-2] for w in writes if w.endswith("/eviction")]


async def _pass(
    deps: Deps, namespace: str, *, limit: int | None = None
) -> tuple[RestartPlan, dict[WorkloadKey, str], list[str]]:
    """One restart pass over the namespace, as ``restart_outdated`` runs it; returns what it wrote."""
    deps.kube.recent_writes.clear()
    builder = PlanBuilder.for_restart(_expectation())
    plan = await gather.build_plan(deps.kube, builder, running_only=True, limit=limit, namespace=namespace)
    failures = (await sidecars.execute(deps, plan, builder.selection, _cr(namespace))).failures
    return plan, failures, _writes(deps)


def _template_annotations(client: Client, resource: Any, name: str, namespace: str) -> dict[str, str]:
    obj = client.get(resource, name, namespace=namespace).to_dict()
    return dict(obj["spec"]["template"]["metadata"].get("annotations") or {})


def _pods_on_target(client: Client, namespace: str, owners: set[str], target: str) -> bool:
    """Every live pod of these owners was made for the target (it carries the stamp)."""
    for pod in client.list(Pod, namespace=namespace):
        assert pod.metadata is not None
        if pod.metadata.deletionTimestamp is not None or _top_owner(client, pod) not in owners:
            continue
        if (pod.metadata.annotations or {}).get(names.RESTART_TARGET_ANNOTATION) != target:
            return False
    return True


ROLLED_OUT = {("Deployment", "web"), ("StatefulSet", "db"), ("DaemonSet", "agent")}
EVICTED = {
    ("StatefulSet", "legacy"): ActionKind.EVICT_SEQUENTIAL,
    ("DaemonSet", "agent-ondelete"): ActionKind.EVICT_SEQUENTIAL,
    ("ReplicaSet", "bare-rs"): ActionKind.EVICT,
}
RESOURCES = {
    "Deployment": Deployment,
    "StatefulSet": StatefulSet,
    "DaemonSet": DaemonSet,
    "ReplicaSet": ReplicaSet,
}
MANUAL = {
    ("Job", "migrate"): "Job migrate is not restarted; its next run gets the current sidecar",
    ("Job", "nightly-manual"): "Job nightly-manual is not restarted; its next run gets the current sidecar",
    ("Pod", "lonely"): "it has no owner that would recreate it",
    (
        "Rollout",
        "canary",
    ): "owned by Rollout canary (argoproj.io/v1alpha1), which the operator cannot restart",
}


async def test_every_owner_kind_is_restarted_exactly_once_and_every_other_pod_is_reported_with_why(
    deps: Deps, client: Client, namespace: str, hand_node: str, wait_for: WaitFor
) -> None:
    wanted = _create_every_kind(client, namespace, hand_node)
    _all_running(client, namespace, wanted, hand_node, wait_for)
    before = {p.metadata.name: p.metadata.uid for p in client.list(Pod, namespace=namespace) if p.metadata}

    plan, failures, writes = await _pass(deps, namespace)

    assert failures == {}
    acted = {(a.workload.kind, a.workload.name): a.action for a in plan.actions}
    assert acted == {**dict.fromkeys(ROLLED_OUT, ActionKind.ROLLOUT), **EVICTED}
    assert all(a.workload.namespace == namespace for a in plan.actions)
    manual = {
        (o.workload.kind, o.workload.name): (o.why, o.pods)
        for o in plan.outcomes_of(Outcome.NEEDS_MANUAL_RESTART)
    }
    assert manual == {owner: (why, 1) for owner, why in MANUAL.items()}
    # Every outdated pod has exactly one outcome: the acted-on owners' pods plus the manual ones.
    by_outcome = plan.summary().by_outcome
    assert sum(by_outcome.values()) == sum(wanted.values())
    assert set(by_outcome) == {Outcome.ROLLOUT_VIA_OWNER, Outcome.EVICT, Outcome.NEEDS_MANUAL_RESTART}
    assert plan.complete

    # One patch per owner: the restart stamp for rollouts, the target stamp before evicting.
    patched = _patches_by_owner(writes)
    expected_patches = {f"{RESOURCES[k].__name__.lower()}s/{n}": 1 for k, n in {*ROLLED_OUT, *EVICTED}}
    assert patched == expected_patches
    evicted_pods = _evictions(writes)
    assert len(evicted_pods) == len(set(evicted_pods))
    assert len(evicted_pods) == sum(wanted[f"{k}/{n}"] for k, n in EVICTED)

    for kind, name in ROLLED_OUT:
        stamps = _template_annotations(client, RESOURCES[kind], name, namespace)
        assert stamps[names.RESTART_TARGET_ANNOTATION] == plan.target
        assert names.RESTARTED_AT_ANNOTATION in stamps
    for kind, name in EVICTED:
        stamps = _template_annotations(client, RESOURCES[kind], name, namespace)
        assert stamps[names.RESTART_TARGET_ANNOTATION] == plan.target
        assert names.RESTARTED_AT_ANNOTATION not in stamps, "evicted owners are not rolled out"

    # The owners replace their pods: rollouts by their controllers, evicted pods by their owners.
    acted_owners = {f"{k}/{n}" for k, n in acted}
    wait_for(
        "every acted-on owner's pods made for the target",
        lambda: _pods_on_target(client, namespace, acted_owners, plan.target),
        timeout=240,
    )
    _all_running(client, namespace, wanted, hand_node, wait_for)
    after = {p.metadata.name: p.metadata.uid for p in client.list(Pod, namespace=namespace) if p.metadata}
    for pod in evicted_pods:
        assert before[pod] != after.get(pod), f"evicted pod {pod} was not replaced"
    for pod in ("lonely", "canary-7f9c"):
        assert before[pod] == after[pod], f"{pod} needs a manual restart and must be left alone"


async def test_a_second_pass_issues_zero_patches_and_zero_evictions(
    deps: Deps, client: Client, namespace: str, hand_node: str, wait_for: WaitFor
) -> None:
    wanted = _create_every_kind(client, namespace, hand_node)
    _all_running(client, namespace, wanted, hand_node, wait_for)
    first, failures, _ = await _pass(deps, namespace)
    assert failures == {} and len(first.actions) == len(ROLLED_OUT) + len(EVICTED)
    patches_before = deps.kube.requests["PATCH"]

    # Straight away, while the rollouts may still run ...
    racing, failures, writes = await _pass(deps, namespace)
    assert failures == {}
    assert racing.actions == ()
    assert _patches_by_owner(writes) == {} and _evictions(writes) == []

    # ... and once every replacement is there (still on the old image: no injector runs here).
    owners = {f"{k}/{n}" for k, n in {*ROLLED_OUT, *EVICTED}}
    wait_for(
        "every pod replaced for the target",
        lambda: _pods_on_target(client, namespace, owners, first.target),
        timeout=240,
    )
    _all_running(client, namespace, wanted, hand_node, wait_for)
    settled, failures, writes = await _pass(deps, namespace)

    assert failures == {}
    assert settled.actions == ()
    assert _patches_by_owner(writes) == {} and _evictions(writes) == []
    assert deps.kube.requests["PATCH"] == patches_before
    outcomes = settled.summary().by_outcome
    restarted = sum(wanted[f"{k}/{n}"] for k, n in {*ROLLED_OUT, *EVICTED})
    assert outcomes[Outcome.ALREADY_RESTARTED] == restarted, "replacements are pending, never restarted again"
    assert outcomes[Outcome.NEEDS_MANUAL_RESTART] == len(MANUAL)
    # Only Events were written: one warning per manual owner would come from restart_outdated, not here.
    assert all(w.startswith("POST") and w.endswith("/events") for w in writes)


async def test_a_cap_smaller_than_the_work_leaves_the_rest_to_a_later_pass_which_completes_it(
    deps: Deps, client: Client, namespace: str, wait_for: WaitFor
) -> None:
    apps = ["alpha", "bravo", "charlie"]
    for app in apps:
        client.create(codecs.from_dict(_workload("Deployment", app, namespace, replicas=1)))
    _all_running(client, namespace, {f"Deployment/{a}": 1 for a in apps}, None, wait_for)
    deps.settings = Settings(restart_wave_size=1, restart_wave_timeout_s=30)

    first, failures, writes = await _pass(deps, namespace, limit=2)

    assert failures == {}
    assert [a.workload.name for a in first.actions] == ["alpha", "bravo"]
    assert first.remaining == 1 and not first.complete
    deferred = first.outcomes_of(Outcome.DEFERRED)
    assert [(o.workload.name, o.pods) for o in deferred] == [("charlie", 1)]
    assert _patches_by_owner(writes) == {"deployments/alpha": 1, "deployments/bravo": 1}

    second, failures, writes = await _pass(deps, namespace, limit=2)

    assert failures == {}
    assert [a.workload.name for a in second.actions] == ["charlie"]
    assert second.remaining == 0 and second.complete
    assert _patches_by_owner(writes) == {"deployments/charlie": 1}

    third, _, writes = await _pass(deps, namespace, limit=2)
    assert third.actions == () and third.complete
    assert _patches_by_owner(writes) == {}
    for app in apps:
        stamps = _template_annotations(client, Deployment, app, namespace)
        assert stamps[names.RESTART_TARGET_ANNOTATION] == first.target


def test_plan_restarts_prints_the_plan_as_json_and_changes_nothing(
    client: Client, namespace: str, kubeconfig: Path, wait_for: WaitFor, capsys: pytest.CaptureFixture[str]
) -> None:
    client.create(codecs.from_dict(_workload("Deployment", "web", namespace, replicas=2)))
    client.create(codecs.from_dict(_bare_pod("lonely", namespace)))
    _all_running(client, namespace, {"Deployment/web": 2, "Pod/lonely": 1}, None, wait_for)
    capsys.readouterr()

    code = plan_restarts_command(kubeconfig, "json", pins.DEFAULT_HUB, None)

    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = json.loads(captured.out)
    mine = [a for a in out["restart"] if a["namespace"] == namespace]
    assert mine == [
        {
            "order": mine[0]["order"],
            "wave": mine[0]["wave"],
            "action": "Rollout",
            "kind": "Deployment",
            "namespace": namespace,
            "name": "web",
            "module": False,
            "pods": 2,
            "rules": ["ImageOutdated"],
            "examples": mine[0]["examples"],
        }
    ]
    manual = [m for m in out["manual"] if m["namespace"] == namespace]
    assert manual == [
        {
            "kind": "Pod",
            "namespace": namespace,
            "name": "lonely",
            "pods": 1,
            "rule": "ImageOutdated",
            "why": "it has no owner that would recreate it",
            "running": OLD_PROXY,
            "examples": [f"{namespace}/lonely"],
        }
    ]
    assert mine[0]["order"] >= 1 and mine[0]["wave"] >= 1
    assert len(mine[0]["examples"]) == 2
    assert out["profile"] == "production" and out["expectedImage"] == _expectation().image
    assert out["target"] == PlanBuilder.for_restart(_expectation()).selection.target

    wide = Console(width=400, record=True)
    assert plan_restarts_command(kubeconfig, "table", pins.DEFAULT_HUB, None, console=wide) == 0
    table = wide.export_text()
    assert f"Deployment {namespace}/web" in table
    assert f"Pod {namespace}/lonely" in table and "it has no owner that would recreate it" in table

    stamps = _template_annotations(client, Deployment, "web", namespace)
    assert names.RESTART_TARGET_ANNOTATION not in stamps, "plan-restarts must change nothing"


async def test_many_owners_are_read_by_listing_and_each_is_still_restarted_exactly_once(
    deps: Deps, client: Client, namespace: str, wait_for: WaitFor
) -> None:
    # Above LIST_ABOVE owners of a kind, planning lists the kind page by page instead of GETting each.
    count = gather.LIST_ABOVE + 5
    apps = [f"svc-{index:03d}" for index in range(count)]
    for app in apps:
        client.create(codecs.from_dict(_workload("Deployment", app, namespace, replicas=1)))
    _all_running(client, namespace, {f"Deployment/{a}": 1 for a in apps}, None, wait_for)
    requests = deps.kube.requests
    gets, patches = requests["GET"], requests["PATCH"]
    builder = PlanBuilder.for_restart(_expectation())

    first = await gather.build_plan(deps.kube, builder, running_only=True, limit=None, namespace=namespace)

    # Pods, ReplicaSets and Deployments by the page, plus the namespaces: far fewer GETs than owners.
    assert requests["GET"] - gets < count
    assert [a.workload.name for a in first.actions] == apps
    assert (await sidecars.execute(deps, first, builder.selection, _cr(namespace))).failures == {}
    # As many patches as owners, and every owner stamped: exactly one each.
    assert requests["PATCH"] - patches == count
    for app in apps:
        stamps = _template_annotations(client, Deployment, app, namespace)
        assert stamps[names.RESTART_TARGET_ANNOTATION] == first.target

    again = PlanBuilder.for_restart(_expectation())
    second = await gather.build_plan(deps.kube, again, running_only=True, limit=None, namespace=namespace)

    assert second.actions == ()
    assert second.summary().by_outcome[Outcome.ALREADY_RESTARTED] >= count

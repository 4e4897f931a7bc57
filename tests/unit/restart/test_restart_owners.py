"""Which object acts for a pod, one owner kind at a time."""

from __future__ import annotations

import pytest
from restart_builders import current_pod, owner

from kyma_istio.restart.owners import (
    ActionKind,
    Resolution,
    WorkloadKey,
    replicasets_to_resolve,
    resolve_owner,
    workload_of,
)
from kyma_istio.restart.podview import OwnerRef

NS = "shop"


def resolve(
    pod_owner: OwnerRef | None,
    replicaset_owners: dict[tuple[str, str], OwnerRef | None] | None = None,
    strategies: dict[tuple[str, str, str], str] | None = None,
) -> Resolution:
    return resolve_owner(
        NS,
        "pod-1",
        pod_owner,
        replicaset_owners=replicaset_owners or {},
        workload_strategies=strategies or {},
    )


def test_a_deployment_s_pod_rolls_out_the_deployment_found_through_its_replicaset() -> None:
    deployment = owner("Deployment", "web")

    resolution = resolve(owner("ReplicaSet", "web-rs"), {(NS, "web-rs"): deployment})

    assert resolution.action is ActionKind.ROLLOUT
    assert resolution.workload == WorkloadKey("Deployment", NS, "web")
    assert (resolution.api_version, resolution.uid) == ("apps/v1", deployment.uid)


def test_a_replicaset_without_owner_has_its_pods_evicted() -> None:
    resolution = resolve(owner("ReplicaSet", "lonely"), {(NS, "lonely"): None})

    assert resolution.action is ActionKind.EVICT
    assert resolution.workload == WorkloadKey("ReplicaSet", NS, "lonely")


def test_a_replicaset_missing_from_the_lookups_needs_a_manual_restart() -> None:
    resolution = resolve(owner("ReplicaSet", "gone"))

    assert resolution.action is None
    assert "ReplicaSet gone not found" in resolution.why


def test_a_replicaset_owned_by_an_argo_rollout_needs_a_manual_restart() -> None:
    rollout = owner("Rollout", "canary", "argoproj.io/v1alpha1")

    resolution = resolve(owner("ReplicaSet", "canary-rs"), {(NS, "canary-rs"): rollout})

    assert resolution.action is None
    assert resolution.workload == WorkloadKey("Rollout", NS, "canary")
    assert "argoproj.io/v1alpha1" in resolution.why


def test_a_replicaset_owned_by_a_replicaset_is_not_followed() -> None:
    resolution = resolve(owner("ReplicaSet", "a"), {(NS, "a"): owner("ReplicaSet", "b")})

    assert resolution.action is None


def test_a_replication_controller_has_its_pods_evicted() -> None:
    resolution = resolve(owner("ReplicationController", "legacy", "v1"))

    assert resolution.action is ActionKind.EVICT
    assert resolution.workload == WorkloadKey("ReplicationController", NS, "legacy")


@pytest.mark.parametrize("kind", ["StatefulSet", "DaemonSet"])
def test_a_rolling_update_workload_is_rolled_out(kind: str) -> None:
    resolution = resolve(owner(kind, "w"), strategies={(kind, NS, "w"): "RollingUpdate"})

    assert resolution.action is ActionKind.ROLLOUT
    assert resolution.workload == WorkloadKey(kind, NS, "w")


@pytest.mark.parametrize("kind", ["StatefulSet", "DaemonSet"])
def test_an_on_delete_workload_has_its_pods_evicted_one_at_a_time(kind: str) -> None:
    resolution = resolve(owner(kind, "w"), strategies={(kind, NS, "w"): "OnDelete"})

    assert resolution.action is ActionKind.EVICT_SEQUENTIAL


@pytest.mark.parametrize("kind", ["StatefulSet", "DaemonSet"])
def test_a_workload_without_a_known_strategy_was_not_found(kind: str) -> None:
    resolution = resolve(owner(kind, "w"))

    assert resolution.action is None
    assert "not found" in resolution.why


def test_an_unknown_update_strategy_needs_a_manual_restart() -> None:
    resolution = resolve(owner("StatefulSet", "db"), strategies={("StatefulSet", NS, "db"): "Partitioned"})

    assert resolution.action is None
    assert "Partitioned" in resolution.why


def test_a_deployment_owning_a_pod_directly_is_rolled_out() -> None:
    assert resolve(owner("Deployment", "web")).action is ActionKind.ROLLOUT


def test_a_job_s_pod_needs_a_manual_restart() -> None:
    resolution = resolve(owner("Job", "migrate", "batch/v1"))

    assert resolution.action is None
    assert resolution.workload == WorkloadKey("Job", NS, "migrate")
    assert "Job migrate" in resolution.why


def test_a_cron_job_s_pod_is_owned_by_its_job_and_needs_a_manual_restart() -> None:
    resolution = resolve(owner("Job", "backup-28391234", "batch/v1"))

    assert resolution.action is None
    assert "next run" in resolution.why


def test_a_bare_pod_needs_a_manual_restart() -> None:
    resolution = resolve(None)

    assert resolution.action is None
    assert resolution.workload == WorkloadKey("Pod", NS, "pod-1")
    assert "no owner" in resolution.why


def test_a_static_pod_needs_a_manual_restart() -> None:
    resolution = resolve(owner("Node", "node-1", "v1"))

    assert resolution.action is None
    assert resolution.workload == WorkloadKey("Pod", NS, "pod-1")


@pytest.mark.parametrize(
    ("kind", "api_version"),
    [
        ("Rollout", "argoproj.io/v1alpha1"),
        ("CloneSet", "apps.kruise.io/v1alpha1"),
        ("Deployment", "example.com/v1"),
    ],
)
def test_an_unknown_kind_needs_a_manual_restart(kind: str, api_version: str) -> None:
    resolution = resolve(owner(kind, "x", api_version))

    assert resolution.action is None
    assert "cannot restart" in resolution.why


def test_only_replicasets_of_the_given_pods_need_resolving() -> None:
    pods = [
        current_pod("a-1", owner=owner("ReplicaSet", "a")),
        current_pod("a-2", owner=owner("ReplicaSet", "a")),
        current_pod("b-1", "other", owner=owner("ReplicaSet", "b")),
        current_pod("c-1", owner=owner("StatefulSet", "c")),
        current_pod("d-1", owner=None),
    ]

    assert replicasets_to_resolve(pods) == {(NS, "a"), ("other", "b")}


def test_the_workload_to_inspect_is_the_deployment_behind_a_replicaset() -> None:
    lookups = {(NS, "rs"): owner("Deployment", "web"), (NS, "bare"): None}

    assert workload_of(NS, owner("ReplicaSet", "rs"), lookups) == WorkloadKey("Deployment", NS, "web")
    assert workload_of(NS, owner("ReplicaSet", "bare"), lookups) == WorkloadKey("ReplicaSet", NS, "bare")
    assert workload_of(NS, owner("ReplicaSet", "unknown"), lookups) is None
    assert workload_of(NS, owner("DaemonSet", "agent"), lookups) == WorkloadKey("DaemonSet", NS, "agent")
    assert workload_of(NS, owner("Job", "j", "batch/v1"), lookups) is None
    assert workload_of(NS, None, lookups) is None

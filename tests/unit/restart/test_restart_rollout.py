"""When a rolled-out workload counts as healthy: the health gate between restart waves."""

from typing import Any

import pytest

from kyma_istio.restart.rollout import healthy


def workload(
    kind: str, status: dict[str, Any], *, replicas: int | None = 3, generation: int = 2
) -> dict[str, Any]:
    spec: dict[str, Any] = {} if replicas is None else {"replicas": replicas}
    return {
        "kind": kind,
        "metadata": {"name": "app", "namespace": "ns", "generation": generation},
        "spec": spec,
        "status": status,
    }


# --- healthy: Deployment -------------------------------------------------------------------------


def deployment_status(**overrides: int) -> dict[str, Any]:
    status = {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}
    status.update(overrides)
    return status


def test_a_deployment_with_every_replica_updated_and_available_ishealthy() -> None:
    assert healthy(workload("Deployment", deployment_status()))


def test_a_deployment_whose_controller_has_not_seen_the_new_generation_is_nothealthy() -> None:
    assert not healthy(workload("Deployment", deployment_status(observedGeneration=1)))


def test_a_deployment_without_observed_generation_is_nothealthy() -> None:
    status = deployment_status()
    del status["observedGeneration"]

    assert not healthy(workload("Deployment", status))


def test_a_deployment_with_replicas_still_to_update_is_nothealthy() -> None:
    assert not healthy(workload("Deployment", deployment_status(updatedReplicas=2)))


def test_a_deployment_with_unavailable_replicas_is_nothealthy() -> None:
    assert not healthy(workload("Deployment", deployment_status(availableReplicas=2)))


def test_a_deployment_with_old_replicas_still_running_is_nothealthy() -> None:
    # Surge: three new pods exist but one is not available yet; an old one still counts as available.
    assert not healthy(workload("Deployment", deployment_status(replicas=4)))


def test_a_deployment_without_replicas_in_its_spec_wants_one() -> None:
    one = {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}

    assert healthy(workload("Deployment", one, replicas=None))
    assert not healthy(workload("Deployment", deployment_status(), replicas=None))


def test_a_deployment_scaled_to_zero_is_healthy_with_an_empty_status() -> None:
    assert healthy(workload("Deployment", {"observedGeneration": 2}, replicas=0))


def test_a_deployment_without_status_is_nothealthy() -> None:
    obj = workload("Deployment", {})
    del obj["status"]

    assert not healthy(obj)


# --- healthy: StatefulSet ------------------------------------------------------------------------


def statefulset_status(**overrides: int) -> dict[str, Any]:
    status = {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3}
    status.update(overrides)
    return status


def test_a_statefulset_with_every_replica_updated_and_ready_ishealthy() -> None:
    assert healthy(workload("StatefulSet", statefulset_status()))


def test_a_statefulset_counts_ready_replicas_not_available_ones() -> None:
    status = statefulset_status(readyReplicas=2, availableReplicas=3)

    assert not healthy(workload("StatefulSet", status))


def test_a_statefulset_with_replicas_still_to_update_is_nothealthy() -> None:
    assert not healthy(workload("StatefulSet", statefulset_status(updatedReplicas=1)))


def test_a_statefulset_whose_controller_lags_is_nothealthy() -> None:
    assert not healthy(workload("StatefulSet", statefulset_status(observedGeneration=1)))


# --- healthy: DaemonSet --------------------------------------------------------------------------


def daemonset_status(**overrides: int) -> dict[str, Any]:
    status = {
        "observedGeneration": 2,
        "desiredNumberScheduled": 4,
        "updatedNumberScheduled": 4,
        "numberAvailable": 4,
    }
    status.update(overrides)
    return status


def test_a_daemonset_updated_and_available_on_every_node_ishealthy() -> None:
    assert healthy(workload("DaemonSet", daemonset_status(), replicas=None))


@pytest.mark.parametrize("field_", ["updatedNumberScheduled", "numberAvailable"])
def test_a_daemonset_short_on_one_node_is_nothealthy(field_: str) -> None:
    assert not healthy(workload("DaemonSet", daemonset_status(**{field_: 3}), replicas=None))


def test_a_daemonset_whose_controller_lags_is_nothealthy() -> None:
    status = daemonset_status(observedGeneration=1)

    assert not healthy(workload("DaemonSet", status, replicas=None))

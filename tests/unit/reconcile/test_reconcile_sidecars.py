"""The pure parts of the sidecar restarter: when a rolled-out workload counts as healthy, and what an
up-to-date sidecar looks like (spec 6.2)."""

from typing import Any

import pytest

from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.mesh.lastapplied import LastApplied
from kyma_istio.mesh.merge import merge
from kyma_istio.mesh.profile import CloudProvider, Flavour, Profile
from kyma_istio.reconcile.sidecars import expectation_for
from kyma_istio.reconcile.steps import Installed
from kyma_istio.restart.predicates.expectation import ProxyResources
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


# --- expectation_for ------------------------------------------------------------------------------

PRODUCTION_RESOURCES = ProxyResources(
    cpu_request="10m", memory_request="192Mi", cpu_limit="1000m", memory_limit="1024Mi"
)


def step_for(spec: IstioSpec, last: IstioSpec | None = None) -> Installed:
    applied = None if last is None else LastApplied(spec=last, istio_tag="1.23.2-distroless")
    iop = merge(spec, profile=Profile.PRODUCTION)
    return Installed({}, spec, applied, iop, "", CloudProvider.OTHER, Flavour.UNKNOWN)


def compat(value: bool | None) -> IstioSpec:
    return IstioSpec() if value is None else IstioSpec(compatibility_mode=value)


def test_the_default_expectation_is_the_pinned_proxy_with_production_resources() -> None:
    expectation = expectation_for(step_for(IstioSpec()))

    assert expectation.image == "docker.io/istio/proxyv2:1.23.2-distroless"
    assert expectation.resources == PRODUCTION_RESOURCES
    assert not expectation.compatibility_changed
    assert not expectation.compatibility_mode


def test_proxy_resources_of_the_cr_are_expected() -> None:
    spec = IstioSpec.model_validate(
        {
            "components": {
                "proxy": {"k8s": {"resources": {"limits": {"cpu": "500m"}, "requests": {"memory": "64Mi"}}}}
            }
        }
    )

    resources = expectation_for(step_for(spec)).resources

    assert resources == ProxyResources(
        cpu_request="10m", memory_request="64Mi", cpu_limit="500m", memory_limit="1024Mi"
    )


def test_a_first_install_with_compatibility_mode_is_no_compatibility_change() -> None:
    expectation = expectation_for(step_for(compat(True)))

    assert not expectation.compatibility_changed
    assert expectation.compatibility_mode


@pytest.mark.parametrize(("now", "before"), [(True, None), (True, False), (False, True), (None, True)])
def test_a_compatibility_mode_different_from_the_last_applied_is_a_change(
    now: bool | None, before: bool | None
) -> None:
    expectation = expectation_for(step_for(compat(now), compat(before)))

    assert expectation.compatibility_changed
    assert expectation.compatibility_mode is bool(now)


@pytest.mark.parametrize(
    ("now", "before"), [(True, True), (False, False), (None, None), (False, None), (None, False)]
)
def test_the_same_compatibility_mode_as_last_applied_is_no_change(
    now: bool | None, before: bool | None
) -> None:
    assert not expectation_for(step_for(compat(now), compat(before))).compatibility_changed

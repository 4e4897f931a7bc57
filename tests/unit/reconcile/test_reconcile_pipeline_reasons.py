"""Every state and reason a pass can end in, reached through the real pipeline with in-memory fakes.

The integration tests prove the same pipeline against a real API server and istioctl; here each failure
branch is forced directly (a call told to fail, an installer told to fail), which a real cluster cannot
do on demand.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from reconcile_world import NS, OLD_PROXY, World, istio_pods

from kyma_istio.api import names
from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.kinds import Kind
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.reconcile import pipeline
from kyma_istio.reconcile.context import InstallOutcome, Settings
from kyma_istio.reconcile.draft import Draft

PEER_AUTHENTICATION = Kind("security.istio.io", "v1", "PeerAuthentication", "peerauthentications")
VIRTUAL_SERVICE = Kind("networking.istio.io", "v1", "VirtualService", "virtualservices")


@pytest.fixture
def reasons_set(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every reason set in memory during a pass, in order (most are overwritten before they persist)."""
    seen: list[str] = []
    original = Draft.set

    def spy(self: Draft, reason: Any, message: str | None = None) -> None:
        seen.append(str(reason))
        original(self, reason, message)

    monkeypatch.setattr(Draft, "set", spy)
    return seen


async def test_a_first_install_ends_ready_with_both_conditions_true(reasons_set: list[str]) -> None:
    world = World()
    world.cr({"config": {"numTrustedProxies": 1}})

    result = await world.reconcile()

    assert result.state is not None and result.state.value == "Ready"
    assert result.requeue_after == 10 * 3600
    status = world.stored()["status"]
    assert status["state"] == "Ready" and status["description"] == ""
    assert world.condition("Ready")["reason"] == "ReconcileSucceeded"
    assert world.condition("ProxySidecarRestartSucceeded")["reason"] == "ProxySidecarRestartSucceeded"
    assert reasons_set[0] == "ReconcileUnknown"
    assert "IstioInstallSucceeded" in reasons_set
    assert "IngressGatewayRestartSucceeded" in reasons_set
    assert len(world.installer.installs) == 1


async def test_processing_with_ready_unknown_is_persisted_before_anything_is_installed() -> None:
    world = World()
    world.cr()

    await world.reconcile()

    status_patches = [body["status"] for plural, _, body in world.kube.patches if "status" in body]
    first = status_patches[0]
    assert first["state"] == "Processing"
    assert first["description"] == "Reconciling Istio"
    assert first["conditions"][0]["reason"] == "ReconcileUnknown"
    assert first["conditions"][0]["status"] == "Unknown"


async def test_a_second_pass_with_nothing_changed_writes_nothing_and_keeps_transition_times() -> None:
    world = World()
    world.cr()
    await world.reconcile()
    before = world.stored()
    writes = world.kube.writes

    await world.reconcile()

    assert world.kube.writes == writes
    assert world.stored()["status"] == before["status"]
    assert len(world.installer.installs) == 1


async def test_a_periodic_resync_reinstalls_for_drift_repair_but_writes_no_status() -> None:
    world = World()
    world.cr()
    await world.reconcile()
    writes = world.kube.writes

    await world.reconcile(resync=True)

    assert len(world.installer.installs) == 2
    assert world.kube.writes == writes


async def test_an_installer_failure_is_an_error_naming_what_failed() -> None:
    world = World()
    world.installer.install_result = InstallOutcome(False, 3.0, "Istiod not ready after 2m30s")
    world.cr()

    result = await world.reconcile()

    assert result.failed
    assert world.stored()["status"]["state"] == "Error"
    assert world.stored()["status"]["description"] == "Could not install Istio: Istiod not ready after 2m30s"
    assert world.condition("Ready")["reason"] == "IstioInstallUninstallFailed"
    assert ("Warning", "InstallFailed", "Istiod not ready after 2m30s") in world.events.posted


@pytest.mark.parametrize(
    ("verb", "plural", "description"),
    [
        ("list", "nodes", "Could not evaluate cluster flavour: boom"),
        ("patch", "istios", "Could not add finalizer: boom"),
        ("patch", "namespaces", "Could not add warden validation label: boom"),
        (
            "apply",
            "peerauthentications",
            "Could not reconcile Istio resource PeerAuthentication/default: boom",
        ),
    ],
)
async def test_a_failing_install_step_is_an_error_with_its_description(
    verb: str, plural: str, description: str
) -> None:
    world = World()
    world.kube.fail[(verb, plural)] = errors.ClusterError("boom")
    world.cr()

    result = await world.reconcile()

    assert result.failed
    assert world.stored()["status"]["state"] == "Error"
    assert world.stored()["status"]["description"] == description
    expected = (
        "CustomResourcesReconcileFailed" if plural == "peerauthentications" else "IstioInstallUninstallFailed"
    )
    assert world.condition("Ready")["reason"] == expected


async def test_a_node_capacity_that_cannot_be_parsed_fails_the_size_evaluation() -> None:
    world = World()
    world.kube.put(
        kinds.NODE,
        {"metadata": {"name": "node-2"}, "status": {"capacity": {"cpu": "many", "memory": "32Gi"}}},
    )
    world.cr()

    result = await world.reconcile()

    assert result.failed
    assert world.stored()["status"]["description"].startswith("Could not evaluate cluster size: ")
    assert world.condition("Ready")["reason"] == "IstioInstallUninstallFailed"


async def test_istio_pods_on_another_version_fail_verification() -> None:
    world = World()
    world.installer.on_install = lambda _: istio_pods(world.kube, "1.22.1-distroless")
    world.cr()

    await world.reconcile()

    assert world.stored()["status"]["description"] == (
        "Verifying Pod versions in istio-system namespace failed: "
        f"istio-system Pods version 1.22.1 do not match istio operator version {DEFAULT_LINE.version}"
    )
    assert world.condition("Ready")["reason"] == "IstioInstallUninstallFailed"


async def test_an_unreadable_last_applied_annotation_fails_the_install_check() -> None:
    world = World()
    world.cr(annotations={names.LAST_APPLIED_ANNOTATION: "{not json"})

    await world.reconcile()

    assert world.stored()["status"]["state"] == "Error"
    assert world.stored()["status"]["description"].startswith("Istio install check failed: ")


async def test_a_spec_the_model_refuses_is_misconfigured() -> None:
    world = World()
    world.cr({"config": {"numTrustedProxies": -1}})

    result = await world.reconcile()

    assert result.failed
    assert world.condition("Ready")["reason"] == "IstioCustomResourceMisconfigured"
    assert "spec.config.numTrustedProxies" in world.stored()["status"]["description"]


async def test_a_failed_list_of_crs_is_reported() -> None:
    world = World()
    world.kube.fail[("list", "istios")] = errors.Transient("apiserver unavailable")
    world.cr()

    await world.reconcile()

    assert world.stored()["status"]["description"] == "Unable to list Istio CRs: apiserver unavailable"
    assert world.condition("Ready")["reason"] == "ReconcileFailed"


async def test_a_failed_last_applied_update_is_reported_as_reconcile_failed() -> None:
    world = World()
    world.cr(finalizers=[names.FINALIZER])
    world.kube.fail[("patch", "istios")] = errors.ClusterError("denied")

    await world.reconcile()

    assert world.stored()["status"]["description"] == "Error updating LastAppliedConfiguration: denied"
    assert world.condition("Ready")["reason"] == "ReconcileFailed"


async def test_a_failed_gateway_restart_is_its_own_reason() -> None:
    world = World()
    world.cr({"config": {"numTrustedProxies": 2}})
    world.kube.fail[("patch", "deployments")] = errors.ClusterError("denied")

    await world.reconcile()

    assert world.stored()["status"]["state"] == "Error"
    assert world.stored()["status"]["description"] == "Failed to restart Ingress Gateway: denied"
    assert world.condition("Ready")["reason"] == "IngressGatewayRestartFailed"


async def test_a_pod_nobody_can_restart_is_a_warning_listing_it() -> None:
    world = World()
    world.outdated_workload("lonely", bare_pod=True)
    world.cr()

    result = await world.reconcile()

    status = world.stored()["status"]
    assert status["state"] == "Warning"
    assert status["description"].startswith("Not all pods with Istio injection could be restarted.")
    condition = world.condition("ProxySidecarRestartSucceeded")
    assert condition["reason"] == "ProxySidecarManualRestartRequired"
    assert (
        condition["message"]
        == "The sidecars of the following workloads could not be restarted: app/lonely-pod"
    )
    assert world.condition("Ready")["reason"] == "IngressGatewayRestartSucceeded"
    assert result.requeue_after == pipeline.WARNING_REQUEUE_S


async def test_work_beyond_the_restart_limit_requeues_as_processing() -> None:
    world = World(settings=Settings(restart_limit=1))
    world.outdated_workload("a")
    world.outdated_workload("b")
    world.cr()

    result = await world.reconcile()

    # The chunk's rollout became healthy, so the next chunk starts at once (ADR 15).
    assert result.requeue_after == Settings().chunk_requeue_s == 1.0
    assert world.stored()["status"]["state"] == "Processing"
    assert world.condition("Ready")["reason"] == "ReconcileRequeued"
    assert (
        world.condition("ProxySidecarRestartSucceeded")["reason"] == "ProxySidecarRestartPartiallySucceeded"
    )
    assert names.LAST_APPLIED_ANNOTATION not in (world.stored()["metadata"].get("annotations") or {})


async def test_a_failed_pod_listing_is_a_sidecar_restart_failure() -> None:
    world = World()
    world.cr()
    original = world.kube.stream

    async def failing_stream(kind: Kind, **kw: Any) -> Any:
        if kind.plural == "pods" and kw.get("fields"):
            raise errors.Transient("list pods: timeout")
        async for obj in original(kind, **kw):
            yield obj

    world.kube.stream = failing_stream  # type: ignore[method-assign]

    await world.reconcile()

    assert world.stored()["status"]["state"] == "Error"
    assert world.stored()["status"]["description"] == (
        "Error occurred during reconciliation of Istio Sidecars: list pods: timeout"
    )
    assert world.condition("ProxySidecarRestartSucceeded")["reason"] == "ProxySidecarRestartFailed"


async def test_experimental_fields_without_the_experimental_flavour_warn_but_stay_ready() -> None:
    world = World()
    world.cr({"experimental": {"pilot": {"enableAlphaGatewayAPI": True}}})

    result = await world.reconcile()

    assert world.stored()["status"]["state"] == "Warning"
    assert world.stored()["status"]["description"] == (
        "Experimental features are not supported in this image flavour: "
        "istio CR contains experimental feature"
    )
    assert world.condition("Ready")["status"] == "True"
    assert result.requeue_after is None


async def test_a_refused_version_names_the_path_in_an_event_and_installs_nothing() -> None:
    world = World()
    last = json.dumps({"config": {}, "IstioTag": "1.21.0-distroless"})
    world.cr(annotations={names.LAST_APPLIED_ANNOTATION: last})

    await world.reconcile()

    assert world.condition("Ready")["reason"] == "IstioVersionUpdateNotAllowed"
    assert world.installer.installs == []
    assert any(
        reason == "IstioVersionUpdateNotAllowed" and "1.22" in message
        for _, reason, message in world.events.posted
    )


async def test_a_later_patch_of_the_line_is_kept_as_installed_not_refused() -> None:
    """Kyma 1.27.2 runs 1.29.2 where the default line is 1.29.1: the pass keeps 1.29.2's images."""
    major, minor, patch = DEFAULT_LINE.version.split(".")
    later = f"{major}.{minor}.{int(patch) + 1}-distroless"
    world = World()
    world.installer.on_install = lambda _: istio_pods(world.kube, later)
    world.cr(annotations={names.LAST_APPLIED_ANNOTATION: json.dumps({"config": {}, "IstioTag": later})})

    result = await world.reconcile()

    assert result.state is not None and result.state.value == "Ready", result.description
    assert [iop["spec"]["tag"] for iop in world.installer.installs] == [later]
    recorded = json.loads(world.stored()["metadata"]["annotations"][names.LAST_APPLIED_ANNOTATION])
    assert recorded["IstioTag"] == later


async def test_deleting_a_cr_that_never_installed_needs_no_uninstall() -> None:
    world = World()
    world.cr(deletionTimestamp="2026-01-01T00:00:01Z", finalizers=["someone.else/keep"])

    result = await world.reconcile()

    assert world.condition("Ready")["reason"] == "IstioInstallNotNeeded"
    assert world.stored()["status"]["state"] == "Deleting"
    assert world.installer.uninstalls == 0
    assert result.requeue_after is None


async def test_uninstall_releases_our_finalizer_and_stops_while_another_party_holds_the_cr() -> None:
    world = World()
    world.cr(deletionTimestamp="2026-01-01T00:00:01Z", finalizers=[names.FINALIZER, "someone.else/keep"])

    await world.reconcile()

    cr = world.stored()
    assert cr["metadata"]["finalizers"] == ["someone.else/keep"]
    assert world.installer.uninstalls == 1
    assert world.installer.installs == []
    assert world.condition("Ready")["reason"] == "IstioUninstallSucceeded"
    assert world.kube.stored(kinds.NAMESPACE, names.ISTIO_NAMESPACE) is None


async def test_uninstall_leaves_the_charts_istio_system_which_holds_the_operators_role() -> None:
    world = World()
    shipped = {"name": names.ISTIO_NAMESPACE, "annotations": {names.KEEP_ON_UNINSTALL_ANNOTATION: "true"}}
    world.kube.put(kinds.NAMESPACE, {"metadata": shipped})
    world.cr(deletionTimestamp="2026-01-01T00:00:01Z", finalizers=[names.FINALIZER])

    result = await world.reconcile()

    assert result.state is None
    assert world.installer.uninstalls == 1
    assert world.kube.stored(kinds.NAMESPACE, names.ISTIO_NAMESPACE) is not None


async def test_uninstall_removes_the_cr_when_ours_was_the_last_finalizer() -> None:
    world = World()
    world.cr(deletionTimestamp="2026-01-01T00:00:01Z", finalizers=[names.FINALIZER])

    result = await world.reconcile()

    assert result.state is None
    assert world.kube.stored(kinds.ISTIO, "default", NS) is None


async def test_a_failed_uninstall_is_an_error() -> None:
    world = World()
    world.installer.uninstall_result = InstallOutcome(False, 2.0, "istioctl uninstall exited with 1")
    world.cr(deletionTimestamp="2026-01-01T00:00:01Z", finalizers=[names.FINALIZER])

    await world.reconcile()

    assert (
        world.stored()["status"]["description"]
        == "Could not uninstall istio: istioctl uninstall exited with 1"
    )
    assert names.FINALIZER in world.stored()["metadata"]["finalizers"]


async def test_user_istio_resources_block_deletion_and_are_named() -> None:
    world = World()
    world.kube.put(kinds.CRD, {"metadata": {"name": "virtualservices.networking.istio.io"}})
    world.kube.put(VIRTUAL_SERVICE, {"metadata": {"name": "shop", "namespace": "app"}})
    world.cr(deletionTimestamp="2026-01-01T00:00:01Z", finalizers=[names.FINALIZER])

    result = await world.reconcile()

    status = world.stored()["status"]
    assert status["state"] == "Warning"
    assert status["description"].endswith("Blocking: VirtualService app/shop")
    assert world.condition("Ready")["reason"] == "IstioCustomResourcesDangling"
    assert world.installer.uninstalls == 0
    assert any(reason == "DeletionBlocked" for _, reason, _ in world.events.posted)
    assert result.requeue_after == pipeline.WARNING_REQUEUE_S


async def test_a_failed_check_for_user_resources_is_an_error() -> None:
    world = World()
    world.kube.fail[("get", "customresourcedefinitions")] = errors.Forbidden("crds: forbidden")
    world.cr(deletionTimestamp="2026-01-01T00:00:01Z", finalizers=[names.FINALIZER])

    await world.reconcile()

    assert world.stored()["status"]["description"] == (
        "Could not get customer resources from the cluster: crds: forbidden"
    )


async def test_managed_peer_authentication_is_created_and_an_edit_is_reverted() -> None:
    world = World()
    world.cr()
    await world.reconcile()
    pa = world.kube.stored(PEER_AUTHENTICATION, "default", names.ISTIO_NAMESPACE)
    assert pa is not None and pa["spec"] == {"mtls": {"mode": "STRICT"}}
    pa["spec"] = {"mtls": {"mode": "PERMISSIVE"}}

    await world.reconcile(resync=True)

    reverted = world.kube.stored(PEER_AUTHENTICATION, "default", names.ISTIO_NAMESPACE)
    assert reverted is not None and reverted["spec"] == {"mtls": {"mode": "STRICT"}}


async def test_an_unreadable_last_applied_annotation_does_not_block_deletion() -> None:
    world = World()
    world.cr(
        annotations={names.LAST_APPLIED_ANNOTATION: "{not json"},
        deletionTimestamp="2026-01-01T00:00:01Z",
        finalizers=[names.FINALIZER],
    )

    result = await world.reconcile()

    assert result.state is None
    assert world.installer.uninstalls == 1
    assert world.kube.stored(kinds.ISTIO, "default", NS) is None


async def test_warnings_that_a_retry_may_clear_are_retried_on_the_warning_backoff() -> None:
    world = World()
    world.kube.put(kinds.CRD, {"metadata": {"name": "virtualservices.networking.istio.io"}})
    world.kube.put(VIRTUAL_SERVICE, {"metadata": {"name": "shop", "namespace": "app"}})
    world.cr(deletionTimestamp="2026-01-01T00:00:01Z", finalizers=[names.FINALIZER])

    blocked = await world.reconcile()
    del world.kube.objects[(VIRTUAL_SERVICE.plural, "app", "shop")]
    released = await world.reconcile()

    assert blocked.warning
    assert not blocked.failed
    assert released.state is None
    assert world.installer.uninstalls == 1


async def test_a_chunk_whose_rollout_is_not_healthy_in_time_requeues_after_the_partial_wait() -> None:
    world = World(settings=Settings(restart_limit=1, restart_wave_timeout_s=0.05))
    world.outdated_workload("a", rolls_out=False)
    world.outdated_workload("b", rolls_out=False)
    world.cr()

    result = await world.reconcile()

    assert result.state is not None and result.state.value == "Processing"
    assert result.requeue_after == Settings().partial_requeue_s == 60
    assert world.condition("Ready")["reason"] == "ReconcileRequeued"
    assert [reason for _, reason, _ in world.events.posted].count("RolloutSlow") == 1


async def test_a_chunk_is_waited_for_to_the_end_but_a_complete_plan_is_not() -> None:
    world = World(settings=Settings(restart_limit=2, restart_wave_size=1, restart_wave_timeout_s=0.05))
    world.outdated_workload("a", rolls_out=False)
    world.outdated_workload("b", rolls_out=False)
    world.cr()

    result = await world.reconcile()

    # Two owners in two waves, nothing left for a later pass: only the first wave is waited for.
    assert result.state is not None and result.state.value == "Ready"
    assert [reason for _, reason, _ in world.events.posted].count("RolloutSlow") == 1


async def test_continuation_passes_of_a_chunked_restart_install_once_and_restart_the_gateway_once() -> None:
    world = World(settings=Settings(restart_limit=1))
    for name in ("a", "b", "c"):
        world.outdated_workload(name)
    world.cr({"config": {"numTrustedProxies": 2}})

    states = [(await world.reconcile()).state for _ in range(4)]

    gateway_patches = [p for p in world.kube.patches if p[:2] == ("deployments", names.INGRESS_GATEWAY)]
    assert states[-1] is not None
    assert states[-1].value == "Ready"
    assert "Processing" in [s.value for s in states if s is not None]
    assert len(world.installer.installs) == 1
    assert len(gateway_patches) == 1


def _pod_of_a_bare_replicaset(world: World, name: str) -> None:
    """A ReplicaSet nobody owns: its pods can only be replaced by eviction."""
    world.kube.put(kinds.REPLICASET, {"metadata": {"name": name, "namespace": "app"}})
    owner = {
        "kind": "ReplicaSet",
        "name": name,
        "apiVersion": "apps/v1",
        "uid": f"uid-{name}",
        "controller": True,
    }
    world.kube.put(
        kinds.POD,
        {
            "metadata": {
                "name": f"{name}-pod",
                "namespace": "app",
                "ownerReferences": [owner],
                "annotations": {names.SIDECAR_STATUS_ANNOTATION: "{}"},
            },
            "spec": {"containers": [{"name": "istio-proxy", "image": OLD_PROXY}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        },
    )


async def test_an_eviction_a_pdb_refuses_waits_in_processing_naming_workload_and_budget() -> None:
    world = World()
    _pod_of_a_bare_replicaset(world, "shop")
    world.cr()
    world.kube.fail[("evict", "pods")] = errors.DisruptionRefused(
        "evict Pod app/shop-pod: Cannot evict pod as it would violate the pod's disruption budget. "
        "The disruption budget shop-pdb needs 1 healthy pods and has 1 currently"
    )

    held = await world.reconcile()

    status = world.stored()["status"]
    assert held.state is not None and held.state.value == "Processing"
    assert not held.failed
    assert held.requeue_after == 60
    assert "ReplicaSet app/shop" in status["description"]
    assert "shop-pdb" in status["description"]
    assert "shop-pdb" in world.condition("ProxySidecarRestartSucceeded")["message"]
    assert any(reason == "EvictionHeld" for _, reason, _ in world.events.posted)

    del world.kube.fail[("evict", "pods")]
    allowed = await world.reconcile()

    assert allowed.state is not None and allowed.state.value == "Ready"
    assert world.kube.stored(kinds.POD, "shop-pod", "app") is None

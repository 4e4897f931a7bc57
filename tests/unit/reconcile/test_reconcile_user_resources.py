"""User EnvoyFilters on the ingress gateway and the oldest-CR rule's missing CR, through the real pipeline
with in-memory fakes: the Warning, the ``IngressTargetingUserResourceFound`` condition in its three
statuses, the retry that clears it, and that the detection never fails a pass."""

from __future__ import annotations

from typing import Any

from reconcile_fakes import FakeKube
from test_reconcile_pipeline_reasons import World

from kyma_istio.api import names
from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.kinds import Kind
from kyma_istio.reconcile import pipeline
from kyma_istio.resources.user_targeting import ENVOY_FILTER

TARGETING = "IngressTargetingUserResourceFound"
PREFIX = "misconfigured EnvoyFilter can potentially break Istio Ingress Gateway: "


def user_filter(world: World, name: str = "lua", **meta: Any) -> None:
    world.kube.put(
        ENVOY_FILTER,
        {
            "metadata": {"name": name, "namespace": names.ISTIO_NAMESPACE, **meta},
            "spec": {"workloadSelector": {"labels": {"istio": "ingressgateway"}}, "configPatches": []},
        },
    )


def remove_filter(world: World, name: str = "lua") -> None:
    del world.kube.objects[(ENVOY_FILTER.plural, names.ISTIO_NAMESPACE, name)]


def fail_detection(world: World, error: errors.ClusterError | None) -> None:
    """Make the detection's listing (all EnvoyFilters of istio-system, no label selector) raise ``error``;
    the module's own label-selected listings of EnvoyFilters keep working. None: stop failing."""
    kube = world.kube
    original = FakeKube.list_all.__get__(kube)

    async def list_all(kind: Kind, **kw: Any) -> list[dict[str, Any]]:
        if error is not None and kind.plural == ENVOY_FILTER.plural and not kw.get("labels"):
            raise error
        return await original(kind, **kw)

    kube.list_all = list_all  # type: ignore[method-assign]


def found_events(world: World) -> list[tuple[str, str, str]]:
    return [event for event in world.events.posted if event[1] == "IngressTargetingUserResourceFound"]


async def test_a_pass_without_user_filters_is_ready_with_the_condition_false() -> None:
    world = World()
    world.cr()

    result = await world.reconcile()

    assert result.state is not None and result.state.value == "Ready"
    condition = world.condition(TARGETING)
    assert (condition["status"], condition["reason"], condition["message"]) == (
        "False",
        "IngressTargetingUserResourceNotFound",
        "Resources targeting Istio Ingress Gateway not found",
    )
    assert found_events(world) == []


async def test_the_not_found_condition_is_written_once_and_a_quiet_pass_writes_nothing() -> None:
    world = World()
    world.cr()
    await world.reconcile()
    before = world.stored()["status"]
    writes = world.kube.writes

    await world.reconcile()
    await world.reconcile()

    assert world.kube.writes == writes
    assert world.stored()["status"] == before


async def test_a_user_filter_on_the_gateway_turns_ready_into_a_warning_naming_it() -> None:
    world = World()
    user_filter(world)
    world.cr()

    result = await world.reconcile()

    status = world.stored()["status"]
    assert status["state"] == "Warning"
    assert status["description"] == (
        f"{PREFIX}user-created EnvoyFilter istio-system/lua targeting Ingress Gateway found"
    )
    condition = world.condition(TARGETING)
    assert (condition["status"], condition["reason"], condition["message"]) == (
        "True",
        "IngressTargetingUserResourceFound",
        "Resource targeting Istio Ingress Gateway found",
    )
    # Istio is installed all the same: Ready holds, and the last-applied configuration is recorded.
    assert (world.condition("Ready")["status"], world.condition("Ready")["reason"]) == (
        "True",
        "ReconcileSucceeded",
    )
    assert names.LAST_APPLIED_ANNOTATION in world.stored()["metadata"]["annotations"]
    assert result.warning and not result.failed
    assert result.requeue_after == pipeline.WARNING_REQUEUE_S
    assert result.description == status["description"]
    [(type_, _, message)] = found_events(world)
    assert type_ == "Warning" and "istio-system/lua" in message


async def test_several_filters_are_named_up_to_three_and_counted_beyond() -> None:
    world = World()
    for name in ("e", "d", "c", "b", "a"):
        user_filter(world, name)
    world.cr()

    await world.reconcile()

    assert world.stored()["status"]["description"] == (
        f"{PREFIX}user-created EnvoyFilters istio-system/a, istio-system/b, istio-system/c and 2 more "
        "targeting Ingress Gateway found"
    )
    [(_, _, message)] = found_events(world)
    assert all(f"istio-system/{name}" in message for name in "abcde")


async def test_the_modules_own_and_rate_limit_filters_do_not_warn() -> None:
    world = World()
    user_filter(world, "ours", labels={names.MODULE_LABEL: names.MODULE_LABEL_VALUE})
    owner = {"apiVersion": "gateway.kyma-project.io/v1alpha1", "kind": "RateLimit", "name": "r", "uid": "1"}
    user_filter(world, "limited", ownerReferences=[owner])
    world.cr()

    result = await world.reconcile()

    assert result.state is not None and result.state.value == "Ready"
    assert world.condition(TARGETING)["reason"] == "IngressTargetingUserResourceNotFound"


async def test_a_retry_that_finds_the_same_filter_writes_nothing_and_flashes_no_processing() -> None:
    world = World()
    user_filter(world)
    world.cr()
    await world.reconcile()
    before = world.stored()["status"]
    writes = world.kube.writes

    again = await world.reconcile()

    assert again.warning
    assert world.kube.writes == writes
    assert world.stored()["status"] == before
    assert len(found_events(world)) == 1
    assert len(world.installer.installs) == 1


async def test_removing_the_filter_clears_the_warning_on_the_next_pass() -> None:
    world = World()
    user_filter(world)
    world.cr()
    await world.reconcile()
    remove_filter(world)
    status_patches = len([p for p in world.kube.patches if "status" in p[2]])

    result = await world.reconcile()

    assert result.state is not None and result.state.value == "Ready"
    assert not result.warning
    status = world.stored()["status"]
    assert (status["state"], status["description"]) == ("Ready", "")
    assert world.condition(TARGETING)["status"] == "False"
    assert world.condition(TARGETING)["reason"] == "IngressTargetingUserResourceNotFound"
    # One write: straight from Warning to Ready, without a Processing in between.
    assert len([p for p in world.kube.patches if "status" in p[2]]) == status_patches + 1
    assert len(world.installer.installs) == 1


async def test_a_filter_added_later_is_found_by_the_next_pass() -> None:
    world = World()
    world.cr()
    await world.reconcile()
    user_filter(world)

    result = await world.reconcile()

    assert result.warning
    assert world.stored()["status"]["state"] == "Warning"
    assert world.condition(TARGETING)["status"] == "True"


async def test_a_failed_listing_is_unknown_with_the_cause_and_does_not_fail_the_pass() -> None:
    world = World()
    fail_detection(world, errors.Forbidden("envoyfilters is forbidden"))
    world.cr()

    result = await world.reconcile()

    assert result.state is not None and result.state.value == "Ready"
    assert not result.failed and not result.warning
    condition = world.condition(TARGETING)
    assert (condition["status"], condition["reason"]) == (
        "Unknown",
        "IngressTargetingUserResourceDetectionFailed",
    )
    assert condition["message"] == (
        "Resource targeting Istio Ingress Gateway detection failed: "
        "could not list EnvoyFilters: envoyfilters is forbidden"
    )
    assert world.condition("Ready")["reason"] == "ReconcileSucceeded"


async def test_a_listing_that_works_again_sets_the_condition_false() -> None:
    world = World()
    fail_detection(world, errors.Transient("timeout"))
    world.cr()
    await world.reconcile()
    assert world.condition(TARGETING)["status"] == "Unknown"
    fail_detection(world, None)

    await world.reconcile()

    assert world.condition(TARGETING)["reason"] == "IngressTargetingUserResourceNotFound"


async def test_a_missing_envoy_filter_kind_means_none_found() -> None:
    world = World()
    fail_detection(world, errors.NotFound("the server could not find the requested resource"))
    world.cr()

    result = await world.reconcile()

    assert result.state is not None and result.state.value == "Ready"
    assert world.condition(TARGETING)["reason"] == "IngressTargetingUserResourceNotFound"


async def test_an_error_pass_keeps_its_error_and_does_not_look_for_filters() -> None:
    world = World()
    user_filter(world)
    world.cr({"config": {"numTrustedProxies": 2}})
    world.kube.fail[("patch", "deployments")] = errors.ClusterError("denied")

    result = await world.reconcile()

    assert result.failed
    assert world.stored()["status"]["state"] == "Error"
    assert world.stored()["status"]["description"] == "Failed to restart Ingress Gateway: denied"
    assert TARGETING not in [c["type"] for c in world.stored()["status"]["conditions"]]


async def test_user_filters_never_block_the_uninstall() -> None:
    world = World()
    user_filter(world)
    fail_detection(world, errors.Transient("timeout"))
    world.cr(deletionTimestamp="2026-01-01T00:00:01Z", finalizers=[names.FINALIZER])

    result = await world.reconcile()

    assert result.state is None
    assert world.installer.uninstalls == 1


async def test_a_filter_together_with_experimental_fields_warns_of_the_filter_and_is_retried() -> None:
    world = World()
    user_filter(world)
    world.cr({"experimental": {"pilot": {"enableAlphaGatewayAPI": True}}})

    result = await world.reconcile()

    assert result.warning
    assert world.stored()["status"]["description"].startswith(PREFIX)
    remove_filter(world)

    cleared = await world.reconcile()

    assert not cleared.warning and cleared.requeue_after is None
    assert world.stored()["status"]["description"].startswith("Experimental features are not supported")


# --- the oldest-CR rule ------------------------------------------------------------------------------


async def test_a_cr_missing_from_the_list_of_crs_is_oldest_cr_not_found_and_retried() -> None:
    world = World()
    world.cr()
    original = world.kube.list_all

    async def list_without_crs(kind: Kind, **kw: Any) -> list[dict[str, Any]]:
        return [] if kind.plural == kinds.ISTIO.plural else await original(kind, **kw)

    world.kube.list_all = list_without_crs  # type: ignore[method-assign]

    result = await world.reconcile()

    status = world.stored()["status"]
    assert status["state"] == "Warning"
    assert status["description"] == "Stopped Istio CR reconciliation: no oldest Istio CR found"
    assert (world.condition("Ready")["status"], world.condition("Ready")["reason"]) == (
        "False",
        "OldestCRNotFound",
    )
    assert world.condition("Ready")["message"] == "Oldest Istio custom resource could not be found"
    assert result.warning and not result.failed
    assert world.installer.installs == []


async def test_a_cr_deleted_between_read_and_list_ends_quietly() -> None:
    world = World()
    world.cr()
    kube: FakeKube = world.kube
    original = kube.list_all

    async def delete_then_list(kind: Kind, **kw: Any) -> list[dict[str, Any]]:
        if kind.plural == kinds.ISTIO.plural:
            kube.objects.pop((kinds.ISTIO.plural, names.OPERATOR_NAMESPACE, "default"), None)
        return await original(kind, **kw)

    kube.list_all = delete_then_list  # type: ignore[method-assign]

    result = await world.reconcile()

    assert result.warning
    assert kube.stored(kinds.ISTIO, "default", names.OPERATOR_NAMESPACE) is None
    kube.list_all = original  # type: ignore[method-assign]
    assert (await world.reconcile()).state is None

"""Maintenance windows and exclusions through whole passes, with in-memory fakes and a clock the test
moves: who restarts when, what the CR says, which Events are posted, when the next pass comes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from reconcile_world import World

from kyma_istio.api import names
from kyma_istio.k8s import kinds
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.reconcile.context import Settings
from kyma_istio.restart import windows
from kyma_istio.restart.policy import EXCLUDE_ANNOTATION, WINDOW_ANNOTATION

SAT_NOON = datetime(2026, 12, 12, 12, 0, tzinfo=UTC)
EVENING = "Sat 18:00-20:00"
OPENS = datetime(2026, 12, 12, 18, 0, tzinfo=UTC)
"""Six hours after noon: sooner than the periodic pass (10 h), so the next pass comes when it opens."""


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _world(settings: Settings | None = None) -> tuple[World, Clock]:
    world = World(settings=settings)
    clock = Clock(SAT_NOON)
    world.deps = type(world.deps)(
        kube=world.deps.kube,
        installer=world.deps.installer,
        events=world.deps.events,
        settings=world.deps.settings,
        clock=clock,
    )
    last = json.dumps({"config": {}, "IstioTag": DEFAULT_LINE.tag})
    world.cr(annotations={names.LAST_APPLIED_ANNOTATION: last})
    return world, clock


def _annotate(world: World, kind: kinds.Kind, name: str, namespace: str | None, **annotations: str) -> None:
    stored = world.kube.objects[(kind.plural, namespace, name)]
    stored["metadata"].setdefault("annotations", {}).update(annotations)


def _restarted(world: World) -> set[str]:
    return {
        name
        for plural, name, _ in world.kube.patches
        if plural == "deployments" and name != "istio-ingressgateway"
    }


async def test_an_upgrade_restarts_the_plain_one_waits_for_the_window_and_never_touches_the_excluded() -> (
    None
):
    world, clock = _world()
    for name in ("plain", "windowed", "excluded"):
        world.outdated_workload(name)
    _annotate(world, kinds.DEPLOYMENT, "windowed", "app", **{WINDOW_ANNOTATION: EVENING})
    _annotate(world, kinds.DEPLOYMENT, "excluded", "app", **{EXCLUDE_ANNOTATION: "true"})

    first = await world.reconcile()

    assert first.state is not None and first.state.value == "Ready", first.description
    assert _restarted(world) == {"plain"}
    description = world.stored()["status"]["description"]
    assert description == (
        "1 workload waits for its maintenance window; the next opens Sat 2026-12-12 18:00 UTC; "
        "1 workload is excluded from restarts"
    )
    held = world.condition("SidecarRestartsHeld")
    assert (held["status"], held["reason"]) == ("True", "SidecarRestartsHeld")
    assert held["message"] == description
    assert first.requeue_after == pytest.approx((OPENS - SAT_NOON).total_seconds() + 1)
    required = [
        (on, m)
        for (_, r, m), on in zip(world.events.posted, world.events.on, strict=True)
        if r == "RestartRequired"
    ]
    assert len(required) == 1
    on, message = required[0]
    assert on == ("Deployment", "app", "excluded")
    assert "proxyv2:1.22.0-distroless" in message and f"proxyv2:{DEFAULT_LINE.tag}" in message

    clock.now = OPENS - timedelta(seconds=1)
    await world.reconcile()
    assert _restarted(world) == {"plain"}  # not a second early

    clock.now = OPENS + timedelta(seconds=1)
    second = await world.reconcile()

    assert second.state is not None and second.state.value == "Ready"
    assert _restarted(world) == {"plain", "windowed"}
    assert world.stored()["status"]["description"] == "1 workload is excluded from restarts"
    assert second.requeue_after == Settings().reconciliation_interval_s


async def test_a_namespace_sets_the_default_and_a_workloads_false_overrides_its_exclusion() -> None:
    world, _ = _world()
    world.kube.put(
        kinds.NAMESPACE, {"metadata": {"name": "app", "annotations": {EXCLUDE_ANNOTATION: "true"}}}
    )
    world.outdated_workload("kept")
    world.outdated_workload("opted-in")
    _annotate(world, kinds.DEPLOYMENT, "opted-in", "app", **{EXCLUDE_ANNOTATION: "false"})

    await world.reconcile()

    assert _restarted(world) == {"opted-in"}
    assert world.stored()["status"]["description"] == "1 workload is excluded from restarts"


async def test_the_operators_default_window_holds_workloads_that_set_none() -> None:
    world, _ = _world(Settings(restart_window=windows.parse(EVENING)))
    world.outdated_workload("plain")
    world.outdated_workload("own-window")
    _annotate(world, kinds.DEPLOYMENT, "own-window", "app", **{WINDOW_ANNOTATION: "Sat 11:00-13:00"})

    await world.reconcile()

    assert _restarted(world) == {"own-window"}
    assert "1 workload waits for its maintenance window" in world.stored()["status"]["description"]


@pytest.mark.parametrize(
    ("annotation", "value"),
    [(WINDOW_ANNOTATION, "Sat 25:00-26:00"), (WINDOW_ANNOTATION, "true"), (EXCLUDE_ANNOTATION, "yes")],
)
async def test_a_bad_annotation_restarts_nothing_and_says_why_on_the_workload(
    annotation: str, value: str
) -> None:
    world, _ = _world()
    world.outdated_workload("typo")
    _annotate(world, kinds.DEPLOYMENT, "typo", "app", **{annotation: value})

    result = await world.reconcile()

    assert result.state is not None and result.state.value == "Ready"
    assert _restarted(world) == set()
    invalid = [
        (on, m)
        for (_, r, m), on in zip(world.events.posted, world.events.on, strict=True)
        if r == "RestartConfigInvalid"
    ]
    assert [on for on, _ in invalid] == [("Deployment", "app", "typo")]
    assert annotation in invalid[0][1] and repr(value) in invalid[0][1]
    assert "does not parse" in world.stored()["status"]["description"]


async def test_a_bad_namespace_annotation_is_reported_on_the_namespace() -> None:
    world, _ = _world()
    world.kube.put(
        kinds.NAMESPACE,
        {"metadata": {"name": "app", "annotations": {WINDOW_ANNOTATION: "Funday 01:00-02:00"}}},
    )
    world.outdated_workload("plain")

    await world.reconcile()

    invalid = [
        on
        for (_, r, _), on in zip(world.events.posted, world.events.on, strict=True)
        if r == "RestartConfigInvalid"
    ]
    assert invalid == [("Namespace", "None", "app")]
    assert _restarted(world) == set()


async def test_the_condition_turns_false_once_nothing_is_held_and_is_never_written_before() -> None:
    world, clock = _world()
    world.outdated_workload("plain")
    await world.reconcile()
    assert "SidecarRestartsHeld" not in {c["type"] for c in world.stored()["status"]["conditions"]}

    world.outdated_workload("windowed")
    _annotate(world, kinds.DEPLOYMENT, "windowed", "app", **{WINDOW_ANNOTATION: EVENING})
    await world.reconcile()
    assert world.condition("SidecarRestartsHeld")["status"] == "True"

    clock.now = OPENS + timedelta(minutes=5)
    await world.reconcile()
    held = world.condition("SidecarRestartsHeld")
    assert (held["status"], held["reason"]) == ("False", "SidecarRestartsNotHeld")
    assert world.stored()["status"]["description"] == ""


async def test_a_window_shorter_than_a_rollout_may_take_warns_on_the_workload() -> None:
    world, _ = _world()
    world.outdated_workload("tight")
    world.outdated_workload("roomy")
    for name, window in (("tight", "Sat 18:00-18:05"), ("roomy", "Sat 18:00-19:00")):
        stored = world.kube.objects[(kinds.DEPLOYMENT.plural, "app", name)]
        stored["spec"]["progressDeadlineSeconds"] = 600
        stored["metadata"]["annotations"] = {WINDOW_ANNOTATION: window}

    await world.reconcile()

    short = [
        (on, m)
        for (_, r, m), on in zip(world.events.posted, world.events.on, strict=True)
        if r == "RestartWindowShort"
    ]
    assert [on for on, _ in short] == [("Deployment", "app", "tight")]
    assert "'Sat 18:00-18:05' is open 5 min" in short[0][1] and "600 s" in short[0][1]


async def test_a_spec_only_restart_held_by_a_window_is_kept_owed_until_it_happens() -> None:
    """Compatibility mode flips while a workload waits: the pass records the new spec (so the change
    no longer shows), and the CR's record of owed rules keeps the restart in force for the window."""
    world, clock = _world()
    last = json.dumps({"config": {}, "IstioTag": DEFAULT_LINE.tag})
    world.kube.objects[(kinds.ISTIO.plural, names.OPERATOR_NAMESPACE, "default")]["spec"] = {
        "compatibilityMode": True
    }
    world.kube.objects[(kinds.ISTIO.plural, names.OPERATOR_NAMESPACE, "default")]["metadata"][
        "annotations"
    ] = {names.LAST_APPLIED_ANNOTATION: last}
    world.outdated_workload("plain")
    world.outdated_workload("windowed")
    _annotate(world, kinds.DEPLOYMENT, "windowed", "app", **{WINDOW_ANNOTATION: EVENING})

    await world.reconcile()

    annotations = world.stored()["metadata"]["annotations"]
    assert annotations[names.PENDING_RESTART_RULES_ANNOTATION] == "CompatibilityModeChanged"
    assert json.loads(annotations[names.LAST_APPLIED_ANNOTATION])["compatibilityMode"] is True
    assert _restarted(world) == {"plain"}

    clock.now = OPENS + timedelta(seconds=1)
    await world.reconcile()

    assert _restarted(world) == {"plain", "windowed"}
    assert names.PENDING_RESTART_RULES_ANNOTATION not in world.stored()["metadata"]["annotations"]


def test_owed_rules_select_again_and_only_spec_rules_are_owed() -> None:
    from kyma_istio.reconcile.sidecars import SPEC_RULES, pending_rules, with_pending
    from kyma_istio.restart.predicates import Expectation, OutdatedReason
    from kyma_istio.restart.predicates.expectation import ProxyResources

    cr = {"metadata": {"annotations": {names.PENDING_RESTART_RULES_ANNOTATION: "DNSProxyingChanged,Bogus"}}}
    owed = pending_rules(cr)
    assert owed == {OutdatedReason.DNS_PROXYING_CHANGED}
    base = Expectation(image="i", resources=ProxyResources("1", "1", "1", "1"))
    forced = with_pending(base, owed)
    assert forced.dns_proxying_changed and not forced.compatibility_changed
    assert OutdatedReason.IMAGE_OUTDATED not in SPEC_RULES

"""A climb through whole passes with in-memory fakes: consent, the hops, the skew guard, resumption.

``test_upgrade``'s ladder case and ``benchmarks/climb.py`` run the same passes against the real API
server, the real istioctl of every line and the real istiod.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from reconcile_world import World, istio_pods

from kyma_istio.api import names
from kyma_istio.k8s import kinds
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.reconcile.context import InstallOutcome, Settings
from kyma_istio.restart.policy import EXCLUDE_ANNOTATION, WINDOW_ANNOTATION
from kyma_istio.restart.windows import DAYS

START = "1.27.0-distroless"
"""Two minors below the default line (1.29): one hop through 1.28, then the last."""


def _world(*, annotation: str | None = "true", settings: Settings | None = None, tag: str = START) -> World:
    world = World(settings=settings)
    world.installer.on_install = lambda iop: istio_pods(world.kube, iop["spec"]["tag"])
    istio_pods(world.kube, tag)
    annotations = {names.LAST_APPLIED_ANNOTATION: json.dumps({"config": {}, "IstioTag": tag})}
    if annotation is not None:
        annotations[names.CLIMB_ANNOTATION] = annotation
    world.cr(annotations=annotations)
    return world


def _sidecar(world: World, name: str, tag: str) -> None:
    """A running pod with a proxy of ``tag`` (a bare pod: the restarter leaves it, the guard reads it)."""
    world.kube.put(
        kinds.POD,
        {
            "metadata": {
                "name": name,
                "namespace": "app",
                "annotations": {names.SIDECAR_STATUS_ANNOTATION: "{}"},
            },
            "spec": {
                "containers": [
                    {"name": "app", "image": "app"},
                    {"name": "istio-proxy", "image": f"docker.io/istio/proxyv2:{tag}"},
                ]
            },
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        },
    )


def _annotations(world: World) -> dict[str, Any]:
    return dict(world.stored()["metadata"].get("annotations") or {})


def _applied_tag(world: World) -> str:
    return str(json.loads(_annotations(world)[names.LAST_APPLIED_ANNOTATION])["IstioTag"])


def _reasons(world: World) -> list[str]:
    return [reason for _, reason, _ in world.events.posted]


async def test_without_consent_the_rule_refuses_and_names_the_climb() -> None:
    world = _world(annotation=None)

    result = await world.reconcile()

    assert result.state is not None and result.state.value == "Warning"
    assert world.condition("Ready")["reason"] == "IstioVersionUpdateNotAllowed"
    assert world.installer.installs == []
    refusal = next(m for _, r, m in world.events.posted if r == "IstioVersionUpdateNotAllowed")
    assert names.CLIMB_ANNOTATION in refusal and "--allow-climb" in refusal


async def test_a_climb_installs_each_line_in_turn_and_ends_ready_on_the_target() -> None:
    world = _world()

    first = await world.reconcile()

    assert first.state is not None and first.state.value == "Processing"
    assert first.requeue_after == Settings().chunk_requeue_s
    assert [iop["spec"]["tag"] for iop in world.installer.installs] == ["1.28.3-distroless"]
    assert _applied_tag(world) == "1.28.3-distroless"
    assert _annotations(world)[names.CLIMB_FROM_ANNOTATION] == "1.27.0"
    status = world.stored()["status"]
    assert status["description"] == (
        "Reconciling Istio: climb hop 1 of 2: 1.27.0 -> 1.28.3 (towards 1.29.1); done; the next hop follows"
    )
    assert world.condition("Ready")["status"] == "False"

    second = await world.reconcile()

    assert second.state is not None and second.state.value == "Ready", second.description
    assert [iop["spec"]["tag"] for iop in world.installer.installs] == ["1.28.3-distroless", DEFAULT_LINE.tag]
    assert _applied_tag(world) == DEFAULT_LINE.tag
    assert names.CLIMB_FROM_ANNOTATION not in _annotations(world)
    assert _reasons(world).count("IstioClimbHopStarted") == 2
    assert _reasons(world).count("IstioClimbHopSucceeded") == 2
    assert await world.reconcile() is not None
    assert len(world.installer.installs) == 2  # Ready on the target: nothing more to climb


async def test_the_operators_setting_allows_the_climb_and_the_annotation_false_refuses_it() -> None:
    allowed = _world(annotation=None, settings=Settings(allow_climb=True))
    assert (await allowed.reconcile()).state.value == "Processing"  # type: ignore[union-attr]

    refused = _world(annotation="false", settings=Settings(allow_climb=True))
    assert (await refused.reconcile()).state.value == "Warning"  # type: ignore[union-attr]
    assert refused.installer.installs == []


async def test_a_bad_annotation_value_is_a_warning_naming_it_and_installs_nothing() -> None:
    world = _world(annotation="yes")

    result = await world.reconcile()

    assert result.state is not None and result.state.value == "Warning"
    assert names.CLIMB_ANNOTATION in result.description and "'yes'" in result.description
    assert world.installer.installs == []


async def test_an_excluded_workload_a_minor_behind_holds_the_next_hop_and_is_named() -> None:
    """After hop 1 a workload still on an older proxy (its owner excluded it) would be two minors behind
    1.29: the catch-up pass may not restart it, so the climb waits in Warning naming its pod."""
    world = _world()
    await world.reconcile()  # hop 1: 1.27.0 -> 1.28.3
    world.outdated_workload("stale")  # its pod runs 1.22
    world.kube.objects[(kinds.DEPLOYMENT.plural, "app", "stale")]["metadata"]["annotations"] = {
        EXCLUDE_ANNOTATION: "true"
    }

    result = await world.reconcile()

    assert result.state is not None and result.state.value == "Warning"
    assert "climb hop 2 of 2: 1.28.3 -> 1.29.1" in result.description
    assert (
        "1 pods run a proxy older than the installed 1.28.3-distroless (app/stale-pod)" in result.description
    )
    assert world.condition("Ready")["reason"] == "IstioVersionUpdateNotAllowed"
    assert [iop["spec"]["tag"] for iop in world.installer.installs][-1] == "1.28.3-distroless"

    world.kube.objects.pop((kinds.POD.plural, "app", "stale-pod"))  # restarted by hand
    resumed = await world.reconcile()
    assert resumed.state is not None and resumed.state.value == "Ready", resumed.description


async def test_a_workload_behind_is_restarted_first_and_the_hop_follows() -> None:
    world = _world()
    await world.reconcile()  # hop 1
    world.outdated_workload("late")
    patch = world.kube.patch

    async def rolling_patch(kind: Any, name: str, body: Any, **kw: Any) -> Any:
        """The rollout a real cluster would run: the restarted Deployment's pod gets the new proxy."""
        result = await patch(kind, name, body, **kw)
        if kind is kinds.DEPLOYMENT and name == "late":
            pod = world.kube.objects[(kinds.POD.plural, "app", "late-pod")]
            pod["spec"]["containers"][1]["image"] = "docker.io/istio/proxyv2:1.28.3-distroless"
        return result

    world.kube.patch = rolling_patch  # type: ignore[method-assign]

    caught_up = await world.reconcile()

    assert caught_up.state is not None and caught_up.state.value == "Processing", caught_up.description
    assert (
        "the proxies behind the installed release were restarted" in world.stored()["status"]["description"]
    )
    assert [name for plural, name, _ in world.kube.patches if plural == "deployments"].count("late") == 1
    assert [iop["spec"]["tag"] for iop in world.installer.installs] == ["1.28.3-distroless"]

    hop = await world.reconcile()
    assert hop.state is not None and hop.state.value == "Ready", hop.description
    assert [iop["spec"]["tag"] for iop in world.installer.installs][-1] == DEFAULT_LINE.tag


async def test_a_workload_behind_waiting_for_its_window_makes_the_climb_wait_without_a_warning() -> None:
    world = _world()
    await world.reconcile()  # hop 1
    world.outdated_workload("windowed")
    now = datetime.now(UTC)
    opens = (now + timedelta(hours=2)).replace(second=0, microsecond=0)
    closes = opens + timedelta(hours=1)
    window = f"{DAYS[opens.weekday()]} {opens:%H:%M}-{closes:%H:%M}"
    world.kube.objects[(kinds.DEPLOYMENT.plural, "app", "windowed")]["metadata"]["annotations"] = {
        WINDOW_ANNOTATION: window
    }

    result = await world.reconcile()

    assert result.state is not None and result.state.value == "Processing", result.description
    description = world.stored()["status"]["description"]
    assert (
        "climb hop 2 of 2" in description and "waits for maintenance windows before it starts" in description
    )
    assert result.requeue_after is not None and result.requeue_after <= 2 * 3600 + 2
    assert "windowed" not in [name for plural, name, _ in world.kube.patches if plural == "deployments"]


async def test_a_failed_hop_is_an_error_naming_the_hop_and_the_next_pass_retries_it() -> None:
    world = _world()
    world.installer.install_result = InstallOutcome(False, 2.0, "istioctl of Istio 1.28.3 not found")

    result = await world.reconcile()

    assert result.state is not None and result.state.value == "Error"
    assert result.description.endswith("(climb hop 1 of 2: 1.27.0 -> 1.28.3 (towards 1.29.1))")
    assert "istioctl of Istio 1.28.3 not found" in result.description
    assert _applied_tag(world) == START

    world.installer.install_result = InstallOutcome(True, 1.0, "")
    again = await world.reconcile()
    assert again.state is not None and again.state.value == "Processing"
    assert [iop["spec"]["tag"] for iop in world.installer.installs] == ["1.28.3-distroless"] * 2


async def test_a_resumed_climb_numbers_its_hop_from_the_recorded_start() -> None:
    world = _world()
    world.kube.objects[(kinds.ISTIO.plural, names.OPERATOR_NAMESPACE, "default")]["metadata"]["annotations"][
        names.CLIMB_FROM_ANNOTATION
    ] = "1.24.2"

    await world.reconcile()

    assert "climb hop 4 of 5: 1.27.0 -> 1.28.3" in world.stored()["status"]["description"]
    assert _annotations(world)[names.CLIMB_FROM_ANNOTATION] == "1.24.2"


async def test_a_terminating_old_pod_does_not_hold_the_climb() -> None:
    world = _world()
    await world.reconcile()  # hop 1
    _sidecar(world, "leaving", "1.27.0-distroless")
    stored = world.kube.objects[(kinds.POD.plural, "app", "leaving")]
    stored["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"

    result = await world.reconcile()

    assert result.state is not None and result.state.value == "Ready", result.description

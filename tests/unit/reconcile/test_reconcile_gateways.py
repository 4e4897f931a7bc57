"""Gateway restarts for the settings a gateway reads at start-up: ingress as Kyma 1.30, egress beyond it.

Through the real pipeline with in-memory fakes: which Deployments are rolled, the Events and conditions,
and the records that keep a continuation pass from rolling a gateway twice.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_reconcile_pipeline_reasons import World

from kyma_istio.api import names
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.k8s import errors, kinds
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.mesh.lastapplied import render_last_applied


def _egress(world: World) -> None:
    world.kube.put(
        kinds.DEPLOYMENT,
        {
            "metadata": {"name": names.EGRESS_GATEWAY, "namespace": names.ISTIO_NAMESPACE, "generation": 1},
            "spec": {"template": {"metadata": {}}},
        },
    )


def _rolled(world: World, deployment: str) -> int:
    return len([p for p in world.kube.patches if p[:2] == ("deployments", deployment)])


async def _settled(world: World, spec: dict[str, Any]) -> None:
    """A CR installed and Ready with ``spec``, then the fakes' history forgotten."""
    world.cr(spec)
    assert (await world.reconcile()).state is not None
    world.kube.patches.clear()
    world.events.posted.clear()


async def _change(world: World, spec: dict[str, Any]) -> None:
    cr = world.stored()
    world.kube.put(kinds.ISTIO, {**cr, "spec": spec})


@pytest.mark.parametrize(
    "config",
    [
        {"trustDomain": "example.org"},
        {"forwardClientCertDetails": "SANITIZE"},
        {"proxyStatsMatcher": {"inclusionRegexps": [".*outlier.*"]}},
        {"numTrustedProxies": 3},
    ],
    ids=["trustDomain", "xfcc", "statsMatcher", "numTrustedProxies"],
)
async def test_a_gateway_setting_change_rolls_both_gateways_once(config: dict[str, Any]) -> None:
    world = World()
    _egress(world)
    await _settled(world, {})

    await _change(world, {"config": config})
    for _ in range(2):
        await world.reconcile()

    assert (_rolled(world, names.INGRESS_GATEWAY), _rolled(world, names.EGRESS_GATEWAY)) == (1, 1)
    reasons = [reason for _, reason, _ in world.events.posted]
    assert reasons.count("IngressGatewayRestarted") == 1
    assert reasons.count("EgressGatewayRestarted") == 1
    message = next(m for _, r, m in world.events.posted if r == "EgressGatewayRestarted")
    assert message.startswith(next(iter(config)))
    annotations = world.stored()["metadata"]["annotations"]
    assert (
        annotations[names.GATEWAY_RESTARTED_FOR_ANNOTATION]
        == annotations[names.EGRESS_GATEWAY_RESTARTED_FOR_ANNOTATION]
    )
    assert world.stored()["status"]["state"] == "Ready"


async def test_settings_the_gateways_do_not_read_roll_neither() -> None:
    world = World()
    _egress(world)
    await _settled(world, {})

    await _change(
        world, {"config": {"enableDNSProxying": True, "telemetry": {"metrics": {"prometheusMerge": True}}}}
    )
    await world.reconcile()

    assert (_rolled(world, names.INGRESS_GATEWAY), _rolled(world, names.EGRESS_GATEWAY)) == (0, 0)


async def test_reordered_stats_regexps_roll_nothing() -> None:
    world = World()
    _egress(world)
    await _settled(world, {"config": {"proxyStatsMatcher": {"inclusionRegexps": ["a.*", "b.*"]}}})

    await _change(world, {"config": {"proxyStatsMatcher": {"inclusionRegexps": ["b.*", "a.*"]}}})
    await world.reconcile()

    assert (_rolled(world, names.INGRESS_GATEWAY), _rolled(world, names.EGRESS_GATEWAY)) == (0, 0)


async def test_without_an_egress_gateway_only_the_ingress_one_rolls_and_both_are_recorded() -> None:
    world = World()
    await _settled(world, {})

    await _change(world, {"config": {"trustDomain": "example.org"}})
    result = await world.reconcile()

    assert result.state is not None and result.state.value == "Ready"
    assert _rolled(world, names.INGRESS_GATEWAY) == 1
    assert [r for _, r, _ in world.events.posted].count("EgressGatewayRestarted") == 0
    annotations = world.stored()["metadata"]["annotations"]
    assert annotations[names.EGRESS_GATEWAY_RESTARTED_FOR_ANNOTATION] == "unset;trustDomain=example.org"


async def test_a_failed_egress_restart_is_an_error_with_the_egress_reason() -> None:
    world = World()
    _egress(world)
    await _settled(world, {})
    original = world.kube.patch

    async def patch(kind: Any, name: str, body: Any, **kw: Any) -> dict[str, Any]:
        if name == names.EGRESS_GATEWAY:
            raise errors.ClusterError("denied")
        return await original(kind, name, body, **kw)

    world.kube.patch = patch  # type: ignore[method-assign]
    await _change(world, {"config": {"trustDomain": "example.org"}})
    await world.reconcile()

    status = world.stored()["status"]
    assert status["state"] == "Error"
    assert status["description"] == "Failed to restart Egress Gateway: denied"
    assert world.condition("Ready")["reason"] == "EgressGatewayRestartFailed"
    # The ingress gateway succeeded and is recorded; only the egress one is tried again.
    annotations = world.stored()["metadata"]["annotations"]
    assert names.GATEWAY_RESTARTED_FOR_ANNOTATION in annotations
    assert names.EGRESS_GATEWAY_RESTARTED_FOR_ANNOTATION not in annotations


async def test_a_takeover_from_kyma_with_matching_settings_rolls_no_gateway() -> None:
    world = World()
    _egress(world)
    spec = {
        "config": {
            "trustDomain": "example.org",
            "forwardClientCertDetails": "SANITIZE",
            "numTrustedProxies": 1,
        }
    }
    # Kyma 1.30's serialisation: telemetry always present, no records of ours.
    kyma = (
        '{"config":{"numTrustedProxies":1,"forwardClientCertDetails":"SANITIZE","telemetry":{"metrics":{}},'
        '"trustDomain":"example.org"},"IstioTag":"' + DEFAULT_LINE.tag + '"}'
    )
    world.cr(spec, annotations={names.LAST_APPLIED_ANNOTATION: kyma})

    await world.reconcile()

    assert (_rolled(world, names.INGRESS_GATEWAY), _rolled(world, names.EGRESS_GATEWAY)) == (0, 0)
    assert (
        render_last_applied(IstioSpec.model_validate(spec), DEFAULT_LINE.tag)
        == world.stored()["metadata"]["annotations"][names.LAST_APPLIED_ANNOTATION]
    )

"""What an up-to-date sidecar looks like after a pass (spec 6.2), from the installed IstioOperator, the
CR's spec against the last applied one, and the mesh's status port."""

from typing import Any

import pytest
import yaml
from reconcile_fakes import FakeKube

from kyma_istio.api import names
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.k8s import errors, kinds
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.mesh.lastapplied import LastApplied
from kyma_istio.mesh.merge import merge
from kyma_istio.mesh.profile import CloudProvider, Flavour, Profile
from kyma_istio.reconcile.sidecars import (
    MESH_CONFIG_MAP,
    expectation_for,
    read_status_port,
    status_port_of,
)
from kyma_istio.reconcile.steps import Installed
from kyma_istio.restart.predicates import Expectation
from kyma_istio.restart.predicates.expectation import DEFAULT_STATUS_PORT, ProxyResources

# --- expectation_for ------------------------------------------------------------------------------

PRODUCTION_RESOURCES = ProxyResources(
    cpu_request="10m", memory_request="192Mi", cpu_limit="1000m", memory_limit="1024Mi"
)


def step_for(spec: IstioSpec, last: IstioSpec | None = None) -> Installed:
    applied = None if last is None else LastApplied(spec=last, istio_tag="1.23.2-distroless")
    iop = merge(spec, profile=Profile.PRODUCTION, line=DEFAULT_LINE)
    return Installed({}, spec, applied, iop, "", CloudProvider.OTHER, Flavour.UNKNOWN)


def expected(spec: IstioSpec, last: IstioSpec | None = None, status_port: int = 15020) -> Expectation:
    return expectation_for(step_for(spec, last), status_port=status_port)


def compat(value: bool | None) -> IstioSpec:
    return IstioSpec() if value is None else IstioSpec(compatibility_mode=value)


def test_the_default_expectation_is_the_pinned_proxy_with_production_resources() -> None:
    expectation = expected(IstioSpec())

    assert expectation.image == f"docker.io/istio/proxyv2:{DEFAULT_LINE.tag}"
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

    resources = expected(spec).resources

    assert resources == ProxyResources(
        cpu_request="10m", memory_request="64Mi", cpu_limit="500m", memory_limit="1024Mi"
    )


def test_a_first_install_with_compatibility_mode_is_no_compatibility_change() -> None:
    expectation = expected(compat(True))

    assert not expectation.compatibility_changed
    assert expectation.compatibility_mode


@pytest.mark.parametrize(("now", "before"), [(True, None), (True, False), (False, True), (None, True)])
def test_a_compatibility_mode_different_from_the_last_applied_is_a_change(
    now: bool | None, before: bool | None
) -> None:
    expectation = expected(compat(now), compat(before))

    assert expectation.compatibility_changed
    assert expectation.compatibility_mode is bool(now)


@pytest.mark.parametrize(
    ("now", "before"), [(True, True), (False, False), (None, None), (False, None), (None, False)]
)
def test_the_same_compatibility_mode_as_last_applied_is_no_change(
    now: bool | None, before: bool | None
) -> None:
    assert not expected(compat(now), compat(before)).compatibility_changed


# --- DNS proxying, proxy stats matcher, Prometheus merge ------------------------------------------


def dns(value: bool | None) -> IstioSpec:
    if value is None:
        return IstioSpec()
    return IstioSpec.model_validate({"config": {"enableDNSProxying": value}})


def regexps(values: list[str] | None) -> IstioSpec:
    if values is None:
        return IstioSpec.model_validate({"config": {}})
    return IstioSpec.model_validate({"config": {"proxyStatsMatcher": {"inclusionRegexps": values}}})


@pytest.mark.parametrize(
    ("before", "now"),
    [(None, False), (None, True), (False, True), (True, False), (True, None), (False, None)],
    ids=["nil->false", "nil->true", "false->true", "true->false", "true->nil", "false->nil"],
)
def test_any_move_of_dns_proxying_is_a_change_unset_being_a_value_of_its_own(
    before: bool | None, now: bool | None
) -> None:
    expectation = expected(dns(now), dns(before))

    assert expectation.dns_proxying_changed
    assert expectation.dns_proxying is now


@pytest.mark.parametrize("value", [None, False, True])
def test_an_unchanged_dns_proxying_is_no_change(value: bool | None) -> None:
    expectation = expected(dns(value), dns(value))

    assert not expectation.dns_proxying_changed
    assert expectation.dns_proxying is value


def test_without_a_last_applied_spec_dns_proxying_compares_with_unset_as_the_reference_does() -> None:
    assert expected(dns(True)).dns_proxying_changed
    assert expected(dns(False)).dns_proxying_changed
    assert not expected(dns(None)).dns_proxying_changed


def test_reordered_inclusion_regexps_are_no_change_and_the_target_keeps_them_sorted() -> None:
    expectation = expected(regexps([".*b.*", ".*a.*"]), regexps([".*a.*", ".*b.*"]))

    assert not expectation.stats_matcher_changed
    assert expectation.stats_inclusion_regexps == (".*a.*", ".*b.*")


@pytest.mark.parametrize(("before", "now"), [(None, []), ([], None), (None, None), ([], [])])
def test_unset_and_empty_inclusion_regexps_are_the_same(
    before: list[str] | None, now: list[str] | None
) -> None:
    expectation = expected(regexps(now), regexps(before))

    assert not expectation.stats_matcher_changed
    assert expectation.stats_inclusion_regexps == ()


@pytest.mark.parametrize(
    ("before", "now"),
    [(None, [".*a.*"]), ([".*a.*"], None), ([".*a.*"], [".*a.*", ".*b.*"]), ([".*a.*"], [".*b.*"])],
)
def test_added_removed_or_replaced_inclusion_regexps_are_a_change(
    before: list[str] | None, now: list[str] | None
) -> None:
    assert expected(regexps(now), regexps(before)).stats_matcher_changed


def test_without_a_last_applied_spec_inclusion_regexps_compare_with_none() -> None:
    assert expected(regexps([".*a.*"])).stats_matcher_changed
    assert not expected(regexps([])).stats_matcher_changed


def test_other_changes_are_neither_a_dns_nor_a_stats_change() -> None:
    before = IstioSpec.model_validate({"config": {"numTrustedProxies": 1, "enableDNSProxying": True}})
    now = IstioSpec.model_validate(
        {"config": {"numTrustedProxies": 2, "enableDNSProxying": True}, "compatibilityMode": True}
    )

    expectation = expected(now, before)

    assert not expectation.dns_proxying_changed
    assert not expectation.stats_matcher_changed


@pytest.mark.parametrize(
    ("raw", "merge"),
    [
        ({}, False),
        ({"config": {"telemetry": {}}}, False),
        ({"config": {"telemetry": {"metrics": {}}}}, False),
        ({"config": {"telemetry": {"metrics": {"prometheusMerge": False}}}}, False),
        ({"config": {"telemetry": {"metrics": {"prometheusMerge": True}}}}, True),
    ],
)
def test_prometheus_merge_is_the_crs_setting_off_when_unset(raw: dict[str, Any], merge: bool) -> None:
    assert expected(IstioSpec.model_validate(raw)).prometheus_merge is merge


def test_the_status_port_read_by_the_pass_is_part_of_the_expectation() -> None:
    assert expected(IstioSpec()).status_port == DEFAULT_STATUS_PORT == 15020
    assert expected(IstioSpec(), status_port=15090).status_port == 15090


# --- the status port of the installed mesh config -------------------------------------------------


def mesh_config_map(mesh: object = None, **data: str) -> dict[str, Any]:
    if mesh is not None:
        data["mesh"] = mesh if isinstance(mesh, str) else yaml.safe_dump(mesh)
    return {"metadata": {"name": MESH_CONFIG_MAP, "namespace": names.ISTIO_NAMESPACE}, "data": data}


def test_the_status_port_is_read_from_the_mesh_configs_default_config() -> None:
    mesh = {"defaultConfig": {"statusPort": 15090, "discoveryAddress": "istiod.istio-system.svc:15012"}}

    assert status_port_of(mesh_config_map(mesh)) == 15090


@pytest.mark.parametrize(
    "config_map",
    [
        None,
        {"metadata": {"name": MESH_CONFIG_MAP}},
        mesh_config_map(None, meshNetworks="networks: {}"),
        mesh_config_map({"enablePrometheusMerge": False}),
        mesh_config_map({"defaultConfig": {"discoveryAddress": "istiod:15012"}}),
        mesh_config_map({"defaultConfig": {"statusPort": 0}}),
        mesh_config_map({"defaultConfig": {"statusPort": "15090"}}),
        mesh_config_map({"defaultConfig": {"statusPort": True}}),
        mesh_config_map({"defaultConfig": {"statusPort": 70000}}),
        mesh_config_map({"defaultConfig": "not a mapping"}),
        mesh_config_map("defaultConfig: [unclosed"),
        mesh_config_map("- a list, not a mesh config"),
        mesh_config_map(""),
    ],
    ids=[
        "no config map",
        "no data",
        "no mesh key",
        "no default config",
        "no status port",
        "zero",
        "a string",
        "a bool",
        "not a port",
        "default config not a mapping",
        "invalid yaml",
        "a list",
        "empty",
    ],
)
def test_a_missing_or_unreadable_status_port_is_the_default(config_map: dict[str, Any] | None) -> None:
    assert status_port_of(config_map) == 15020


async def test_the_pass_reads_the_status_port_from_the_istio_config_map_in_istio_system() -> None:
    kube = FakeKube()
    kube.put(kinds.CONFIGMAP, mesh_config_map({"defaultConfig": {"statusPort": 15090}}))

    assert await read_status_port(kube) == 15090


async def test_a_missing_mesh_config_map_gives_the_default_status_port() -> None:
    assert await read_status_port(FakeKube()) == 15020


async def test_a_mesh_config_map_that_cannot_be_read_gives_the_default_status_port() -> None:
    kube = FakeKube()
    kube.put(kinds.CONFIGMAP, mesh_config_map({"defaultConfig": {"statusPort": 15090}}))
    kube.fail[("get", "configmaps")] = errors.Forbidden("configmaps: forbidden")

    assert await read_status_port(kube) == 15020

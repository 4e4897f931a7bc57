"""``spec.components``, compatibility, experimental flags and flavours through the merge (5.4-5.6, 10.2)."""

from typing import Any

import pytest

from kyma_istio import pins
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.mesh.merge import (
    ProxyResourcesMissingError,
    expected_proxy_image,
    expected_proxy_resources,
    merge,
)
from kyma_istio.mesh.profile import Flavour, Profile

PREFERRED = "preferredDuringSchedulingIgnoredDuringExecution"
REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"


def merged(spec: dict[str, Any], profile: Profile = Profile.PRODUCTION, **options: Any) -> dict[str, Any]:
    return merge(IstioSpec.model_validate(spec), profile=profile, **options, line=DEFAULT_LINE)


def pilot_k8s(iop: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = iop["spec"]["components"]["pilot"]["k8s"]
    return result


def gateway_k8s(iop: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = iop["spec"]["components"]["ingressGateways"][0]["k8s"]
    return result


def cni_k8s(iop: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = iop["spec"]["components"]["cni"]["k8s"]
    return result


def component(name: str, k8s: dict[str, Any]) -> dict[str, Any]:
    return {"components": {name: {"k8s": k8s}}}


# --- pilot and ingress gateway -------------------------------------------------------------------


@pytest.mark.parametrize(("name", "k8s_of"), [("pilot", pilot_k8s), ("ingressGateway", gateway_k8s)])
def test_hpa_bounds_override_the_template_key_by_key(name: str, k8s_of: Any) -> None:
    only_max = merged(component(name, {"hpaSpec": {"maxReplicas": 20}}))
    both = merged(component(name, {"hpaSpec": {"minReplicas": 0, "maxReplicas": 7}}))

    template_min = {"pilot": 2, "ingressGateway": 3}[name]
    assert k8s_of(only_max)["hpaSpec"]["minReplicas"] == template_min
    assert k8s_of(only_max)["hpaSpec"]["maxReplicas"] == 20
    assert (k8s_of(both)["hpaSpec"]["minReplicas"], k8s_of(both)["hpaSpec"]["maxReplicas"]) == (0, 7)


def test_the_gateway_keeps_its_cpu_metric_when_the_cr_sets_hpa_bounds() -> None:
    hpa = gateway_k8s(merged(component("ingressGateway", {"hpaSpec": {"minReplicas": 4}})))["hpaSpec"]

    assert hpa["minReplicas"] == 4
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 80


@pytest.mark.parametrize(("name", "k8s_of"), [("pilot", pilot_k8s), ("ingressGateway", gateway_k8s)])
def test_resources_override_the_template_key_by_key(name: str, k8s_of: Any) -> None:
    iop = merged(component(name, {"resources": {"limits": {"memory": "3Gi"}, "requests": {"cpu": "1.5"}}}))

    resources = k8s_of(iop)["resources"]
    assert resources["limits"]["memory"] == "3Gi"
    assert resources["requests"]["cpu"] == "1.5"
    template = {"pilot": ("4000m", "512Mi"), "ingressGateway": ("2000m", "128Mi")}[name]
    assert (resources["limits"]["cpu"], resources["requests"]["memory"]) == template


@pytest.mark.parametrize(("name", "k8s_of"), [("pilot", pilot_k8s), ("ingressGateway", gateway_k8s)])
@pytest.mark.parametrize(("surge", "unavailable"), [(1, "25%"), ("50%", 0), ("0", 2)])
def test_rolling_update_values_are_kept_as_int_or_string_exactly_as_given(
    name: str, k8s_of: Any, surge: int | str, unavailable: int | str
) -> None:
    strategy = {"rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}

    rolling = k8s_of(merged(component(name, {"strategy": strategy})))["strategy"]["rollingUpdate"]

    assert rolling == {"maxSurge": surge, "maxUnavailable": unavailable}
    assert type(rolling["maxSurge"]) is type(surge)
    assert type(rolling["maxUnavailable"]) is type(unavailable)


def test_a_partial_rolling_update_keeps_the_template_value_for_the_other_key() -> None:
    strategy = {"rollingUpdate": {"maxUnavailable": 1}}

    rolling = gateway_k8s(merged(component("ingressGateway", {"strategy": strategy})))["strategy"][
        "rollingUpdate"
    ]

    assert rolling == {"maxSurge": "100%", "maxUnavailable": 1}


def test_pilot_settings_leave_the_gateway_alone_and_vice_versa() -> None:
    iop = merged(component("pilot", {"hpaSpec": {"maxReplicas": 9}}))

    assert gateway_k8s(iop)["hpaSpec"]["maxReplicas"] == 10
    assert pilot_k8s(merged(component("ingressGateway", {"hpaSpec": {"maxReplicas": 9}})))["hpaSpec"] == {
        "minReplicas": 2,
        "maxReplicas": 5,
    }


def test_an_empty_k8s_changes_nothing() -> None:
    assert merged(component("pilot", {})) == merged({})
    assert merged(component("ingressGateway", {})) == merged({})


# --- cni -----------------------------------------------------------------------------------------


def test_cni_resources_override_the_template_key_by_key() -> None:
    iop = merged(component("cni", {"resources": {"requests": {"memory": "1Gi"}}}), Profile.EVALUATION)

    assert cni_k8s(iop)["resources"] == {
        "requests": {"cpu": "10m", "memory": "1Gi"},
        "limits": {"cpu": "250m", "memory": "384Mi"},
    }


def test_a_given_affinity_kind_replaces_the_template_rules_and_a_missing_list_becomes_empty() -> None:
    required = [{"labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": "kubernetes.io/hostname"}]

    affinity = cni_k8s(merged(component("cni", {"affinity": {"podAntiAffinity": {REQUIRED: required}}})))[
        "affinity"
    ]

    assert affinity["podAntiAffinity"] == {PREFERRED: [], REQUIRED: required}


def test_a_given_preferred_list_replaces_rather_than_extends_the_template_list() -> None:
    preferred = [{"weight": 5, "podAffinityTerm": {"topologyKey": "topology.kubernetes.io/zone"}}]

    affinity = cni_k8s(merged(component("cni", {"affinity": {"podAntiAffinity": {PREFERRED: preferred}}})))[
        "affinity"
    ]

    assert affinity["podAntiAffinity"] == {PREFERRED: preferred, REQUIRED: []}


def test_an_empty_affinity_kind_clears_the_template_rules_of_that_kind() -> None:
    affinity = cni_k8s(merged(component("cni", {"affinity": {"podAntiAffinity": {}}})))["affinity"]

    assert affinity["podAntiAffinity"] == {PREFERRED: [], REQUIRED: []}


def test_affinity_kinds_the_cr_does_not_give_keep_the_template_rules() -> None:
    template_rule = cni_k8s(merged({}))["affinity"]["podAntiAffinity"]
    pod_affinity = {PREFERRED: [{"weight": 1, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname"}}]}

    affinity = cni_k8s(merged(component("cni", {"affinity": {"podAffinity": pod_affinity}})))["affinity"]

    assert affinity["podAntiAffinity"] == template_rule
    assert affinity["podAffinity"] == {**pod_affinity, REQUIRED: []}


def test_node_affinity_replaces_as_a_kind_with_its_required_selector_kept_whole() -> None:
    selector = {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "os", "operator": "In", "values": ["linux"]}]}]
    }

    affinity = cni_k8s(merged(component("cni", {"affinity": {"nodeAffinity": {REQUIRED: selector}}})))[
        "affinity"
    ]

    assert affinity["nodeAffinity"] == {PREFERRED: [], REQUIRED: selector}


def test_node_affinity_without_required_rules_has_no_required_selector() -> None:
    preferred = [{"weight": 10, "preference": {"matchExpressions": [{"key": "pool", "operator": "Exists"}]}}]

    affinity = cni_k8s(merged(component("cni", {"affinity": {"nodeAffinity": {PREFERRED: preferred}}})))[
        "affinity"
    ]

    assert affinity["nodeAffinity"] == {PREFERRED: preferred}


def test_giving_cni_without_affinity_keeps_the_template_affinity() -> None:
    iop = merged(component("cni", {"resources": {"limits": {"cpu": "1"}}}))

    assert cni_k8s(iop)["affinity"] == cni_k8s(merged({}))["affinity"]


# --- proxy ---------------------------------------------------------------------------------------


def test_proxy_resources_override_the_sidecar_resources_key_by_key() -> None:
    iop = merged(component("proxy", {"resources": {"limits": {"cpu": "2"}, "requests": {"memory": "64Mi"}}}))

    assert iop["spec"]["values"]["global"]["proxy"]["resources"] == {
        "requests": {"cpu": "10m", "memory": "64Mi"},
        "limits": {"cpu": "2", "memory": "1024Mi"},
    }


def test_expected_proxy_resources_read_the_merged_sidecar_resources() -> None:
    iop = merged(component("proxy", {"resources": {"requests": {"cpu": "30m"}}}), Profile.EVALUATION)

    assert expected_proxy_resources(iop) == {
        "requests": {"cpu": "30m", "memory": "32Mi"},
        "limits": {"cpu": "250m", "memory": "254Mi"},
    }


@pytest.mark.parametrize(
    ("bound", "resource"),
    [("requests", "cpu"), ("requests", "memory"), ("limits", "cpu"), ("limits", "memory")],
)
def test_any_missing_proxy_resource_is_an_error(bound: str, resource: str) -> None:
    iop = merged({})
    del iop["spec"]["values"]["global"]["proxy"]["resources"][bound][resource]

    with pytest.raises(
        ProxyResourcesMissingError, match=r"^proxy resources missing in merged IstioOperator$"
    ):
        expected_proxy_resources(iop)


def test_missing_proxy_resources_altogether_is_an_error() -> None:
    iop = merged({})
    del iop["spec"]["values"]["global"]["proxy"]["resources"]

    with pytest.raises(ValueError, match="proxy resources missing"):
        expected_proxy_resources(iop)


def test_the_expected_proxy_image_is_hub_proxyv2_and_tag() -> None:
    assert expected_proxy_image(merged({})) == f"{pins.DEFAULT_HUB}/proxyv2:{DEFAULT_LINE.tag}"
    assert (
        expected_proxy_image(merged({}, hub=pins.KYMA_HUB))
        == f"europe-docker.pkg.dev/kyma-project/prod/external/istio/proxyv2:{DEFAULT_LINE.tag}"
    )


def test_a_full_proxy_image_reference_is_taken_as_it_is() -> None:
    iop = merged({})
    iop["spec"]["values"]["global"]["proxy"]["image"] = "registry.local/istio/proxyv2:custom"

    assert expected_proxy_image(iop) == "registry.local/istio/proxyv2:custom"


# --- compatibility mode --------------------------------------------------------------------------


def test_compatibility_mode_appends_the_pilot_env_and_sets_the_proxy_metadata() -> None:
    iop = merged({"compatibilityMode": True})

    assert pilot_k8s(iop)["env"][-1] == {"name": "ENABLE_DELIMITED_STATS_TAG_REGEX", "value": "false"}
    assert len(pilot_k8s(iop)["env"]) == 4
    metadata = iop["spec"]["meshConfig"]["defaultConfig"]["proxyMetadata"]
    assert metadata["ENABLE_DEFERRED_CLUSTER_CREATION"] == "false"
    assert metadata["ENABLE_DELIMITED_STATS_TAG_REGEX"] == "false"
    assert metadata["BOOTSTRAP_XDS_AGENT"] == "true"


@pytest.mark.parametrize("spec", [{}, {"compatibilityMode": False}])
def test_without_compatibility_mode_nothing_is_added(spec: dict[str, Any]) -> None:
    iop = merged(spec)

    assert [env["name"] for env in pilot_k8s(iop)["env"]] == [
        "PILOT_HTTP10",
        "METRIC_ROTATION_INTERVAL",
        "METRIC_GRACEFUL_DELETION_INTERVAL",
    ]
    assert (
        "ENABLE_DEFERRED_CLUSTER_CREATION" not in iop["spec"]["meshConfig"]["defaultConfig"]["proxyMetadata"]
    )


# --- experimental --------------------------------------------------------------------------------

EXPERIMENTAL = {
    "experimental": {"pilot": {"enableAlphaGatewayAPI": True, "enableMultiNetworkDiscoverGatewayAPI": True}}
}


def test_experimental_flags_become_pilot_env_when_experimental_features_are_enabled() -> None:
    env = pilot_k8s(merged(EXPERIMENTAL, experimental_enabled=True))["env"]

    assert env[3:] == [
        {"name": "PILOT_ENABLE_ALPHA_GATEWAY_API", "value": "true"},
        {"name": "PILOT_MULTI_NETWORK_DISCOVER_GATEWAY_API", "value": "true"},
    ]


def test_experimental_flags_are_ignored_unless_experimental_features_are_enabled() -> None:
    assert merged(EXPERIMENTAL) == merged({})


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"enableAlphaGatewayAPI": True}, ["PILOT_ENABLE_ALPHA_GATEWAY_API"]),
        ({"enableMultiNetworkDiscoverGatewayAPI": True}, ["PILOT_MULTI_NETWORK_DISCOVER_GATEWAY_API"]),
        ({"enableAlphaGatewayAPI": False, "enableMultiNetworkDiscoverGatewayAPI": False}, []),
        ({}, []),
    ],
)
def test_only_flags_set_to_true_add_an_env_var(flags: dict[str, bool], expected: list[str]) -> None:
    env = pilot_k8s(merged({"experimental": {"pilot": flags}}, experimental_enabled=True))["env"]

    assert [item["name"] for item in env[3:]] == expected


def test_experimental_env_comes_before_the_compatibility_env() -> None:
    env = pilot_k8s(merged({**EXPERIMENTAL, "compatibilityMode": True}, experimental_enabled=True))["env"]

    assert [item["name"] for item in env[3:]] == [
        "PILOT_ENABLE_ALPHA_GATEWAY_API",
        "PILOT_MULTI_NETWORK_DISCOVER_GATEWAY_API",
        "ENABLE_DELIMITED_STATS_TAG_REGEX",
    ]


# --- flavour -------------------------------------------------------------------------------------


def test_the_k3d_flavour_overrides_the_cni_paths() -> None:
    cni = merged({}, flavour=Flavour.K3D)["spec"]["values"]["cni"]

    assert cni == {"cniBinDir": "/bin", "cniConfDir": "/var/lib/rancher/k3s/agent/etc/cni/net.d"}


def test_the_gke_flavour_overrides_the_cni_bin_dir_and_keeps_the_conf_dir() -> None:
    cni = merged({}, flavour=Flavour.GKE)["spec"]["values"]["cni"]

    assert cni == {
        "cniBinDir": "/home/kubernetes/bin",
        "cniConfDir": "/etc/cni/net.d",
        "resourceQuotas": {"enabled": True},
    }


@pytest.mark.parametrize("flavour", [Flavour.GARDENER, Flavour.UNKNOWN])
def test_gardener_and_unknown_flavours_change_nothing(flavour: Flavour) -> None:
    assert merged({}, flavour=flavour) == merged({})

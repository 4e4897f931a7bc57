"""The fields of Kyma 1.12-1.30 in the merge: where each lands, golden documents, and nothing else moves.

A CR without the new fields must install exactly what it did before they existed: the documents the
operator rendered then are kept in ``tests/data/iop-before-kyma-1.30`` and compared byte for byte, and a
property checks that every new merge step leaves a document alone when its field is absent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from test_mesh_merge_properties import options, specs

from kyma_istio import lines
from kyma_istio.api.v1alpha2 import Istio, IstioSpec
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.mesh.merge import merge
from kyma_istio.mesh.merge.components import apply_egress_gateway
from kyma_istio.mesh.merge.experimental import apply_experimental
from kyma_istio.mesh.merge.mesh_config import apply_mesh_settings, proto_duration
from kyma_istio.mesh.profile import Profile

DATA = Path(__file__).parents[2] / "data"
BEFORE = DATA / "iop-before-kyma-1.30"
GOLDEN = DATA / "golden"
CONFIGURED = Path(__file__).parents[3] / "deploy" / "samples" / "istio-configured.yaml"
REFERENCE_LINE = lines.line("1.23")
"""The line the documents of before and the golden documents were rendered on (the reference's Istio
1.23.2); what another line changes is covered per line in ``tests/unit/lines``."""


def _render(iop: dict[str, Any]) -> str:
    return json.dumps(iop, indent=1) + "\n"


def _spec(path: Path) -> IstioSpec:
    return Istio.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))).spec


def mesh(raw: dict[str, Any], *, experimental: bool = False) -> dict[str, Any]:
    spec = IstioSpec.model_validate(raw)
    result: dict[str, Any] = merge(
        spec, profile=Profile.PRODUCTION, experimental_enabled=experimental, line=DEFAULT_LINE
    )["spec"]
    return result


# --- nothing moves for a CR without the new fields ------------------------------------------------


@pytest.mark.parametrize("profile", list(Profile), ids=[p.value for p in Profile])
@pytest.mark.parametrize("sample", ["istio-default", "istio-configured"])
def test_a_cr_of_before_renders_byte_identical_to_before(sample: str, profile: Profile) -> None:
    spec = _spec(BEFORE / f"{sample}.yaml")

    rendered = _render(merge(spec, profile=profile, experimental_enabled=True, line=REFERENCE_LINE))

    assert rendered == (BEFORE / f"{sample}-{profile.value}.json").read_text(encoding="utf-8")


@given(specs, options)
def test_each_new_step_leaves_a_cr_without_its_field_alone(raw: dict[str, Any], opts: dict[str, Any]) -> None:
    spec = IstioSpec.model_validate(raw)
    iop = merge(spec, **opts, line=DEFAULT_LINE)

    for stepped in (
        apply_mesh_settings(iop, spec.config),
        apply_egress_gateway(iop, spec.components),
        apply_experimental(
            iop,
            spec.experimental.model_copy(update={"pilot": None}) if spec.experimental else None,
            enabled=True,
        ),
    ):
        assert _render(stepped) == _render(iop)


# --- golden documents of a CR with every field ------------------------------------------------------


@pytest.mark.parametrize("profile", list(Profile), ids=[p.value for p in Profile])
def test_the_configured_sample_renders_its_golden_document(profile: Profile) -> None:
    rendered = _render(
        merge(_spec(CONFIGURED), profile=profile, experimental_enabled=True, line=REFERENCE_LINE)
    )
    golden = GOLDEN / f"istio-configured-{profile.value}.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8"), "review the change, then UPDATE_GOLDEN=1"


# --- each field, where Kyma puts it -----------------------------------------------------------------


def test_prometheus_merge_is_always_written_false_unless_on() -> None:
    assert mesh({})["meshConfig"]["enablePrometheusMerge"] is False
    assert mesh({"config": {"telemetry": {}}})["meshConfig"]["enablePrometheusMerge"] is False
    on = {"config": {"telemetry": {"metrics": {"prometheusMerge": True}}}}
    assert mesh(on)["meshConfig"]["enablePrometheusMerge"] is True


@pytest.mark.parametrize(
    "value", ["APPEND_FORWARD", "SANITIZE_SET", "SANITIZE", "ALWAYS_FORWARD_ONLY", "FORWARD_ONLY"]
)
def test_xfcc_lands_in_the_gateway_topology_beside_trusted_proxies(value: str) -> None:
    topology = mesh({"config": {"forwardClientCertDetails": value, "numTrustedProxies": 2}})["meshConfig"][
        "defaultConfig"
    ]["gatewayTopology"]
    assert topology == {"numTrustedProxies": 2, "forwardClientCertDetails": value}


def test_an_unset_xfcc_leaves_no_gateway_topology() -> None:
    assert "gatewayTopology" not in mesh({"config": {}})["meshConfig"]["defaultConfig"]


def test_the_trust_domain_replaces_the_default_one() -> None:
    assert mesh({})["meshConfig"]["trustDomain"] == "cluster.local"
    assert mesh({"config": {"trustDomain": "example.org"}})["meshConfig"]["trustDomain"] == "example.org"


@pytest.mark.parametrize(("value", "wire"), [(True, "true"), (False, "false")])
def test_dns_proxying_is_the_dns_capture_metadata_as_a_string(value: bool, wire: str) -> None:
    metadata = mesh({"config": {"enableDNSProxying": value}})["meshConfig"]["defaultConfig"]["proxyMetadata"]
    assert metadata["ISTIO_META_DNS_CAPTURE"] == wire
    assert metadata["BOOTSTRAP_XDS_AGENT"] == "true"  # the template's metadata stays


def test_unset_dns_proxying_sets_no_dns_capture() -> None:
    assert "ISTIO_META_DNS_CAPTURE" not in mesh({})["meshConfig"]["defaultConfig"]["proxyMetadata"]


def test_dns_proxying_and_compatibility_mode_share_the_proxy_metadata() -> None:
    metadata = mesh({"compatibilityMode": True, "config": {"enableDNSProxying": True}})["meshConfig"][
        "defaultConfig"
    ]["proxyMetadata"]
    assert metadata["ISTIO_META_DNS_CAPTURE"] == "true"
    assert metadata["ENABLE_DEFERRED_CLUSTER_CREATION"] == "false"


def test_stats_matcher_regexps_land_as_given_and_an_empty_list_is_skipped() -> None:
    given_ = {"config": {"proxyStatsMatcher": {"inclusionRegexps": ["b.*", "a.*"]}}}
    assert mesh(given_)["meshConfig"]["defaultConfig"]["proxyStatsMatcher"] == {
        "inclusionRegexps": ["b.*", "a.*"]
    }
    empty = {"config": {"proxyStatsMatcher": {"inclusionRegexps": []}}}
    assert "proxyStatsMatcher" not in mesh(empty)["meshConfig"]["defaultConfig"]


def test_authorizer_path_prefix_and_timeout_land_in_its_provider() -> None:
    authorizer = {
        "name": "a",
        "service": "a.ns.svc.cluster.local",
        "port": 80,
        "pathPrefix": "/x?p=",
        "timeout": "1m30s",
    }
    provider = mesh({"config": {"authorizers": [authorizer]}})["meshConfig"]["extensionProviders"][-1]
    assert provider == {
        "name": "a",
        "envoyExtAuthzHttp": {
            "service": "a.ns.svc.cluster.local",
            "port": 80,
            "pathPrefix": "/x?p=",
            "timeout": "90s",
        },
    }


def test_an_authorizer_without_service_has_none_in_its_provider() -> None:
    provider = mesh({"config": {"authorizers": [{"name": "a", "port": 80}]}})["meshConfig"][
        "extensionProviders"
    ][-1]
    assert provider == {"name": "a", "envoyExtAuthzHttp": {"port": 80}}


@pytest.mark.parametrize(
    ("go", "proto"),
    [
        ("5s", "5s"),
        ("1m30s", "90s"),
        ("500ms", "0.5s"),
        ("250ms", "0.25s"),
        ("1h", "3600s"),
        ("1h2m3.5s", "3723.5s"),
        ("0", "0s"),
        ("0s", "0s"),
        ("1.5s", "1.5s"),
        ("1us", "0.000001s"),
        ("1µs", "0.000001s"),
        ("1ns", "0.000000001s"),
        (".5s", "0.5s"),
        ("1.0000000009s", "1s"),
    ],
)
def test_go_durations_become_protobuf_durations_exactly(go: str, proto: str) -> None:
    assert proto_duration(go) == proto


@pytest.mark.parametrize("bad", ["", "soon", "5", "5 s", "-5s", "5d"])
def test_a_string_that_is_no_go_duration_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not a Go duration"):
        proto_duration(bad)


def test_the_egress_gateway_is_enabled_and_configured_as_the_ingress_one_is() -> None:
    k8s = {
        "hpaSpec": {"minReplicas": 2, "maxReplicas": 5},
        "strategy": {"rollingUpdate": {"maxSurge": "50%", "maxUnavailable": 0}},
        "resources": {"limits": {"cpu": "300m"}},
    }
    egress = mesh({"components": {"egressGateway": {"enabled": True, "k8s": k8s}}})["components"][
        "egressGateways"
    ][0]

    assert egress["name"] == "istio-egressgateway"
    assert egress["enabled"] is True
    assert egress["k8s"]["hpaSpec"] == {"minReplicas": 2, "maxReplicas": 5}
    assert egress["k8s"]["strategy"] == {"rollingUpdate": {"maxSurge": "50%", "maxUnavailable": 0}}
    # Per key: the template's memory limit and requests stay.
    assert egress["k8s"]["resources"] == {
        "requests": {"cpu": "10m", "memory": "120Mi"},
        "limits": {"cpu": "300m", "memory": "1024Mi"},
    }


def test_an_egress_gateway_without_enabled_keeps_the_template_off() -> None:
    egress = mesh({"components": {"egressGateway": {"k8s": {"hpaSpec": {"maxReplicas": 3}}}}})["components"][
        "egressGateways"
    ][0]
    assert egress["enabled"] is False
    assert egress["k8s"]["hpaSpec"] == {"maxReplicas": 3}


def test_an_egress_gateway_on_a_template_without_one_is_added_by_name() -> None:
    iop = {"spec": {"components": {}}}
    spec = IstioSpec.model_validate({"components": {"egressGateway": {"enabled": True}}})
    assert apply_egress_gateway(iop, spec.components)["spec"]["components"]["egressGateways"] == [
        {"name": "istio-egressgateway", "enabled": True}
    ]


def test_ambient_sets_ztunnel_istiod_cni_and_hbone_when_experimental_features_are_on() -> None:
    spec = mesh({"experimental": {"enableAmbient": True}}, experimental=True)

    assert spec["components"]["ztunnel"] == {"enabled": True}
    assert spec["values"]["pilot"]["env"]["PILOT_ENABLE_AMBIENT"] == "true"
    assert spec["values"]["cni"]["ambient"] == {"enabled": True}
    assert spec["meshConfig"]["defaultConfig"]["proxyMetadata"]["ISTIO_META_ENABLE_HBONE"] == "true"


@pytest.mark.parametrize(
    ("raw", "experimental"), [({"enableAmbient": True}, False), ({"enableAmbient": False}, True)]
)
def test_ambient_is_left_out_when_off_or_not_allowed(raw: dict[str, Any], experimental: bool) -> None:
    spec = mesh({"experimental": raw}, experimental=experimental)

    assert "ztunnel" not in spec["components"]
    assert "PILOT_ENABLE_AMBIENT" not in spec["values"]["pilot"]["env"]
    assert "ISTIO_META_ENABLE_HBONE" not in spec["meshConfig"]["defaultConfig"]["proxyMetadata"]

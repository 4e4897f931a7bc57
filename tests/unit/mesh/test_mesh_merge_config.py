"""``spec.config`` lands in the mesh config and on the ingress gateway (spec 5.4)."""

from typing import Any

import pytest

from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.mesh.merge import merge
from kyma_istio.mesh.profile import Profile


def merged(spec: dict[str, Any], profile: Profile = Profile.PRODUCTION) -> dict[str, Any]:
    return merge(IstioSpec.model_validate(spec), profile=profile, line=DEFAULT_LINE)


def providers(iop: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = iop["spec"]["meshConfig"]["extensionProviders"]
    return result


# --- numTrustedProxies ---------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 5, 4_294_967_295])
def test_num_trusted_proxies_lands_in_the_gateway_topology(count: int) -> None:
    iop = merged({"config": {"numTrustedProxies": count}})

    assert iop["spec"]["meshConfig"]["defaultConfig"]["gatewayTopology"] == {"numTrustedProxies": count}


@pytest.mark.parametrize("spec", [{}, {"config": {}}, {"config": {"authorizers": []}}])
def test_an_absent_num_trusted_proxies_sets_no_gateway_topology(spec: dict[str, Any]) -> None:
    assert "gatewayTopology" not in merged(spec)["spec"]["meshConfig"]["defaultConfig"]


def test_num_trusted_proxies_keeps_the_other_default_proxy_config() -> None:
    default_config = merged({"config": {"numTrustedProxies": 2}})["spec"]["meshConfig"]["defaultConfig"]

    assert default_config["holdApplicationUntilProxyStarts"] is True
    assert default_config["proxyMetadata"]["WORKLOAD_RSA_KEY_SIZE"] == "3072"


# --- authorizers ---------------------------------------------------------------------------------


def test_an_authorizer_with_every_header_maps_each_to_its_envoy_field() -> None:
    authorizer = {
        "name": "ext-authz",
        "service": "authz.auth.svc.cluster.local",
        "port": 8080,
        "headers": {
            "inCheck": {"include": ["authorization", "cookie"], "add": {"x-source": "kyma"}},
            "toUpstream": {"onAllow": ["x-user"]},
            "toDownstream": {"onAllow": ["set-cookie"], "onDeny": ["x-reason"]},
        },
    }

    iop = merged({"config": {"authorizers": [authorizer]}})

    assert providers(iop)[-1] == {
        "name": "ext-authz",
        "envoyExtAuthzHttp": {
            "service": "authz.auth.svc.cluster.local",
            "port": 8080,
            "includeRequestHeadersInCheck": ["authorization", "cookie"],
            "includeAdditionalHeadersInCheck": {"x-source": "kyma"},
            "headersToUpstreamOnAllow": ["x-user"],
            "headersToDownstreamOnAllow": ["set-cookie"],
            "headersToDownstreamOnDeny": ["x-reason"],
        },
    }


def test_an_authorizer_without_headers_has_only_service_and_port() -> None:
    iop = merged({"config": {"authorizers": [{"name": "a", "service": "a.ns.svc", "port": 80}]}})

    assert providers(iop)[-1] == {"name": "a", "envoyExtAuthzHttp": {"service": "a.ns.svc", "port": 80}}


def test_header_lists_the_authorizer_leaves_out_are_omitted_not_empty() -> None:
    authorizer = {
        "name": "a",
        "service": "a.ns.svc",
        "port": 80,
        "headers": {"inCheck": {"include": ["x-a"]}, "toDownstream": {"onDeny": ["x-b"]}},
    }

    http = providers(merged({"config": {"authorizers": [authorizer]}}))[-1]["envoyExtAuthzHttp"]

    assert http == {
        "service": "a.ns.svc",
        "port": 80,
        "includeRequestHeadersInCheck": ["x-a"],
        "headersToDownstreamOnDeny": ["x-b"],
    }


def test_authorizers_are_appended_after_the_template_providers_in_cr_order() -> None:
    authorizers = [
        {"name": name, "service": f"{name}.ns.svc", "port": 80} for name in ("zeta", "alpha", "mid")
    ]

    names = [provider["name"] for provider in providers(merged({"config": {"authorizers": authorizers}}))]

    assert names == ["kyma-traces", "envoy", "stdout-json", "zeta", "alpha", "mid"]


def test_an_authorizer_named_like_a_template_provider_is_appended_not_folded_in() -> None:
    iop = merged({"config": {"authorizers": [{"name": "envoy", "service": "e.ns.svc", "port": 80}]}})

    envoy = [provider for provider in providers(iop) if provider["name"] == "envoy"]
    assert len(envoy) == 2
    assert "envoyExtAuthzHttp" not in envoy[0]


def test_no_authorizers_keeps_exactly_the_template_providers() -> None:
    assert len(providers(merged({"config": {"authorizers": []}}))) == 3


# --- gatewayExternalTrafficPolicy ----------------------------------------------------------------


@pytest.mark.parametrize("policy", ["Local", "Cluster"])
def test_the_traffic_policy_becomes_a_service_overlay_on_the_ingress_gateway(policy: str) -> None:
    iop = merged({"config": {"gatewayExternalTrafficPolicy": policy}})

    assert iop["spec"]["components"]["ingressGateways"][0]["k8s"]["overlays"] == [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "name": "istio-ingressgateway",
            "patches": [{"path": "spec.externalTrafficPolicy", "value": policy}],
        }
    ]


def test_no_traffic_policy_adds_no_overlay() -> None:
    assert "overlays" not in merged({"config": {}})["spec"]["components"]["ingressGateways"][0]["k8s"]


def test_the_traffic_policy_keeps_the_gateway_defaults() -> None:
    k8s = merged({"config": {"gatewayExternalTrafficPolicy": "Local"}}, Profile.EVALUATION)["spec"][
        "components"
    ]["ingressGateways"][0]["k8s"]

    assert k8s["hpaSpec"] == {"minReplicas": 1, "maxReplicas": 1}
    assert k8s["securityContext"]["runAsUser"] == 65534

"""Properties of the whole merge over random valid CRs: deterministic, pure, and the CR always wins."""

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from kyma_istio.api.v1alpha2 import INT32_MAX, UINT32_MAX, IstioSpec
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.mesh.merge import expected_proxy_resources, load_template, merge
from kyma_istio.mesh.profile import Flavour, Profile

cpus = st.one_of(
    st.integers(0, 10**6).map(lambda n: f"{n}m"),
    st.integers(0, 256).map(str),
    st.tuples(st.integers(0, 9), st.integers(0, 999)).map(lambda p: f"{p[0]}.{p[1]}"),
)
memories = st.tuples(
    st.integers(1, 10**6), st.sampled_from(["", "k", "M", "G", "Ki", "Mi", "Gi", "Ti", "e3", "e6"])
).map(lambda p: f"{p[0]}{p[1]}")
claims = st.fixed_dictionaries({}, optional={"cpu": cpus, "memory": memories})
resources = st.fixed_dictionaries({}, optional={"limits": claims, "requests": claims})
replicas = st.integers(0, INT32_MAX)
surges = st.one_of(st.integers(0, INT32_MAX), st.integers(0, 500).map(lambda n: f"{n}%"))
unavailables = st.one_of(st.integers(0, INT32_MAX), st.integers(0, 100).map(lambda n: f"{n}%"))
deployment_k8s = st.fixed_dictionaries(
    {},
    optional={
        "hpaSpec": st.fixed_dictionaries({}, optional={"minReplicas": replicas, "maxReplicas": replicas}),
        "strategy": st.fixed_dictionaries(
            {
                "rollingUpdate": st.fixed_dictionaries(
                    {}, optional={"maxSurge": surges, "maxUnavailable": unavailables}
                )
            }
        ),
        "resources": resources,
    },
)
header_names = st.lists(st.sampled_from(["authorization", "cookie", "x-user", "x-request-id"]), max_size=3)
authorizers = st.lists(
    st.fixed_dictionaries(
        {"service": st.just("authz.ns.svc.cluster.local"), "port": st.integers(1, 65535)},
        optional={
            "headers": st.fixed_dictionaries(
                {},
                optional={
                    "inCheck": st.fixed_dictionaries(
                        {},
                        optional={
                            "include": header_names,
                            "add": st.dictionaries(st.just("x-a"), st.just("b")),
                        },
                    ),
                    "toUpstream": st.fixed_dictionaries({}, optional={"onAllow": header_names}),
                    "toDownstream": st.fixed_dictionaries(
                        {}, optional={"onAllow": header_names, "onDeny": header_names}
                    ),
                },
            )
        },
    ),
    max_size=3,
).map(lambda items: [{"name": f"authorizer-{index}", **item} for index, item in enumerate(items)])
specs = st.fixed_dictionaries(
    {},
    optional={
        "compatibilityMode": st.booleans(),
        "config": st.fixed_dictionaries(
            {},
            optional={
                "numTrustedProxies": st.integers(0, UINT32_MAX),
                "authorizers": authorizers,
                "gatewayExternalTrafficPolicy": st.sampled_from(["Local", "Cluster"]),
            },
        ),
        "components": st.fixed_dictionaries(
            {},
            optional={
                "pilot": st.fixed_dictionaries({"k8s": deployment_k8s}),
                "ingressGateway": st.fixed_dictionaries({"k8s": deployment_k8s}),
                "cni": st.fixed_dictionaries(
                    {"k8s": st.fixed_dictionaries({}, optional={"resources": resources})}
                ),
                "proxy": st.fixed_dictionaries(
                    {"k8s": st.fixed_dictionaries({}, optional={"resources": resources})}
                ),
            },
        ),
        "experimental": st.fixed_dictionaries(
            {},
            optional={
                "pilot": st.fixed_dictionaries(
                    {},
                    optional={
                        "enableAlphaGatewayAPI": st.booleans(),
                        "enableMultiNetworkDiscoverGatewayAPI": st.booleans(),
                    },
                )
            },
        ),
    },
)
options = st.fixed_dictionaries(
    {
        "profile": st.sampled_from(Profile),
        "flavour": st.sampled_from(Flavour),
        "experimental_enabled": st.booleans(),
    }
)


@given(specs, options)
def test_merging_the_same_cr_twice_gives_the_same_document(raw: dict[str, Any], opts: dict[str, Any]) -> None:
    spec = IstioSpec.model_validate(raw)

    assert merge(spec, **opts, line=DEFAULT_LINE) == merge(
        IstioSpec.model_validate(raw), **opts, line=DEFAULT_LINE
    )


@given(specs, options)
def test_merging_modifies_neither_the_cr_nor_the_templates(raw: dict[str, Any], opts: dict[str, Any]) -> None:
    spec = IstioSpec.model_validate(raw)
    spec_before = spec.model_dump()
    templates_before = {profile: load_template(profile) for profile in Profile}

    result = merge(spec, **opts, line=DEFAULT_LINE)
    # Changing the result must not reach back into the cached templates either.
    result["spec"]["components"]["pilot"]["k8s"]["env"].append({"name": "X", "value": "y"})
    result["spec"]["values"]["global"]["proxy"]["resources"]["limits"]["cpu"] = "changed"

    assert spec.model_dump() == spec_before
    assert {profile: load_template(profile) for profile in Profile} == templates_before


def _expect(wire: dict[str, Any], actual: dict[str, Any]) -> None:
    """Every leaf of ``wire`` appears with the same value and type at the same place in ``actual``."""
    for key, value in wire.items():
        if isinstance(value, dict):
            _expect(value, actual[key])
        else:
            assert actual[key] == value
            assert type(actual[key]) is type(value)


@given(specs, options)
def test_every_value_the_cr_sets_lands_in_the_output(raw: dict[str, Any], opts: dict[str, Any]) -> None:
    spec = IstioSpec.model_validate(raw)
    iop = merge(spec, **opts, line=DEFAULT_LINE)["spec"]
    components = raw.get("components", {})

    for name, k8s in (
        ("pilot", iop["components"]["pilot"]["k8s"]),
        ("ingressGateway", iop["components"]["ingressGateways"][0]["k8s"]),
    ):
        if name in components:
            _expect(copy.deepcopy(components[name]["k8s"]), k8s)
    if "cni" in components and "resources" in components["cni"]["k8s"]:
        _expect(components["cni"]["k8s"]["resources"], iop["components"]["cni"]["k8s"]["resources"])
    if "proxy" in components and "resources" in components["proxy"]["k8s"]:
        _expect(components["proxy"]["k8s"]["resources"], iop["values"]["global"]["proxy"]["resources"])
    config = raw.get("config", {})
    if "numTrustedProxies" in config:
        assert (
            iop["meshConfig"]["defaultConfig"]["gatewayTopology"]["numTrustedProxies"]
            == config["numTrustedProxies"]
        )
    names = [provider["name"] for provider in iop["meshConfig"]["extensionProviders"]]
    assert names[3:] == [authorizer["name"] for authorizer in config.get("authorizers", [])]


@given(specs, options)
def test_the_expected_proxy_resources_are_always_complete(raw: dict[str, Any], opts: dict[str, Any]) -> None:
    resources = expected_proxy_resources(merge(IstioSpec.model_validate(raw), **opts, line=DEFAULT_LINE))

    assert {bound: sorted(values) for bound, values in resources.items()} == {
        "requests": ["cpu", "memory"],
        "limits": ["cpu", "memory"],
    }

"""Every validation of the Istio CR (spec section 2), as the pydantic model applies it.

The CRD is generated from the same model, so these tables are also the CRD's rules; the CRD tests check
that each rule reaches the schema.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from kyma_istio.api import names
from kyma_istio.api.v1alpha2 import (
    CPU_PATTERN,
    INT32_MAX,
    MAX_SURGE_PATTERN,
    MAX_UNAVAILABLE_PATTERN,
    MEMORY_PATTERN,
    UINT32_MAX,
    Condition,
    Istio,
    IstioSpec,
    IstioStatus,
    ResourceClaims,
    RollingUpdate,
    State,
)
from kyma_istio.api.validation import describe_errors

PILOT_K8S = "components.pilot.k8s"
GATEWAY_K8S = "components.ingressGateway.k8s"
ROLLING = f"{PILOT_K8S}.strategy.rollingUpdate"


def nested(path: str, value: Any) -> dict[str, Any]:
    """``"config.numTrustedProxies", 3`` -> ``{"config": {"numTrustedProxies": 3}}``."""
    doc: Any = value
    for part in reversed(path.split(".")):
        doc = {part: doc}
    return dict(doc)


def problems(doc: Any) -> list[str]:
    """What the model says about ``doc`` as a spec, in the words users read; empty when valid."""
    try:
        IstioSpec.model_validate(doc)
    except ValidationError as err:
        return describe_errors(err)
    return []


# --- scalar fields: accepted values -------------------------------------------------------------------

ACCEPTED = [
    ("config.numTrustedProxies", 0),
    ("config.numTrustedProxies", 1),
    ("config.numTrustedProxies", UINT32_MAX),
    ("config.gatewayExternalTrafficPolicy", "Local"),
    ("config.gatewayExternalTrafficPolicy", "Cluster"),
    ("compatibilityMode", True),
    ("compatibilityMode", False),
    (f"{PILOT_K8S}.hpaSpec.maxReplicas", 0),
    (f"{PILOT_K8S}.hpaSpec.maxReplicas", INT32_MAX),
    (f"{GATEWAY_K8S}.hpaSpec.minReplicas", 0),
    (f"{GATEWAY_K8S}.hpaSpec.minReplicas", INT32_MAX),
    (f"{ROLLING}.maxSurge", 0),
    (f"{ROLLING}.maxSurge", INT32_MAX),
    (f"{ROLLING}.maxSurge", "0"),
    (f"{ROLLING}.maxSurge", "25%"),
    (f"{ROLLING}.maxSurge", "250%"),
    (f"{ROLLING}.maxUnavailable", 0),
    (f"{ROLLING}.maxUnavailable", INT32_MAX),
    (f"{ROLLING}.maxUnavailable", "0%"),
    (f"{ROLLING}.maxUnavailable", "7%"),
    (f"{ROLLING}.maxUnavailable", "100%"),
    (f"{ROLLING}.maxUnavailable", "12345"),
    (f"{PILOT_K8S}.resources.limits.cpu", "100m"),
    (f"{PILOT_K8S}.resources.limits.cpu", "2"),
    (f"{PILOT_K8S}.resources.requests.cpu", "1.5"),
    (f"{PILOT_K8S}.resources.requests.cpu", "0.125"),
    ("components.proxy.k8s.resources.limits.cpu", "4000m"),
    ("components.cni.k8s.resources.limits.memory", "128Mi"),
    ("components.cni.k8s.resources.limits.memory", "1G"),
    ("components.cni.k8s.resources.requests.memory", "1.5Gi"),
    ("components.cni.k8s.resources.requests.memory", "500"),
    ("components.cni.k8s.resources.requests.memory", "129e6"),
    ("components.cni.k8s.resources.requests.memory", "2k"),
    ("components.cni.k8s.resources.requests.memory", "5m"),
    ("experimental.pilot.enableAlphaGatewayAPI", True),
    ("experimental.pilot.enableMultiNetworkDiscoverGatewayAPI", False),
]


@pytest.mark.parametrize(("path", "value"), ACCEPTED, ids=[f"{p}={v!r}" for p, v in ACCEPTED])
def test_valid_value_is_accepted_and_kept(path: str, value: Any) -> None:
    doc = nested(path, value)
    assert IstioSpec.model_validate(doc).to_wire() == doc


# --- scalar fields: refused values --------------------------------------------------------------------

REFUSED = [
    ("config.numTrustedProxies", -1, "must be at least 0 (got -1)"),
    ("config.numTrustedProxies", UINT32_MAX + 1, "must be at most 4294967295"),
    ("config.numTrustedProxies", "2", 'must be an integer (got "2")'),
    ("config.numTrustedProxies", 1.5, "must be an integer"),
    ("config.gatewayExternalTrafficPolicy", "Foo", 'must be one of Local, Cluster (got "Foo")'),
    ("config.gatewayExternalTrafficPolicy", "local", "must be one of Local, Cluster"),
    ("compatibilityMode", "true", 'must be true or false (got "true")'),
    ("compatibilityMode", 1, "must be true or false (got 1)"),
    (f"{PILOT_K8S}.hpaSpec.maxReplicas", -1, "must be at least 0"),
    (f"{PILOT_K8S}.hpaSpec.maxReplicas", INT32_MAX + 1, "must be at most 2147483647"),
    (f"{GATEWAY_K8S}.hpaSpec.minReplicas", -1, "must be at least 0"),
    (f"{GATEWAY_K8S}.hpaSpec.minReplicas", INT32_MAX + 1, "must be at most 2147483647"),
    (f"{GATEWAY_K8S}.hpaSpec.minReplicas", "3", "must be an integer"),
    (f"{ROLLING}.maxSurge", -1, "must not be negative, more than 2147483647 or an empty string"),
    (f"{ROLLING}.maxSurge", INT32_MAX + 1, "must not be negative, more than 2147483647"),
    (f"{ROLLING}.maxSurge", "", "must match pattern ^[0-9]+%?$"),
    (f"{ROLLING}.maxSurge", "-1", "must match pattern ^[0-9]+%?$"),
    (f"{ROLLING}.maxSurge", "10.5%", "must match pattern"),
    (f"{ROLLING}.maxSurge", "abc", 'must match pattern ^[0-9]+%?$ (got "abc")'),
    (f"{ROLLING}.maxSurge", "5\n", "must match pattern"),
    (f"{ROLLING}.maxSurge", 1.5, "must be an integer or a string (got 1.5)"),
    (f"{ROLLING}.maxSurge", True, "must be an integer or a string (got true)"),
    (f"{ROLLING}.maxUnavailable", -1, "must not be negative"),
    (f"{ROLLING}.maxUnavailable", INT32_MAX + 1, "must not be negative, more than 2147483647"),
    (f"{ROLLING}.maxUnavailable", "", "must match pattern ^((100|[0-9]{1,2})%|[0-9]+)$"),
    (f"{ROLLING}.maxUnavailable", "101%", 'must match pattern ^((100|[0-9]{1,2})%|[0-9]+)$ (got "101%")'),
    (f"{ROLLING}.maxUnavailable", "100 %", "must match pattern"),
    (f"{ROLLING}.maxUnavailable", "-5%", "must match pattern"),
    (
        f"{PILOT_K8S}.resources.limits.cpu",
        "abc",
        r'must match pattern ^([0-9]+m?|[0-9]\.[0-9]{1,3})$ (got "abc")',
    ),
    (f"{PILOT_K8S}.resources.limits.cpu", "1.2345", "must match pattern"),
    (f"{PILOT_K8S}.resources.limits.cpu", "10.5", "must match pattern"),
    (f"{PILOT_K8S}.resources.limits.cpu", ".5", "must match pattern"),
    (f"{PILOT_K8S}.resources.limits.cpu", "100M", "must match pattern"),
    (f"{PILOT_K8S}.resources.requests.cpu", "", "must match pattern"),
    (f"{PILOT_K8S}.resources.requests.cpu", 1, "must be a string (got 1)"),
    ("components.cni.k8s.resources.limits.memory", "abc", "must match pattern ^[0-9]+("),
    ("components.cni.k8s.resources.limits.memory", "1gi", "must match pattern"),
    ("components.cni.k8s.resources.limits.memory", "1E3", "must match pattern"),
    ("components.cni.k8s.resources.limits.memory", "1.5e3", "must match pattern"),
    ("components.cni.k8s.resources.requests.memory", "Mi", "must match pattern"),
    ("components.cni.k8s.resources.requests.memory", "128 Mi", "must match pattern"),
    ("components.cni.k8s.resources.requests.memory", "", "must match pattern"),
    ("experimental.pilot.enableAlphaGatewayAPI", "yes", "must be true or false"),
]


@pytest.mark.parametrize(("path", "value", "rule"), REFUSED, ids=[f"{p}={v!r}" for p, v, _ in REFUSED])
def test_invalid_value_is_refused_naming_field_and_rule(path: str, value: Any, rule: str) -> None:
    (problem,) = problems(nested(path, value))
    assert problem.startswith(f"spec.{path}: {rule}")


# --- patterns, by property ------------------------------------------------------------------------


@given(st.from_regex(CPU_PATTERN, fullmatch=True))
def test_any_string_matching_the_cpu_pattern_is_accepted(cpu: str) -> None:
    assert ResourceClaims(cpu=cpu).cpu == cpu


@given(st.from_regex(MEMORY_PATTERN, fullmatch=True))
def test_any_string_matching_the_memory_pattern_is_accepted(memory: str) -> None:
    assert ResourceClaims(memory=memory).memory == memory


@given(st.text(alphabet="0123456789.mkMGTPEeis %-\n", max_size=8))
def test_cpu_and_memory_are_refused_exactly_when_the_pattern_does_not_match(text: str) -> None:
    doc = {"cpu": text, "memory": text}
    expected = {
        name
        for name, pattern in (("cpu", CPU_PATTERN), ("memory", MEMORY_PATTERN))
        if not re.fullmatch(pattern, text)
    }
    try:
        ResourceClaims.model_validate(doc)
        refused: set[Any] = set()
    except ValidationError as err:
        refused = {error["loc"][0] for error in err.errors()}
    assert refused == expected


@given(st.integers(min_value=0, max_value=INT32_MAX))
def test_any_int32_that_is_not_negative_is_a_valid_surge_and_unavailability(count: int) -> None:
    assert RollingUpdate(max_surge=count, max_unavailable=count).to_wire() == {
        "maxSurge": count,
        "maxUnavailable": count,
    }


@given(st.one_of(st.integers(max_value=-1), st.integers(min_value=INT32_MAX + 1)))
def test_any_integer_outside_int32_or_negative_is_refused_as_surge(count: int) -> None:
    with pytest.raises(ValidationError, match="must not be negative"):
        RollingUpdate(max_surge=count)


@given(st.integers(min_value=0, max_value=999))
def test_a_percentage_of_unavailability_is_accepted_up_to_100(percent: int) -> None:
    value = f"{percent}%"
    if percent <= 100:
        assert RollingUpdate(max_unavailable=value).max_unavailable == value
    else:
        with pytest.raises(ValidationError, match="should match pattern"):
            RollingUpdate(max_unavailable=value)


@given(st.text(alphabet="0123456789%-. ", max_size=6))
def test_surge_and_unavailability_strings_follow_their_patterns(text: str) -> None:
    for field, pattern in (("maxSurge", MAX_SURGE_PATTERN), ("maxUnavailable", MAX_UNAVAILABLE_PATTERN)):
        accepted = not problems(nested(f"{ROLLING}.{field}", text))
        assert accepted == bool(re.fullmatch(pattern, text)), (field, text)


# --- numTrustedProxies: absent and 0 differ -------------------------------------------------------


def test_absent_num_trusted_proxies_differs_from_zero() -> None:
    absent = IstioSpec.model_validate({"config": {}})
    zero = IstioSpec.model_validate({"config": {"numTrustedProxies": 0}})
    assert absent.config is not None
    assert zero.config is not None
    assert absent.config.num_trusted_proxies is None
    assert zero.config.num_trusted_proxies == 0
    assert absent.to_wire() == {"config": {}}
    assert zero.to_wire() == {"config": {"numTrustedProxies": 0}}


# --- authorizers ----------------------------------------------------------------------------------

AUTHORIZER = {"name": "ext-authz", "service": "ext-authz.auth.svc.cluster.local", "port": 8080}


def authorizers(*items: dict[str, Any]) -> dict[str, Any]:
    return {"config": {"authorizers": list(items)}}


@pytest.mark.parametrize("field", ["name", "port"])
def test_authorizer_without_a_required_field_is_refused(field: str) -> None:
    item = {key: value for key, value in AUTHORIZER.items() if key != field}
    assert problems(authorizers(item)) == [f"spec.config.authorizers[0].{field}: required field is missing"]


@pytest.mark.parametrize("port", [1, 8080, 65535])
def test_authorizer_port_within_the_port_range_is_accepted(port: int) -> None:
    assert problems(authorizers({**AUTHORIZER, "port": port})) == []


@pytest.mark.parametrize(
    ("port", "rule"),
    [
        (0, "must be at least 1 (got 0)"),
        (-1, "must be at least 1 (got -1)"),
        (65536, "must be at most 65535 (got 65536)"),
        ("8080", 'must be an integer (got "8080")'),
    ],
)
def test_authorizer_port_outside_the_port_range_is_refused(port: Any, rule: str) -> None:
    assert problems(authorizers({**AUTHORIZER, "port": port})) == [f"spec.config.authorizers[0].port: {rule}"]


def test_authorizer_with_empty_name_is_refused() -> None:
    assert problems(authorizers({**AUTHORIZER, "name": ""})) == [
        'spec.config.authorizers[0].name: must not be empty (got "")'
    ]


def test_authorizer_headers_accept_every_documented_field() -> None:
    headers = {
        "inCheck": {"include": ["x-user", "cookie"], "add": {"x-origin": "mesh"}},
        "toUpstream": {"onAllow": ["x-auth-user"]},
        "toDownstream": {"onAllow": ["set-cookie"], "onDeny": ["www-authenticate"]},
    }
    doc = authorizers({**AUTHORIZER, "headers": headers})
    assert IstioSpec.model_validate(doc).to_wire() == doc


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"inCheck": {"add": {"x-origin": 1}}}, "headers.inCheck.add.x-origin: must be a string (got 1)"),
        ({"inCheck": {"include": "x-user"}}, 'headers.inCheck.include: must be a list (got "x-user")'),
        ({"toUpstream": {"onDeny": ["x"]}}, "headers.toUpstream.onDeny: unknown field"),
        ({"toDownstream": {"onAllow": [1]}}, "headers.toDownstream.onAllow[0]: must be a string (got 1)"),
        ({"inCheck": {"exclude": []}}, "headers.inCheck.exclude: unknown field"),
    ],
)
def test_malformed_authorizer_headers_are_refused(headers: dict[str, Any], problem: str) -> None:
    assert problems(authorizers({**AUTHORIZER, "headers": headers})) == [
        f"spec.config.authorizers[0].{problem}"
    ]


def test_every_broken_authorizer_is_reported_with_its_index() -> None:
    assert problems(authorizers(AUTHORIZER, {"name": "b"}, {"port": 1})) == [
        "spec.config.authorizers[1].port: required field is missing",
        "spec.config.authorizers[2].name: required field is missing",
    ]


# --- required objects ----------------------------------------------------------------------------


@pytest.mark.parametrize("component", ["pilot", "ingressGateway", "cni", "proxy"])
def test_component_without_k8s_is_refused(component: str) -> None:
    assert problems({"components": {component: {}}}) == [
        f"spec.components.{component}.k8s: required field is missing"
    ]


@pytest.mark.parametrize("component", ["pilot", "ingressGateway", "cni", "proxy"])
def test_component_with_empty_k8s_is_accepted(component: str) -> None:
    assert problems({"components": {component: {"k8s": {}}}}) == []


@pytest.mark.parametrize("component", ["pilot", "ingressGateway"])
def test_strategy_without_rolling_update_is_refused(component: str) -> None:
    doc = nested(f"components.{component}.k8s.strategy", {})
    assert problems(doc) == [
        f"spec.components.{component}.k8s.strategy.rollingUpdate: required field is missing"
    ]


def test_strategy_with_empty_rolling_update_is_accepted() -> None:
    assert problems(nested(f"{PILOT_K8S}.strategy.rollingUpdate", {})) == []


# --- unknown fields --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "foo",
        "config.foo",
        "config.authorizers",
        "components.foo",
        "components.pilot.foo",
        f"{PILOT_K8S}.foo",
        f"{PILOT_K8S}.env",
        f"{PILOT_K8S}.hpaSpec.targetCPU",
        f"{PILOT_K8S}.resources.limits.gpu",
        f"{ROLLING}.partition",
        "components.cni.k8s.hpaSpec",
        "components.cni.k8s.affinity.nodeAffinity.foo",
        "components.proxy.k8s.strategy",
        "experimental.foo",
        "experimental.pilot.enableAlphaGatewayApi",
    ],
)
def test_unknown_field_is_refused(path: str) -> None:
    if path == "config.authorizers":
        doc = authorizers({**AUTHORIZER, "retries": 3})
        path = "config.authorizers[0].retries"
    else:
        doc = nested(path, {})
    assert f"spec.{path}: unknown field" in problems(doc)


# --- experimental flags ------------------------------------------------------------------------------


def test_experimental_flags_use_kyma_spelling_on_the_wire() -> None:
    doc = {
        "experimental": {
            "pilot": {"enableAlphaGatewayAPI": True, "enableMultiNetworkDiscoverGatewayAPI": True}
        }
    }
    spec = IstioSpec.model_validate(doc)
    assert spec.experimental is not None
    assert spec.experimental.pilot is not None
    assert spec.experimental.pilot.enable_alpha_gateway_api is True
    assert spec.experimental.pilot.enable_multi_network_discover_gateway_api is True
    assert spec.to_wire() == doc


def test_empty_experimental_section_is_kept_because_its_presence_matters() -> None:
    assert IstioSpec.model_validate({"experimental": {}}).to_wire() == {"experimental": {}}


# --- CNI affinity --------------------------------------------------------------------------------

SELECTOR = {
    "matchLabels": {"app": "istio-cni-node"},
    "matchExpressions": [{"key": "tier", "operator": "In", "values": ["system"]}],
}
POD_TERM = {
    "labelSelector": SELECTOR,
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "istio-system"}},
    "namespaces": ["istio-system"],
    "topologyKey": "kubernetes.io/hostname",
    "matchLabelKeys": ["pod-template-hash"],
    "mismatchLabelKeys": ["tenant"],
}
NODE_TERM = {
    "matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}],
    "matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["node-a"]}],
}
FULL_AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [NODE_TERM]},
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 10, "preference": NODE_TERM}],
    },
    "podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [POD_TERM],
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": POD_TERM}],
    },
    "podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [POD_TERM],
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "podAffinityTerm": POD_TERM}],
    },
}


def test_cni_accepts_a_full_kubernetes_affinity() -> None:
    doc = nested("components.cni.k8s.affinity", FULL_AFFINITY)
    assert IstioSpec.model_validate(doc).to_wire() == doc


@pytest.mark.parametrize(
    ("affinity", "problem"),
    [
        ({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}}, "nodeSelectorTerms"),
        ({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{}]}}, "[0].topologyKey"),
        (
            {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 0}]}},
            "[0].weight: must be at least 1",
        ),
    ],
)
def test_cni_affinity_follows_kubernetes_requiredness(affinity: dict[str, Any], problem: str) -> None:
    assert any(problem in line for line in problems(nested("components.cni.k8s.affinity", affinity)))


# --- round trip -----------------------------------------------------------------------------------

K8S = {
    "hpaSpec": {"maxReplicas": 5, "minReplicas": 1},
    "strategy": {"rollingUpdate": {"maxSurge": "50%", "maxUnavailable": 0}},
    "resources": {"limits": {"cpu": "1000m", "memory": "1Gi"}, "requests": {"cpu": "0.1", "memory": "128Mi"}},
}
FULL_SPEC = {
    "compatibilityMode": True,
    "config": {
        "numTrustedProxies": 2,
        "gatewayExternalTrafficPolicy": "Local",
        "authorizers": [
            {
                **AUTHORIZER,
                "headers": {
                    "inCheck": {"include": ["authorization"], "add": {"x-mesh": "kyma"}},
                    "toUpstream": {"onAllow": ["x-user"]},
                    "toDownstream": {"onAllow": ["set-cookie"], "onDeny": ["www-authenticate"]},
                },
            },
            {"name": "second", "service": "other.ns.svc.cluster.local", "port": 9000},
        ],
    },
    "components": {
        "pilot": {"k8s": K8S},
        "ingressGateway": {
            "k8s": {**K8S, "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}}}
        },
        "cni": {"k8s": {"affinity": FULL_AFFINITY, "resources": K8S["resources"]}},
        "proxy": {"k8s": {"resources": K8S["resources"]}},
    },
    "experimental": {"pilot": {"enableAlphaGatewayAPI": True, "enableMultiNetworkDiscoverGatewayAPI": False}},
}


def test_fully_populated_spec_survives_a_round_trip() -> None:
    assert IstioSpec.model_validate(FULL_SPEC).to_wire() == FULL_SPEC


def test_empty_spec_is_valid_because_every_field_is_optional() -> None:
    assert IstioSpec.model_validate({}).to_wire() == {}


def test_spec_is_frozen_so_decisions_cannot_mutate_it() -> None:
    spec = IstioSpec.model_validate(FULL_SPEC)
    with pytest.raises(ValidationError, match="frozen"):
        spec.compatibility_mode = False  # type: ignore[misc]


# --- status and the whole object ---------------------------------------------------------------------

NOW = datetime(2024, 10, 25, 12, 0, tzinfo=UTC)


def test_status_requires_one_of_the_five_states() -> None:
    assert {state.value for state in State} == {"Processing", "Deleting", "Ready", "Error", "Warning"}
    with pytest.raises(ValidationError):
        IstioStatus.model_validate({"description": "no state"})
    with pytest.raises(ValidationError):
        IstioStatus.model_validate({"state": "Done"})


def test_condition_reads_a_kubernetes_condition_and_defaults_the_message() -> None:
    condition = Condition.model_validate(
        {
            "type": "Ready",
            "status": "True",
            "reason": "ReconcileSucceeded",
            "lastTransitionTime": NOW.isoformat(),
        }
    )
    assert (condition.lastTransitionTime, condition.message) == (NOW, "")


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "Maybe"), ("reason", ""), ("reason", "has spaces"), ("type", "no spaces allowed")],
)
def test_condition_refuses_what_kubernetes_refuses(field: str, value: str) -> None:
    doc = {"type": "Ready", "status": "True", "reason": "ReconcileSucceeded", "lastTransitionTime": NOW}
    with pytest.raises(ValidationError):
        Condition.model_validate({**doc, field: value})


def test_istio_type_meta_matches_the_api_names() -> None:
    istio = Istio()
    assert (istio.apiVersion, istio.kind) == (names.API_VERSION, names.KIND)
    assert istio.metadata.namespace == names.OPERATOR_NAMESPACE

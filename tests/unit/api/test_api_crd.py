"""The generated CRD: Kyma's names and rules, a structural schema, and a committed copy that is fresh."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from kyma_istio.api import names, v1alpha2
from kyma_istio.api.crd import build_crd, build_openapi_schema, render_crd_yaml
from kyma_istio.api.openapi import clean_description, structural_schema

COMMITTED_CRD = Path(__file__).parents[3] / "deploy" / "crds" / "operator.kyma-project.io_istios.yaml"

# --- a structural-schema checker --------------------------------------------------------------------
# The rules the API server applies to a CRD schema (apiextensions.k8s.io/v1, "structural schema"),
# narrowed to what this CRD may use. Kept independent of the generator so that the two check each other.

ALLOWED_KEYS = frozenset(
    {
        "description",
        "type",
        "format",
        "properties",
        "required",
        "items",
        "additionalProperties",
        "enum",
        "pattern",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "maxItems",
        "anyOf",
        "x-kubernetes-int-or-string",
        "x-kubernetes-validations",
    }
)
TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean"})
INT_OR_STRING_ANY_OF = [{"type": "integer"}, {"type": "string"}]


def structural_violations(schema: Mapping[str, Any], path: str = "") -> list[str]:
    """Every way ``schema`` breaks the structural-schema rules; empty when it is fine."""
    problems = [f"{path}: {problem}" for problem in _node_violations(schema, path)]
    for name, child in _children(schema):
        problems += structural_violations(child, f"{path}.{name}" if path else name)
    return problems


def _node_violations(node: Mapping[str, Any], path: str) -> Iterator[str]:
    if unknown := sorted(set(node) - ALLOWED_KEYS):
        yield f"keys a structural schema without defaults may not hold: {unknown}"
    if node.get("x-kubernetes-int-or-string") is True:
        if "type" in node or node.get("anyOf", INT_OR_STRING_ANY_OF) != INT_OR_STRING_ANY_OF:
            yield "int-or-string must have no type and anyOf [integer, string]"
    else:
        if node.get("type") not in TYPES:
            yield "has no type"
        if "anyOf" in node:
            yield "anyOf is allowed only on int-or-string"
    if "properties" in node and "additionalProperties" in node:
        yield "properties and additionalProperties together"
    # ``metadata`` is the one object whose schema belongs to the API server.
    unspecified = not {"properties", "additionalProperties"} & set(node)
    if node.get("type") == "object" and unspecified and path != "metadata":
        yield "an object without properties prunes everything"
    if node.get("type") == "array" and not isinstance(node.get("items"), Mapping):
        yield "an array without an items schema"
    if missing := set(node.get("required", ())) - set(node.get("properties", {})):
        yield f"requires undeclared fields {sorted(missing)}"
    if "pattern" in node:
        re.compile(node["pattern"])
    for rule in node.get("x-kubernetes-validations", ()):
        if set(rule) != {"rule", "message"}:
            yield f"a validation needs a rule and a message: {rule}"


def _children(node: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield from node.get("properties", {}).items()
    if isinstance(node.get("items"), Mapping):
        yield "[]", node["items"]
    if isinstance(node.get("additionalProperties"), Mapping):
        yield "{}", node["additionalProperties"]


def _at(path: str) -> dict[str, Any]:
    """The CRD schema node at a dotted path; ``[]`` steps into array items."""
    node: dict[str, Any] = build_openapi_schema()
    for part in path.split("."):
        node = node["items"] if part == "[]" else node["properties"][part]
    return node


# --- the checker itself -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "complaint"),
    [
        ({"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}}, "keys"),
        ({"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "null"}]}}}, "anyOf"),
        ({"type": "object", "properties": {"a": {"description": "untyped"}}}, "has no type"),
        ({"type": "object", "properties": {}, "additionalProperties": False}, "together"),
        ({"type": "object", "properties": {"a": {"type": "string", "default": "x"}}}, "keys"),
        ({"type": "object", "properties": {"a": {"type": "string", "title": "A"}}}, "keys"),
        ({"type": "object", "properties": {"a": {"type": "object"}}}, "prunes"),
        ({"type": "object", "properties": {}, "required": ["a"]}, "undeclared"),
        ({"type": "array"}, "items"),
        ({"x-kubernetes-int-or-string": True, "type": "string"}, "int-or-string"),
    ],
)
def test_the_checker_refuses_what_the_api_server_refuses(schema: dict[str, Any], complaint: str) -> None:
    assert any(complaint in problem for problem in structural_violations(schema))


# --- the generated CRD --------------------------------------------------------------------------------


def test_generated_schema_is_structural() -> None:
    assert structural_violations(build_openapi_schema()) == []


def test_committed_crd_equals_the_generated_one() -> None:
    committed = COMMITTED_CRD.read_text() if COMMITTED_CRD.exists() else ""
    assert committed == render_crd_yaml(), f"{COMMITTED_CRD.name} is stale: run `make crd`"


def test_rendering_is_deterministic_and_reads_back_as_the_crd() -> None:
    assert render_crd_yaml() == render_crd_yaml()
    assert yaml.safe_load(render_crd_yaml()) == build_crd()


def test_crd_carries_kyma_names_and_scope() -> None:
    crd = build_crd()
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["kind"] == "CustomResourceDefinition"
    assert crd["metadata"]["name"] == "istios.operator.kyma-project.io" == names.CRD_NAME
    assert crd["spec"]["group"] == "operator.kyma-project.io"
    assert crd["spec"]["scope"] == "Namespaced"
    assert crd["spec"]["names"] == {
        "kind": "Istio",
        "listKind": "IstioList",
        "plural": "istios",
        "singular": "istio",
        "categories": ["kyma-modules", "kyma-istio"],
    }


def test_only_v1alpha2_is_served_and_stored_with_a_status_subresource() -> None:
    (version,) = build_crd()["spec"]["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha2", True, True)
    assert version["subresources"] == {"status": {}}
    assert version["additionalPrinterColumns"] == [
        {"name": "State", "type": "string", "jsonPath": ".status.state"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]


def test_crd_sets_no_defaults() -> None:
    assert not any("default" in node for _, node in _walk(build_openapi_schema()))


def _walk(node: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield path, node
    for name, child in _children(node):
        yield from _walk(child, f"{path}.{name}")


def test_every_field_has_a_description_in_markdown_style() -> None:
    for path, node in _walk(build_openapi_schema()["properties"]["spec"]):
        if path.endswith(("[]", "{}")):
            continue
        assert node.get("description"), f"{path} has no description"
        assert "``" not in node["description"], path


def test_top_level_schema_declares_type_meta_metadata_spec_and_status() -> None:
    schema = build_openapi_schema()
    assert schema["type"] == "object"
    assert set(schema["properties"]) == {"apiVersion", "kind", "metadata", "spec", "status"}
    assert schema["properties"]["metadata"] == {"type": "object"}
    assert "required" not in schema


PILOT = "spec.components.pilot.k8s"
ROLLING = f"{PILOT}.strategy.rollingUpdate"
CEL = {"rule": v1alpha2.INT_OR_STRING_RULE, "message": v1alpha2.INT_OR_STRING_MESSAGE}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("spec.compatibilityMode", {"type": "boolean"}),
        ("spec.config.numTrustedProxies", {"type": "integer", "minimum": 0, "maximum": 4294967295}),
        ("spec.config.authorizers", {"type": "array"}),
        # ``service`` is optional since Kyma 1.24.
        ("spec.config.authorizers.[]", {"type": "object", "required": ["name", "port"]}),
        ("spec.config.authorizers.[].pathPrefix", {"type": "string"}),
        ("spec.config.authorizers.[].timeout", {"type": "string"}),
        (
            "spec.config.forwardClientCertDetails",
            {
                "type": "string",
                "enum": ["APPEND_FORWARD", "SANITIZE_SET", "SANITIZE", "ALWAYS_FORWARD_ONLY", "FORWARD_ONLY"],
            },
        ),
        ("spec.config.telemetry.metrics.prometheusMerge", {"type": "boolean"}),
        (
            "spec.config.trustDomain",
            {
                "type": "string",
                "minLength": 1,
                "maxLength": 255,
                "pattern": r"^[a-z0-9]*([a-z0-9-_]*)?(\.[a-z0-9]*([a-z0-9-_]*[a-z0-9]*)?)*$",
            },
        ),
        ("spec.config.enableDNSProxying", {"type": "boolean"}),
        (
            "spec.config.proxyStatsMatcher.inclusionRegexps",
            {
                "type": "array",
                "maxItems": 64,
                "items": {"type": "string", "maxLength": 1024},
                "x-kubernetes-validations": [
                    {
                        "rule": "self.all(x, type(''.matches(x)) == bool)",
                        "message": "each entry must be a valid RE2 regular expression",
                    }
                ],
            },
        ),
        ("spec.components.egressGateway.enabled", {"type": "boolean"}),
        ("spec.components.egressGateway.k8s.strategy", {"required": ["rollingUpdate"]}),
        ("spec.experimental.enableAmbient", {"type": "boolean"}),
        ("spec.networkPoliciesEnabled", {"type": "boolean"}),
        ("spec.config.authorizers.[].port", {"type": "integer", "format": "int32"}),
        (
            "spec.config.authorizers.[].headers.inCheck.include",
            {"type": "array", "items": {"type": "string"}},
        ),
        (
            "spec.config.authorizers.[].headers.inCheck.add",
            {"type": "object", "additionalProperties": {"type": "string"}},
        ),
        ("spec.config.authorizers.[].headers.toUpstream.onAllow", {"type": "array"}),
        ("spec.config.authorizers.[].headers.toDownstream.onAllow", {"type": "array"}),
        ("spec.config.authorizers.[].headers.toDownstream.onDeny", {"type": "array"}),
        ("spec.config.gatewayExternalTrafficPolicy", {"type": "string", "enum": ["Local", "Cluster"]}),
        ("spec.components.pilot", {"required": ["k8s"]}),
        ("spec.components.ingressGateway", {"required": ["k8s"]}),
        ("spec.components.cni", {"required": ["k8s"]}),
        ("spec.components.proxy", {"required": ["k8s"]}),
        (f"{PILOT}.hpaSpec.maxReplicas", {"type": "integer", "minimum": 0, "maximum": 2147483647}),
        (f"{PILOT}.hpaSpec.minReplicas", {"type": "integer", "minimum": 0, "maximum": 2147483647}),
        (f"{PILOT}.strategy", {"required": ["rollingUpdate"]}),
        (
            f"{ROLLING}.maxSurge",
            {
                "x-kubernetes-int-or-string": True,
                "anyOf": INT_OR_STRING_ANY_OF,
                "pattern": "^[0-9]+%?$",
                "x-kubernetes-validations": [CEL],
            },
        ),
        (
            f"{ROLLING}.maxUnavailable",
            {
                "x-kubernetes-int-or-string": True,
                "anyOf": INT_OR_STRING_ANY_OF,
                "pattern": "^((100|[0-9]{1,2})%|[0-9]+)$",
                "x-kubernetes-validations": [CEL],
            },
        ),
        (f"{PILOT}.resources.limits.cpu", {"type": "string", "pattern": r"^([0-9]+m?|[0-9]\.[0-9]{1,3})$"}),
        (
            "spec.components.proxy.k8s.resources.requests.memory",
            {
                "type": "string",
                "pattern": r"^[0-9]+(((\.[0-9]+)?(E|P|T|G|M|k|Ei|Pi|Ti|Gi|Mi|Ki|m)?)|(e[0-9]+))$",
            },
        ),
        ("spec.components.cni.k8s.affinity.nodeAffinity", {"type": "object"}),
        ("spec.components.cni.k8s.affinity.podAffinity", {"type": "object"}),
        ("spec.components.cni.k8s.affinity.podAntiAffinity", {"type": "object"}),
        ("spec.experimental.pilot.enableAlphaGatewayAPI", {"type": "boolean"}),
        ("spec.experimental.pilot.enableMultiNetworkDiscoverGatewayAPI", {"type": "boolean"}),
        (
            "status",
            {"type": "object", "required": ["state"]},
        ),
        (
            "status.state",
            {"type": "string", "enum": ["Processing", "Deleting", "Ready", "Error", "Warning"]},
        ),
        ("status.description", {"type": "string"}),
        (
            "status.conditions.[]",
            {"type": "object", "required": ["type", "status", "reason", "message", "lastTransitionTime"]},
        ),
        ("status.conditions.[].status", {"type": "string", "enum": ["True", "False", "Unknown"]}),
        ("status.conditions.[].lastTransitionTime", {"type": "string", "format": "date-time"}),
    ],
)
def test_crd_field_carries_the_rules_of_the_kyma_crd(path: str, expected: dict[str, Any]) -> None:
    node = _at(path)
    assert {key: node.get(key) for key in expected} == expected


def test_component_k8s_objects_hold_only_their_documented_settings() -> None:
    deployment_settings = {"hpaSpec", "strategy", "resources"}
    assert set(_at(PILOT)["properties"]) == deployment_settings
    assert set(_at("spec.components.ingressGateway.k8s")["properties"]) == deployment_settings
    assert set(_at("spec.components.egressGateway.k8s")["properties"]) == deployment_settings
    assert set(_at("spec.components.cni.k8s")["properties"]) == {"affinity", "resources"}
    assert set(_at("spec.components.proxy.k8s")["properties"]) == {"resources"}


# --- the converter on its own ---------------------------------------------------------------------


class _Defaulted(BaseModel):
    value: int = 3


class _Node(BaseModel):
    child: _Node | None = None


def test_a_model_default_is_refused_because_the_crd_sets_none() -> None:
    with pytest.raises(ValueError, match="no defaults"):
        structural_schema(_Defaulted)


def test_a_recursive_model_is_refused_because_a_crd_cannot_express_it() -> None:
    with pytest.raises(ValueError, match="recursion"):
        structural_schema(_Node)


def test_descriptions_lose_hard_wraps_and_double_backticks_but_keep_paragraphs() -> None:
    text = "Uses ``100m``\n    for the\n    limit.\n\n    Second paragraph."
    assert clean_description(text) == "Uses `100m` for the limit.\n\nSecond paragraph."


def test_a_converted_schema_is_a_tree_without_shared_nodes() -> None:
    schema = structural_schema(v1alpha2.Components)
    pilot_cpu = schema["properties"]["pilot"]["properties"]["k8s"]["properties"]["resources"]
    gateway_cpu = schema["properties"]["ingressGateway"]["properties"]["k8s"]["properties"]["resources"]
    assert pilot_cpu == gateway_cpu
    assert pilot_cpu is not gateway_cpu
    assert "&id" not in render_crd_yaml()

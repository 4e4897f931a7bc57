"""Validation problems as users read them: field path in camelCase, the rule, the offending value."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from kyma_istio.api.v1alpha2 import Istio, IstioSpec, IstioStatus
from kyma_istio.api.validation import InvalidIstio, describe_errors, parse_istio

ISTIO = {"apiVersion": "operator.kyma-project.io/v1alpha2", "kind": "Istio"}


def errors_of(model: type[IstioSpec | IstioStatus], doc: Any, root: str = "spec") -> list[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(doc)
    return describe_errors(caught.value, root=root)


@pytest.mark.parametrize(
    ("doc", "line"),
    [
        (
            {"components": {"pilot": {"k8s": {"resources": {"limits": {"cpu": "abc"}}}}}},
            "spec.components.pilot.k8s.resources.limits.cpu: "
            r'must match pattern ^([0-9]+m?|[0-9]\.[0-9]{1,3})$ (got "abc")',
        ),
        (
            {"config": {"gatewayExternalTrafficPolicy": "Foo"}},
            'spec.config.gatewayExternalTrafficPolicy: must be one of Local, Cluster (got "Foo")',
        ),
        ({"components": {"pilot": {}}}, "spec.components.pilot.k8s: required field is missing"),
        ({"config": {"foo": 1}}, "spec.config.foo: unknown field"),
        ({"config": {"numTrustedProxies": -3}}, "spec.config.numTrustedProxies: must be at least 0 (got -3)"),
        (
            {"config": {"authorizers": [{"name": "a", "service": "b", "port": 0}]}},
            "spec.config.authorizers[0].port: must be at least 1 (got 0)",
        ),
        ({"components": "pilot"}, 'spec.components: must be an object (got "pilot")'),
        (
            {"config": {"authorizers": {"name": "a"}}},
            'spec.config.authorizers: must be a list (got {"name": "a"})',
        ),
        ("nonsense", 'spec: must be an object (got "nonsense")'),
        (
            {"components": {"ingressGateway": {"k8s": {"strategy": {"rollingUpdate": {"maxSurge": -1}}}}}},
            "spec.components.ingressGateway.k8s.strategy.rollingUpdate.maxSurge: "
            "must not be negative, more than 2147483647 or an empty string (got -1)",
        ),
    ],
)
def test_each_problem_is_one_line_naming_the_camel_case_path_and_the_rule(doc: Any, line: str) -> None:
    assert errors_of(IstioSpec, doc) == [line]


def test_enum_problems_list_the_allowed_states() -> None:
    assert errors_of(IstioStatus, {"state": "Done"}, root="status") == [
        'status.state: must be one of Processing, Deleting, Ready, Error, Warning (got "Done")'
    ]


def test_a_map_key_that_is_not_a_string_is_named_as_a_key() -> None:
    doc = {
        "config": {
            "authorizers": [
                {"name": "a", "service": "b", "port": 1, "headers": {"inCheck": {"add": {5: "x"}}}}
            ]
        }
    }
    assert errors_of(IstioSpec, doc) == [
        "spec.config.authorizers[0].headers.inCheck.add[5]: key must be a string (got 5)"
    ]


def test_long_values_are_cut_short() -> None:
    (line,) = errors_of(
        IstioSpec, {"components": {"pilot": {"k8s": {"resources": {"limits": {"cpu": "x" * 500}}}}}}
    )
    assert line.endswith("…)")
    assert len(line) < 200


def test_an_empty_root_gives_paths_from_the_top_of_the_object() -> None:
    assert errors_of(IstioSpec, {"config": {"foo": 1}}, root="") == ["config.foo: unknown field"]


def test_every_problem_is_reported_at_once_in_document_order() -> None:
    doc = {
        "config": {"numTrustedProxies": -1, "gatewayExternalTrafficPolicy": "x"},
        "components": {"proxy": {}},
    }
    assert errors_of(IstioSpec, doc) == [
        "spec.config.numTrustedProxies: must be at least 0 (got -1)",
        'spec.config.gatewayExternalTrafficPolicy: must be one of Local, Cluster (got "x")',
        "spec.components.proxy.k8s: required field is missing",
    ]


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)
KEYS = st.sampled_from(["config", "components", "experimental", "compatibilityMode", "pilot", "k8s", "cni"])


@given(st.dictionaries(KEYS, JSONISH, max_size=4))
def test_no_problem_ever_speaks_pydantic(doc: dict[str, Any]) -> None:
    try:
        IstioSpec.model_validate(doc)
    except ValidationError as err:
        for line in describe_errors(err):
            assert line.startswith("spec")
            assert "Input should" not in line
            assert "pydantic" not in line


# --- parse_istio ---------------------------------------------------------------------------------


def test_a_valid_document_parses_into_an_istio() -> None:
    istio = parse_istio(
        {
            **ISTIO,
            "metadata": {"name": "default", "namespace": "kyma-system"},
            "spec": {"compatibilityMode": True},
        }
    )
    assert isinstance(istio, Istio)
    assert istio.spec.compatibility_mode is True


def test_spec_problems_are_collected_into_invalid_istio() -> None:
    with pytest.raises(InvalidIstio) as caught:
        parse_istio({**ISTIO, "spec": {"config": {"foo": 1}, "components": {"cni": {}}}})
    assert caught.value.problems == [
        "spec.config.foo: unknown field",
        "spec.components.cni.k8s: required field is missing",
    ]
    assert isinstance(caught.value, ValueError)
    assert "spec.config.foo: unknown field" in str(caught.value)


@pytest.mark.parametrize(
    ("doc", "problems"),
    [
        (
            {"kind": "Istio"},
            ["apiVersion: required field is missing (expected operator.kyma-project.io/v1alpha2)"],
        ),
        (
            {"apiVersion": "operator.kyma-project.io/v1alpha2"},
            ["kind: required field is missing (expected Istio)"],
        ),
        (
            {"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator", "spec": {"profile": "demo"}},
            [
                'apiVersion: must be operator.kyma-project.io/v1alpha2 (got "install.istio.io/v1alpha1")',
                'kind: must be Istio (got "IstioOperator")',
            ],
        ),
        (
            {"apiVersion": "operator.kyma-project.io/v1alpha1", "kind": "Istio"},
            [
                "apiVersion: must be operator.kyma-project.io/v1alpha2"
                ' (got "operator.kyma-project.io/v1alpha1") (v1alpha1 was removed in Kyma Istio 1.10)'
            ],
        ),
    ],
)
def test_wrong_type_meta_is_reported_alone_and_clearly(doc: dict[str, Any], problems: list[str]) -> None:
    with pytest.raises(InvalidIstio) as caught:
        parse_istio(doc)
    assert caught.value.problems == problems


@pytest.mark.parametrize("doc", [["a", "list"], "text", None, 3])
def test_a_document_that_is_not_an_object_is_refused_without_a_traceback(doc: Any) -> None:
    with pytest.raises(InvalidIstio, match="the document must be an object"):
        parse_istio(doc)


def test_metadata_and_status_problems_are_named_from_the_top() -> None:
    with pytest.raises(InvalidIstio) as caught:
        parse_istio({**ISTIO, "metadata": {"name": 5}, "status": {"state": "Done"}})
    assert caught.value.problems == [
        "metadata.name: must be a string (got 5)",
        'status.state: must be one of Processing, Deleting, Ready, Error, Warning (got "Done")',
    ]


def test_parsing_leaves_the_document_untouched() -> None:
    doc = {**ISTIO, "spec": {"config": {"numTrustedProxies": 1}}}
    snapshot = repr(doc)
    parse_istio(doc)
    assert repr(doc) == snapshot

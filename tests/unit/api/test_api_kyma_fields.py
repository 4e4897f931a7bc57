"""The fields of Kyma 1.12-1.30 in the model: accepted as Kyma accepts them, refused naming field and rule."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_api_model import problems


def config(**fields: Any) -> dict[str, Any]:
    return {"config": fields}


@pytest.mark.parametrize(
    "doc",
    [
        config(forwardClientCertDetails="SANITIZE"),
        config(telemetry={"metrics": {"prometheusMerge": False}}),
        config(telemetry={"metrics": {}}),
        config(telemetry={}),
        config(trustDomain="example.org"),
        config(trustDomain="my-domain_1.example.org"),
        config(trustDomain="a" * 255),
        config(enableDNSProxying=False),
        config(proxyStatsMatcher={"inclusionRegexps": [".*outlier_detection.*", "(?i)upstream_rq_[0-9]+"]}),
        config(proxyStatsMatcher={}),
        config(authorizers=[{"name": "a", "port": 80}]),
        config(authorizers=[{"name": "a", "port": 80, "service": "", "pathPrefix": "", "timeout": "0"}]),
        config(authorizers=[{"name": "a", "port": 80, "timeout": "1h2m3.5s"}]),
        config(authorizers=[{"name": "a", "port": 80, "timeout": "250µs"}]),
        {"components": {"egressGateway": {}}},
        {"components": {"egressGateway": {"enabled": True}}},
        {"components": {"egressGateway": {"k8s": {"strategy": {"rollingUpdate": {"maxSurge": "25%"}}}}}},
        {"experimental": {"enableAmbient": True}},
        {"networkPoliciesEnabled": True},
    ],
)
def test_a_value_the_newest_kyma_crd_accepts_is_accepted(doc: dict[str, Any]) -> None:
    assert problems(doc) == []


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (
            config(forwardClientCertDetails="STRIP"),
            "spec.config.forwardClientCertDetails: must be one of APPEND_FORWARD, SANITIZE_SET, SANITIZE, "
            'ALWAYS_FORWARD_ONLY, FORWARD_ONLY (got "STRIP")',
        ),
        (config(trustDomain="Example.COM"), "spec.config.trustDomain: must match pattern"),
        (config(trustDomain="a" * 256), "spec.config.trustDomain: must be at most 255 characters long"),
        (config(trustDomain=""), "spec.config.trustDomain: must not be empty"),
        (
            config(proxyStatsMatcher={"inclusionRegexps": ["a.*", "(?<=x)"]}),
            "spec.config.proxyStatsMatcher.inclusionRegexps[1]: must be a valid RE2 regular expression "
            '(invalid perl operator: (?<=) (got "(?<=x)")',
        ),
        (
            config(proxyStatsMatcher={"inclusionRegexps": ["["]}),
            "spec.config.proxyStatsMatcher.inclusionRegexps[0]: must be a valid RE2 regular expression "
            "(missing ]",
        ),
        (
            config(proxyStatsMatcher={"inclusionRegexps": ["a"] * 65}),
            "spec.config.proxyStatsMatcher.inclusionRegexps: must have at most 64 entries",
        ),
        (
            config(authorizers=[{"name": "a", "port": 80, "timeout": "soon"}]),
            "spec.config.authorizers[0].timeout: must be a non-negative Go duration such as 5s, 1m30s or "
            '250ms (got "soon")',
        ),
        (
            config(authorizers=[{"name": "a", "port": 80, "timeout": "-5s"}]),
            "spec.config.authorizers[0].timeout: must be a non-negative Go duration",
        ),
        (
            config(authorizers=[{"name": "a", "port": 80, "timeout": "5"}]),
            "spec.config.authorizers[0].timeout: must be a non-negative Go duration",
        ),
        (
            {"components": {"egressGateway": {"k8s": {"hpaSpec": {"minReplicas": -1}}}}},
            "spec.components.egressGateway.k8s.hpaSpec.minReplicas: must be at least 0 (got -1)",
        ),
        (
            {"components": {"egressGateway": {"enabled": "yes"}}},
            'spec.components.egressGateway.enabled: must be true or false (got "yes")',
        ),
        (
            {"components": {"egressGateway": {"k8s": {"strategy": {}}}}},
            "spec.components.egressGateway.k8s.strategy.rollingUpdate: required field is missing",
        ),
        (
            config(enableDNSProxying="true"),
            'spec.config.enableDNSProxying: must be true or false (got "true")',
        ),
        ({"experimental": {"enableAmbient": 1}}, "spec.experimental.enableAmbient: must be true or false"),
        (
            config(telemetry={"metrics": {"prometheusMerge": "on"}}),
            "spec.config.telemetry.metrics.prometheusMerge",
        ),
    ],
)
def test_an_invalid_value_is_refused_naming_the_field_and_the_rule(
    doc: dict[str, Any], expected: str
) -> None:
    found = problems(doc)
    assert len(found) == 1, found
    assert found[0].startswith(expected)


# A regexp accepted by Python's re but not RE2 must be refused, and vice versa RE2 syntax Python lacks
# must be accepted: the check is the engine Envoy runs, not Python's.
@pytest.mark.parametrize("expression", [r"(?<=a)b", r"(?<!a)b", r"(a)\1", r"a(?=b)", r"a(?!b)", r"a++"])
def test_python_only_syntax_is_refused(expression: str) -> None:
    assert problems(config(proxyStatsMatcher={"inclusionRegexps": [expression]}))


@pytest.mark.parametrize("expression", [r"\pL+", r"[[:alpha:]]+", r"\C", r"(?P<name>a)", r"\Qa.b\E"])
def test_re2_only_syntax_is_accepted(expression: str) -> None:
    assert problems(config(proxyStatsMatcher={"inclusionRegexps": [expression]})) == []


@given(
    st.lists(st.integers(0, 10**6), min_size=1, max_size=4),
    st.sampled_from(["ns", "us", "ms", "s", "m", "h"]),
)
def test_every_go_duration_of_terms_is_accepted(numbers: list[int], unit: str) -> None:
    timeout = "".join(f"{n}{unit}" for n in numbers)
    assert problems(config(authorizers=[{"name": "a", "port": 80, "timeout": timeout}])) == []

"""The last-applied annotation: the reference's exact JSON, read back tolerantly (spec 4)."""

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kyma_istio import lines
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.mesh.lastapplied import LastApplied, parse_last_applied, render_last_applied


def spec(raw: dict[str, Any]) -> IstioSpec:
    return IstioSpec.model_validate(raw)


def test_the_reference_example_is_rendered_byte_for_byte() -> None:
    # The reference ran Istio 1.23.2: its example pins that line's tag.
    text = render_last_applied(spec({"config": {"numTrustedProxies": 1}}), lines.line("1.23").tag)

    assert text == '{"config":{"numTrustedProxies":1},"IstioTag":"1.23.2-distroless"}'


def test_an_empty_spec_still_has_a_config_object() -> None:
    assert (
        render_last_applied(spec({}), "1.23.2-distroless") == '{"config":{},"IstioTag":"1.23.2-distroless"}'
    )


def test_keys_come_in_the_reference_order_with_the_tag_last() -> None:
    raw = {
        "experimental": {"pilot": {"enableAlphaGatewayAPI": True}},
        "compatibilityMode": True,
        "components": {"proxy": {"k8s": {"resources": {"limits": {"cpu": "1"}}}}},
        "config": {"gatewayExternalTrafficPolicy": "Local", "numTrustedProxies": 0},
    }

    text = render_last_applied(spec(raw), "t")

    assert list(json.loads(text)) == ["config", "components", "experimental", "compatibilityMode", "IstioTag"]
    assert text.startswith('{"config":{"numTrustedProxies":0,"gatewayExternalTrafficPolicy":"Local"},')


def test_zero_trusted_proxies_is_kept_because_it_differs_from_unset() -> None:
    assert json.loads(render_last_applied(spec({"config": {"numTrustedProxies": 0}}), "t"))["config"] == {
        "numTrustedProxies": 0
    }


def test_false_compatibility_mode_and_empty_lists_are_omitted() -> None:
    raw = {"compatibilityMode": False, "config": {"authorizers": []}}

    assert render_last_applied(spec(raw), "t") == '{"config":{},"IstioTag":"t"}'


def test_empty_objects_that_mean_something_are_kept() -> None:
    raw: dict[str, Any] = {
        "experimental": {},
        "components": {"cni": {"k8s": {"affinity": {"podAntiAffinity": {}}}}},
    }

    document = json.loads(render_last_applied(spec(raw), "t"))

    assert document["experimental"] == {}
    assert document["components"]["cni"]["k8s"]["affinity"] == {"podAntiAffinity": {}}


def test_the_json_is_compact() -> None:
    text = render_last_applied(
        spec({"config": {"authorizers": [{"name": "a", "service": "s", "port": 1}]}}), "t"
    )

    assert " " not in text


def test_parsing_reads_the_spec_and_the_tag() -> None:
    parsed = parse_last_applied(
        '{"config":{"numTrustedProxies":1},"compatibilityMode":true,"IstioTag":"1.22.3"}'
    )

    assert parsed == LastApplied(
        spec=spec({"config": {"numTrustedProxies": 1}, "compatibilityMode": True}), istio_tag="1.22.3"
    )


def test_a_missing_tag_reads_as_empty_for_the_version_rules_to_refuse() -> None:
    assert parse_last_applied('{"config":{}}').istio_tag == ""


def test_unknown_keys_at_any_depth_are_ignored() -> None:
    text = json.dumps(
        {
            "config": {
                "numTrustedProxies": 2,
                "forwardClientCertDetails": "SANITIZE",
                "authorizers": [{"name": "a", "service": "s", "port": 1, "retries": 3}],
                "futureSetting": {"deep": True},
            },
            "components": {"futureGateway": {"enabled": True}, "pilot": {"k8s": {"vpa": True}}},
            "IstioVersion": "1.24.0",
            "IstioTag": "1.24.0-distroless",
        }
    )

    parsed = parse_last_applied(text)

    assert parsed.istio_tag == "1.24.0-distroless"
    assert parsed.spec == spec(
        {
            "config": {
                "numTrustedProxies": 2,
                "forwardClientCertDetails": "SANITIZE",
                "authorizers": [{"name": "a", "service": "s", "port": 1}],
            },
            "components": {"pilot": {"k8s": {}}},
        }
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not valid JSON"),
        ("{", "not valid JSON"),
        ("[]", "not a JSON object"),
        ('"x"', "not a JSON object"),
        ('{"IstioTag":1}', "non-string IstioTag"),
        ('{"config":{"numTrustedProxies":-1}}', r"invalid spec: config\.numTrustedProxies"),
        ('{"config":{"authorizers":[{"name":"a"}]}}', "invalid spec: config.authorizers.0.port"),
    ],
)
def test_a_bad_annotation_is_a_value_error_saying_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_last_applied(text)


names = st.text(alphabet="abcdefghij-", min_size=1, max_size=8)
raw_specs = st.fixed_dictionaries(
    {},
    optional={
        "compatibilityMode": st.booleans(),
        "config": st.fixed_dictionaries(
            {},
            optional={
                "numTrustedProxies": st.integers(0, 4_294_967_295),
                "authorizers": st.lists(
                    st.fixed_dictionaries({"name": names, "service": names, "port": st.integers(1, 65535)}),
                    max_size=3,
                ),
                "gatewayExternalTrafficPolicy": st.sampled_from(["Local", "Cluster"]),
            },
        ),
        "components": st.fixed_dictionaries(
            {},
            optional={
                "pilot": st.fixed_dictionaries(
                    {
                        "k8s": st.fixed_dictionaries(
                            {},
                            optional={"hpaSpec": st.fixed_dictionaries({"maxReplicas": st.integers(0, 10)})},
                        )
                    }
                ),
                "proxy": st.fixed_dictionaries(
                    {
                        "k8s": st.fixed_dictionaries(
                            {},
                            optional={
                                "resources": st.fixed_dictionaries(
                                    {
                                        "limits": st.fixed_dictionaries(
                                            {"cpu": st.sampled_from(["1", "500m", "1.5"])}
                                        )
                                    }
                                )
                            },
                        )
                    }
                ),
            },
        ),
        "experimental": st.fixed_dictionaries(
            {}, optional={"pilot": st.fixed_dictionaries({"enableAlphaGatewayAPI": st.booleans()})}
        ),
    },
)


def _meaning(value: IstioSpec) -> dict[str, Any]:
    """What a spec means for the operator: false compatibility equals unset, an empty list equals none."""
    wire = value.to_wire()
    if not wire.get("compatibilityMode"):
        wire.pop("compatibilityMode", None)
    if wire.get("config", {}).get("authorizers") == []:
        del wire["config"]["authorizers"]
    wire.setdefault("config", {})
    return wire


@given(raw_specs, st.sampled_from(["1.23.2-distroless", "1.22.0", ""]))
def test_rendering_then_parsing_gives_back_an_equivalent_spec_and_the_tag(
    raw: dict[str, Any], tag: str
) -> None:
    original = spec(raw)

    parsed = parse_last_applied(render_last_applied(original, tag))

    assert parsed.istio_tag == tag
    assert _meaning(parsed.spec) == _meaning(original)

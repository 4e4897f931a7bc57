"""What changed since the last applied configuration: one value per pass (quiet check, install, gateway)."""

from typing import Any

import pytest

from kyma_istio.api import names
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.mesh.change import GatewaySettings, gateway_restart_needed, what_changed
from kyma_istio.mesh.lastapplied import LastApplied, render_last_applied


def cr_with(
    applied: IstioSpec | None, *, tag: str = DEFAULT_LINE.tag, iop_hash: str | None = None
) -> dict[str, Any]:
    annotations: dict[str, str] = {}
    if applied is not None:
        annotations[names.LAST_APPLIED_ANNOTATION] = render_last_applied(applied, tag)
    if iop_hash is not None:
        annotations[names.IOP_HASH_ANNOTATION] = iop_hash
    return {"metadata": {"name": "default", "annotations": annotations}}


def spec(raw: dict[str, Any]) -> IstioSpec:
    return IstioSpec.model_validate(raw)


def test_nothing_applied_yet_is_a_spec_change_but_no_compatibility_change() -> None:
    change = what_changed(cr_with(None), spec({"compatibilityMode": True}), tag=DEFAULT_LINE.tag)

    assert change.last is None
    assert change.spec_changed
    assert not change.compatibility_changed
    assert change.iop_changed("any")


def test_the_spec_last_applied_at_the_target_tag_is_no_change() -> None:
    applied = spec({"config": {"numTrustedProxies": 2}})

    change = what_changed(cr_with(applied, iop_hash="abc"), applied, tag=DEFAULT_LINE.tag)

    assert not change.spec_changed
    assert not change.restart_gateway
    assert not change.iop_changed("abc")
    assert change.iop_changed("def")


def test_an_empty_config_is_the_same_spec_as_none() -> None:
    assert not what_changed(cr_with(spec({})), spec({"config": {}}), tag=DEFAULT_LINE.tag).spec_changed


def test_another_tag_last_applied_is_a_spec_change() -> None:
    assert what_changed(
        cr_with(spec({}), tag="1.22.3-distroless"), spec({}), tag=DEFAULT_LINE.tag
    ).spec_changed


@pytest.mark.parametrize(("before", "now"), [(None, 1), (1, None), (1, 2), (None, 0)])
def test_a_different_number_of_trusted_proxies_is_a_gateway_change(
    before: int | None, now: int | None
) -> None:
    def trusted(value: int | None) -> IstioSpec:
        return spec({} if value is None else {"config": {"numTrustedProxies": value}})

    change = what_changed(cr_with(trusted(before)), trusted(now), tag=DEFAULT_LINE.tag)

    assert change.restart_gateway and change.spec_changed


def test_a_changed_compatibility_mode_is_reported() -> None:
    change = what_changed(cr_with(spec({})), spec({"compatibilityMode": True}), tag=DEFAULT_LINE.tag)

    assert change.compatibility_changed and not change.restart_gateway


def test_an_unreadable_last_applied_annotation_is_refused() -> None:
    cr = {"metadata": {"annotations": {names.LAST_APPLIED_ANNOTATION: "{not json"}}}

    with pytest.raises(ValueError, match="not valid JSON"):
        what_changed(cr, spec({}), tag=DEFAULT_LINE.tag)


def test_the_gateway_restarted_for_the_current_value_is_no_gateway_change() -> None:
    """A pass that continues restarts after the gateway was restarted does not restart it again."""
    cr = cr_with(spec({}))
    cr["metadata"]["annotations"][names.GATEWAY_RESTARTED_FOR_ANNOTATION] = "2"

    assert not what_changed(
        cr, spec({"config": {"numTrustedProxies": 2}}), tag=DEFAULT_LINE.tag
    ).restart_gateway
    assert what_changed(cr, spec({"config": {"numTrustedProxies": 3}}), tag=DEFAULT_LINE.tag).restart_gateway
    assert what_changed(cr, spec({}), tag=DEFAULT_LINE.tag).restart_gateway


def test_the_gateway_record_names_an_unset_value() -> None:
    cr = cr_with(spec({"config": {"numTrustedProxies": 1}}))
    cr["metadata"]["annotations"][names.GATEWAY_RESTARTED_FOR_ANNOTATION] = "unset"

    assert not what_changed(cr, spec({}), tag=DEFAULT_LINE.tag).restart_gateway


# --- gateway settings (Kyma 1.30's ingress gateway rules) ---------------------------------------------


@pytest.mark.parametrize(
    ("raw", "token"),
    [
        ({}, "unset"),
        ({"config": {"numTrustedProxies": 2}}, "2"),
        ({"config": {"numTrustedProxies": 0, "trustDomain": "example.org"}}, "0;trustDomain=example.org"),
        ({"config": {"forwardClientCertDetails": "SANITIZE"}}, "unset;xfcc=SANITIZE"),
    ],
)
def test_the_token_of_trusted_proxies_alone_is_the_one_earlier_releases_recorded(
    raw: dict[str, Any], token: str
) -> None:
    assert GatewaySettings.of(spec(raw)).token() == token


def test_regexps_are_recorded_by_a_hash_independent_of_their_order() -> None:
    one = GatewaySettings.of(spec({"config": {"proxyStatsMatcher": {"inclusionRegexps": ["a", "b"]}}}))
    other = GatewaySettings.of(spec({"config": {"proxyStatsMatcher": {"inclusionRegexps": ["b", "a"]}}}))
    third = GatewaySettings.of(spec({"config": {"proxyStatsMatcher": {"inclusionRegexps": ["a"]}}}))

    assert one.token() == other.token() != third.token()
    assert one.token().startswith("unset;stats=")


def test_an_empty_regexp_list_is_no_regexps() -> None:
    empty = spec({"config": {"proxyStatsMatcher": {"inclusionRegexps": []}}})
    assert GatewaySettings.of(empty) == GatewaySettings.of(spec({}))


def test_changed_settings_are_named_in_a_fixed_order() -> None:
    before = GatewaySettings.of(spec({"config": {"numTrustedProxies": 1}}))
    after = GatewaySettings.of(
        spec({"config": {"trustDomain": "x.org", "forwardClientCertDetails": "SANITIZE"}})
    )

    assert after.changed_from(before) == ("numTrustedProxies", "forwardClientCertDetails", "trustDomain")
    assert after.changed_from(after) == ()


@pytest.mark.parametrize(
    ("now", "before"),
    [
        ({"trustDomain": "a.org"}, {}),
        ({}, {"trustDomain": "a.org"}),
        ({"trustDomain": "a.org"}, {"trustDomain": "b.org"}),
        ({"forwardClientCertDetails": "SANITIZE"}, {"forwardClientCertDetails": "SANITIZE_SET"}),
        ({"proxyStatsMatcher": {"inclusionRegexps": ["a"]}}, {}),
    ],
)
def test_a_changed_gateway_setting_needs_a_restart_without_a_record(
    now: dict[str, Any], before: dict[str, Any]
) -> None:
    last = LastApplied(spec({"config": before}), DEFAULT_LINE.tag)
    assert gateway_restart_needed(spec({"config": now}), last, None)
    assert not gateway_restart_needed(
        spec({"config": now}), LastApplied(spec({"config": now}), DEFAULT_LINE.tag), None
    )


def test_a_record_decides_over_the_last_applied_spec() -> None:
    now = spec({"config": {"trustDomain": "a.org"}})
    last = LastApplied(spec({}), DEFAULT_LINE.tag)

    assert not gateway_restart_needed(now, last, "unset;trustDomain=a.org")
    assert gateway_restart_needed(now, last, "unset")


def test_what_changed_reads_the_egress_record_apart_from_the_ingress_one() -> None:
    applied = spec({})
    cr = cr_with(applied)
    cr["metadata"]["annotations"][names.GATEWAY_RESTARTED_FOR_ANNOTATION] = "unset;trustDomain=a.org"
    change = what_changed(cr, spec({"config": {"trustDomain": "a.org"}}), tag=DEFAULT_LINE.tag)

    assert not change.restart_gateway
    assert change.restart_egress_gateway
    assert change.gateway_changes == ("trustDomain",)

"""What changed since the last applied configuration: one value per pass (quiet check, install, gateway)."""

from typing import Any

import pytest

from kyma_istio import pins
from kyma_istio.api import names
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.mesh.change import what_changed
from kyma_istio.mesh.lastapplied import render_last_applied


def cr_with(
    applied: IstioSpec | None, *, tag: str = pins.ISTIO_TAG, iop_hash: str | None = None
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
    change = what_changed(cr_with(None), spec({"compatibilityMode": True}))

    assert change.last is None
    assert change.spec_changed
    assert not change.compatibility_changed
    assert change.iop_changed("any")


def test_the_spec_last_applied_at_the_target_tag_is_no_change() -> None:
    applied = spec({"config": {"numTrustedProxies": 2}})

    change = what_changed(cr_with(applied, iop_hash="abc"), applied)

    assert not change.spec_changed
    assert not change.restart_gateway
    assert not change.iop_changed("abc")
    assert change.iop_changed("def")


def test_an_empty_config_is_the_same_spec_as_none() -> None:
    assert not what_changed(cr_with(spec({})), spec({"config": {}})).spec_changed


def test_another_tag_last_applied_is_a_spec_change() -> None:
    assert what_changed(cr_with(spec({}), tag="1.22.3-distroless"), spec({})).spec_changed


@pytest.mark.parametrize(("before", "now"), [(None, 1), (1, None), (1, 2), (None, 0)])
def test_a_different_number_of_trusted_proxies_is_a_gateway_change(
    before: int | None, now: int | None
) -> None:
    def trusted(value: int | None) -> IstioSpec:
        return spec({} if value is None else {"config": {"numTrustedProxies": value}})

    change = what_changed(cr_with(trusted(before)), trusted(now))

    assert change.restart_gateway and change.spec_changed


def test_a_changed_compatibility_mode_is_reported() -> None:
    change = what_changed(cr_with(spec({})), spec({"compatibilityMode": True}))

    assert change.compatibility_changed and not change.restart_gateway


def test_an_unreadable_last_applied_annotation_is_refused() -> None:
    cr = {"metadata": {"annotations": {names.LAST_APPLIED_ANNOTATION: "{not json"}}}

    with pytest.raises(ValueError, match="not valid JSON"):
        what_changed(cr, spec({}))


def test_the_gateway_restarted_for_the_current_value_is_no_gateway_change() -> None:
    """A pass that continues restarts after the gateway was restarted does not restart it again."""
    cr = cr_with(spec({}))
    cr["metadata"]["annotations"][names.GATEWAY_RESTARTED_FOR_ANNOTATION] = "2"

    assert not what_changed(cr, spec({"config": {"numTrustedProxies": 2}})).restart_gateway
    assert what_changed(cr, spec({"config": {"numTrustedProxies": 3}})).restart_gateway
    assert what_changed(cr, spec({})).restart_gateway


def test_the_gateway_record_names_an_unset_value() -> None:
    cr = cr_with(spec({"config": {"numTrustedProxies": 1}}))
    cr["metadata"]["annotations"][names.GATEWAY_RESTARTED_FOR_ANNOTATION] = "unset"

    assert not what_changed(cr, spec({})).restart_gateway

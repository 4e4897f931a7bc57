"""The pure helpers of the install step: the IstioOperator hash and reading the last-applied annotation
(spec 4)."""

from typing import Any

import pytest

from kyma_istio.api import names
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.mesh.change import read_last_applied
from kyma_istio.mesh.desired import iop_hash
from kyma_istio.mesh.merge import merge
from kyma_istio.mesh.profile import Profile


def cr_with(annotations: dict[str, str] | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "default", "namespace": "kyma-system"}
    if annotations is not None:
        meta["annotations"] = annotations
    return {"metadata": meta}


# --- iop_hash -------------------------------------------------------------------------------------


def test_the_hash_does_not_depend_on_key_order() -> None:
    first = {"spec": {"hub": "h", "tag": "t", "values": {"a": 1, "b": [1, 2]}}, "kind": "IstioOperator"}
    second = {"kind": "IstioOperator", "spec": {"values": {"b": [1, 2], "a": 1}, "tag": "t", "hub": "h"}}

    assert iop_hash(first) == iop_hash(second)


def test_the_hash_changes_with_a_value() -> None:
    assert iop_hash({"spec": {"tag": "1.23.2"}}) != iop_hash({"spec": {"tag": "1.23.3"}})


def test_the_hash_depends_on_list_order() -> None:
    assert iop_hash({"a": [1, 2]}) != iop_hash({"a": [2, 1]})


def test_the_hash_is_short_hex() -> None:
    digest = iop_hash({"spec": {}})

    assert len(digest) == 16
    assert set(digest) <= set("0123456789abcdef")


def test_the_hash_of_a_merged_iop_is_stable_and_follows_the_spec() -> None:
    plain = merge(IstioSpec(), profile=Profile.PRODUCTION, line=DEFAULT_LINE)
    again = merge(IstioSpec(), profile=Profile.PRODUCTION, line=DEFAULT_LINE)
    trusted = merge(
        IstioSpec.model_validate({"config": {"numTrustedProxies": 2}}),
        profile=Profile.PRODUCTION,
        line=DEFAULT_LINE,
    )

    assert iop_hash(plain) == iop_hash(again)
    assert iop_hash(plain) != iop_hash(trusted)


# --- read_last_applied ----------------------------------------------------------------------------


def test_no_annotations_means_no_last_applied() -> None:
    assert read_last_applied(cr_with(None)) is None


def test_null_annotations_mean_no_last_applied() -> None:
    assert read_last_applied({"metadata": {"annotations": None}}) is None


def test_other_annotations_only_mean_no_last_applied() -> None:
    assert read_last_applied(cr_with({"kubectl.kubernetes.io/last-applied-configuration": "{}"})) is None


def test_a_cr_without_metadata_has_no_last_applied() -> None:
    assert read_last_applied({}) is None


def test_the_annotation_is_read_into_spec_and_tag() -> None:
    text = '{"config":{"numTrustedProxies":1},"compatibilityMode":true,"IstioTag":"1.22.5-distroless"}'

    last = read_last_applied(cr_with({names.LAST_APPLIED_ANNOTATION: text}))

    assert last is not None
    assert last.istio_tag == "1.22.5-distroless"
    assert last.spec.config is not None
    assert last.spec.config.num_trusted_proxies == 1
    assert last.spec.compatibility_mode is True


@pytest.mark.parametrize("text", ["{not json", "", "[1, 2]"])
def test_a_bad_annotation_raises_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="last-applied configuration"):
        read_last_applied(cr_with({names.LAST_APPLIED_ANNOTATION: text}))

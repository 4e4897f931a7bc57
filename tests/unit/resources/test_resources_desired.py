"""The operator's own Istio objects: what is wanted, what to apply, what to prune."""

from __future__ import annotations

import copy
from typing import Any

from kyma_istio.api import names
from kyma_istio.resources import desired
from kyma_istio.resources.desired import ObjectKey


def by_kind(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {obj["kind"]: obj for obj in objects}


def test_every_cluster_gets_mesh_wide_strict_mtls() -> None:
    objects = desired.desired_resources(provider="gcp", operator_version="1.2.3")

    assert [obj["kind"] for obj in objects] == ["PeerAuthentication"]
    peer = objects[0]
    assert peer["apiVersion"] == "security.istio.io/v1"
    assert peer["metadata"]["name"] == "default"
    assert peer["metadata"]["namespace"] == names.ISTIO_NAMESPACE
    assert peer["spec"] == {"mtls": {"mode": "STRICT"}}


def test_aws_clusters_also_get_the_proxy_protocol_filter() -> None:
    envoy_filter = by_kind(desired.desired_resources(provider="aws", operator_version="1.2.3"))["EnvoyFilter"]

    assert envoy_filter["apiVersion"] == "networking.istio.io/v1alpha3"
    assert envoy_filter["metadata"]["name"] == "proxy-protocol"
    assert envoy_filter["spec"]["workloadSelector"] == {"labels": {"istio": "ingressgateway"}}
    [patch] = envoy_filter["spec"]["configPatches"]
    assert patch["applyTo"] == "LISTENER_FILTER"
    assert patch["patch"]["operation"] == "INSERT_FIRST"
    assert patch["patch"]["value"] == {
        "name": "proxy_protocol",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol"
        },
    }


def test_managed_objects_carry_operator_labels_version_and_disclaimer() -> None:
    for obj in desired.desired_resources(provider="aws", operator_version="1.2.3"):
        metadata = obj["metadata"]
        assert metadata["labels"] == {**names.OPERATOR_LABELS, "app.kubernetes.io/version": "1.2.3"}
        assert metadata["annotations"] == {names.DISCLAIMER_ANNOTATION: names.DISCLAIMER}


def test_callers_get_fresh_objects_they_may_change() -> None:
    first = desired.desired_resources(provider="aws", operator_version="1")
    first[0]["spec"]["mtls"]["mode"] = "PERMISSIVE"
    first[0]["metadata"]["labels"]["x"] = "y"

    second = desired.desired_resources(provider="aws", operator_version="1")

    assert second[0]["spec"] == {"mtls": {"mode": "STRICT"}}
    assert "x" not in second[0]["metadata"]["labels"]


def live(obj: dict[str, Any], *, api_version: str | None = None) -> dict[str, Any]:
    """``obj`` as the API server returns it: server fields added, possibly via another version."""
    result = copy.deepcopy(obj)
    result["metadata"] |= {"uid": "u-1", "resourceVersion": "7", "managedFields": []}
    result["status"] = {}
    if api_version:
        result["apiVersion"] = api_version
    return result


def test_the_filter_is_pruned_after_a_cluster_leaves_aws() -> None:
    existing = [live(obj) for obj in desired.desired_resources(provider="aws", operator_version="1")]
    wanted = desired.desired_resources(provider="gcp", operator_version="1")

    assert desired.resources_to_prune(wanted, existing) == [
        ObjectKey("networking.istio.io/v1alpha3", "EnvoyFilter", names.ISTIO_NAMESPACE, "proxy-protocol")
    ]


def test_nothing_is_pruned_when_everything_is_still_wanted_even_via_another_version() -> None:
    wanted = desired.desired_resources(provider="aws", operator_version="1")
    existing = [live(wanted[0], api_version="security.istio.io/v1beta1"), live(wanted[1])]

    assert desired.resources_to_prune(wanted, existing) == []


def test_objects_that_are_not_ours_are_never_pruned() -> None:
    ours = desired.desired_resources(provider="aws", operator_version="1")[1]
    installed_by_istio = live(ours)
    installed_by_istio["metadata"]["name"] = "stats-filter-1.23"
    installed_by_istio["metadata"]["labels"]["operator.istio.io/component"] = "Pilot"
    users = live(ours)
    users["metadata"]["name"] = "mine"
    users["metadata"]["labels"] = {names.MODULE_LABEL: names.MODULE_LABEL_VALUE}
    other_kind = live(ours)
    other_kind["apiVersion"], other_kind["kind"] = "apps/v1", "Deployment"

    pruned = desired.resources_to_prune([], [installed_by_istio, users, other_kind])

    assert pruned == []


def test_a_missing_object_needs_apply() -> None:
    wanted = desired.desired_resources(provider="gcp", operator_version="1")[0]

    assert desired.needs_apply(wanted, None)


def test_an_unchanged_object_needs_no_apply() -> None:
    wanted = desired.desired_resources(provider="aws", operator_version="1")[1]
    current = live(wanted)
    current["metadata"]["labels"]["team"] = "mesh"
    current["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = "{}"

    assert not desired.needs_apply(wanted, current)


def test_an_edited_spec_needs_apply() -> None:
    wanted = desired.desired_resources(provider="gcp", operator_version="1")[0]
    current = live(wanted)
    current["spec"]["mtls"]["mode"] = "PERMISSIVE"

    assert desired.needs_apply(wanted, current)


def test_a_field_added_to_the_spec_needs_apply() -> None:
    wanted = desired.desired_resources(provider="gcp", operator_version="1")[0]
    current = live(wanted)
    current["spec"]["portLevelMtls"] = {"8080": {"mode": "DISABLE"}}

    assert desired.needs_apply(wanted, current)


def test_a_new_operator_version_or_a_lost_disclaimer_needs_apply() -> None:
    wanted = desired.desired_resources(provider="gcp", operator_version="2")[0]
    older = live(desired.desired_resources(provider="gcp", operator_version="1")[0])
    no_disclaimer = live(wanted)
    no_disclaimer["metadata"]["annotations"] = {}

    assert desired.needs_apply(wanted, older)
    assert desired.needs_apply(wanted, no_disclaimer)


def test_deciding_leaves_its_inputs_unchanged() -> None:
    wanted = desired.desired_resources(provider="aws", operator_version="1")
    existing = [live(obj) for obj in wanted]
    snapshot = copy.deepcopy((wanted, existing))

    desired.resources_to_prune(wanted[:1], existing)
    desired.needs_apply(wanted[0], existing[0])

    assert (wanted, existing) == snapshot


def test_the_ownership_selector_matches_what_desired_objects_carry() -> None:
    labels = desired.desired_resources(provider="gcp", operator_version="1")[0]["metadata"]["labels"]

    for term in desired.OWNERSHIP_SELECTOR.split(","):
        key, value = term.split("=")
        assert labels[key] == value

"""Which EnvoyFilters count as a user's patch of the ingress gateway (Kyma 1.30's detection rules)."""

from __future__ import annotations

from typing import Any

import pytest

from kyma_istio.api import names
from kyma_istio.resources.user_targeting import (
    ENVOY_FILTER,
    targets_ingress_gateway,
    user_filters_on_ingress,
)


def envoy_filter(
    name: str = "lua",
    *,
    namespace: str = names.ISTIO_NAMESPACE,
    selector: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    owners: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels is not None:
        meta["labels"] = labels
    if owners is not None:
        meta["ownerReferences"] = owners
    spec: dict[str, Any] = {"configPatches": []}
    if selector is not None:
        spec["workloadSelector"] = {"labels": selector}
    return {"apiVersion": ENVOY_FILTER.api_version, "kind": "EnvoyFilter", "metadata": meta, "spec": spec}


ISTIO_LABEL = {"istio": "ingressgateway"}
APP_LABEL = {"app": "istio-ingressgateway"}


@pytest.mark.parametrize("selector", [ISTIO_LABEL, APP_LABEL, {**ISTIO_LABEL, "extra": "x"}])
def test_a_filter_in_istio_system_selecting_the_gateway_by_either_label_counts(
    selector: dict[str, str],
) -> None:
    assert targets_ingress_gateway(envoy_filter(selector=selector))


def test_both_gateway_labels_together_count_once() -> None:
    found = user_filters_on_ingress([envoy_filter(selector={**ISTIO_LABEL, **APP_LABEL})])

    assert found == ("istio-system/lua",)


@pytest.mark.parametrize(
    "selector",
    [
        None,
        {},
        {"istio": "egressgateway"},
        {"app": "istiod"},
        {"app": "ingressgateway"},
        {"istio": "istio-ingressgateway"},
        {"gateway": "ingressgateway"},
    ],
    ids=["no-selector", "empty", "egress", "istiod", "app-without-prefix", "istio-with-prefix", "other-key"],
)
def test_a_filter_selecting_other_workloads_or_all_does_not_count(selector: dict[str, str] | None) -> None:
    assert not targets_ingress_gateway(envoy_filter(selector=selector))


@pytest.mark.parametrize("value", [names.MODULE_LABEL_VALUE, "api-gateway", ""])
def test_a_filter_with_the_module_label_of_any_value_is_a_modules_own(value: str) -> None:
    filter_ = envoy_filter(selector=ISTIO_LABEL, labels={names.MODULE_LABEL: value})

    assert not targets_ingress_gateway(filter_)


def test_other_labels_do_not_make_a_filter_the_modules() -> None:
    filter_ = envoy_filter(selector=ISTIO_LABEL, labels={"app.kubernetes.io/name": "istio-operator"})

    assert targets_ingress_gateway(filter_)


def test_a_filter_owned_by_a_rate_limit_is_not_a_users() -> None:
    owner = {"apiVersion": "gateway.kyma-project.io/v1alpha1", "kind": "RateLimit", "name": "rl", "uid": "u"}

    assert not targets_ingress_gateway(envoy_filter(selector=APP_LABEL, owners=[owner]))


def test_a_rate_limit_among_several_owners_is_enough() -> None:
    owners = [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "1"},
        {"apiVersion": "gateway.kyma-project.io/v1alpha1", "kind": "RateLimit", "name": "rl", "uid": "2"},
    ]

    assert not targets_ingress_gateway(envoy_filter(selector=APP_LABEL, owners=owners))


def test_a_filter_owned_by_another_kind_still_counts() -> None:
    owner = {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "1"}

    assert targets_ingress_gateway(envoy_filter(selector=APP_LABEL, owners=[owner]))


def test_a_filter_in_another_namespace_does_not_count() -> None:
    assert not targets_ingress_gateway(envoy_filter(namespace="app", selector=ISTIO_LABEL))


@pytest.mark.parametrize(
    "obj",
    [
        {},
        {"metadata": None, "spec": None},
        {"metadata": {"namespace": names.ISTIO_NAMESPACE}, "spec": {"workloadSelector": None}},
        {"metadata": {"namespace": names.ISTIO_NAMESPACE}, "spec": {"workloadSelector": {"labels": "x"}}},
        {
            "metadata": {"namespace": names.ISTIO_NAMESPACE, "ownerReferences": "x", "labels": None},
            "spec": {"workloadSelector": {"labels": None}},
        },
    ],
)
def test_malformed_objects_never_count_and_never_raise(obj: dict[str, Any]) -> None:
    assert not targets_ingress_gateway(obj)


def test_the_users_filters_are_named_sorted_and_the_rest_left_out() -> None:
    filters = [
        envoy_filter("zeta", selector=ISTIO_LABEL),
        envoy_filter("ours", selector=ISTIO_LABEL, labels={names.MODULE_LABEL: names.MODULE_LABEL_VALUE}),
        envoy_filter("alpha", selector=APP_LABEL),
        envoy_filter("elsewhere", namespace="app", selector=ISTIO_LABEL),
        envoy_filter("mesh-wide"),
    ]

    assert user_filters_on_ingress(filters) == ("istio-system/alpha", "istio-system/zeta")


def test_no_filters_means_none_found() -> None:
    assert user_filters_on_ingress([]) == ()


def test_the_listed_kind_is_the_networking_v1alpha3_envoy_filter() -> None:
    assert (ENVOY_FILTER.api_version, ENVOY_FILTER.plural, ENVOY_FILTER.namespaced) == (
        "networking.istio.io/v1alpha3",
        "envoyfilters",
        True,
    )

"""Which user objects block uninstalling Istio."""

from __future__ import annotations

from typing import Any

import pytest

from kyma_istio.api import names
from kyma_istio.resources import dangling
from kyma_istio.resources.dangling import Blocker


def kind(name: str, group: str = "") -> dangling.ControlledKind:
    return next(k for k in dangling.CONTROLLED_KINDS if k.kind == name and (not group or k.group == group))


def obj(
    name: str, namespace: str | None = "default", *, labels: dict[str, str] | None = None, **spec: Any
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": labels or {}}
    if namespace:
        metadata["namespace"] = namespace
    return {"metadata": metadata, "spec": spec}


def test_a_user_virtual_service_blocks() -> None:
    blockers = dangling.blocking_resources(kind("VirtualService"), [obj("shop")])

    assert blockers == [Blocker("VirtualService", "default", "shop")]


def test_objects_labelled_as_the_modules_do_not_block() -> None:
    labelled = obj("x", labels={names.MODULE_LABEL: names.MODULE_LABEL_VALUE})

    assert dangling.blocking_resources(kind("AuthorizationPolicy"), [labelled]) == []


@pytest.mark.parametrize(
    ("kind_name", "name"),
    [
        ("EnvoyFilter", "stats-filter-1.23"),
        ("EnvoyFilter", "tcp-stats-filter-1.23"),
        ("EnvoyFilter", "kyma-referer"),
        ("EnvoyFilter", "proxy-protocol"),
        ("PeerAuthentication", "default"),
        ("VirtualService", "istio-healthz"),
    ],
)
def test_the_operators_own_objects_in_istio_system_do_not_block(kind_name: str, name: str) -> None:
    assert dangling.blocking_resources(kind(kind_name), [obj(name, names.ISTIO_NAMESPACE)]) == []


@pytest.mark.parametrize(
    ("kind_name", "name", "namespace"),
    [
        ("EnvoyFilter", "my-proxy-protocol-v2", names.ISTIO_NAMESPACE),
        ("EnvoyFilter", "stats-filter-1.234", names.ISTIO_NAMESPACE),
        ("PeerAuthentication", "default", "shop"),
        ("PeerAuthentication", "default", "my-istio-system-copy"),
        ("VirtualService", "istio-healthz-extra", names.ISTIO_NAMESPACE),
    ],
)
def test_ignore_patterns_match_whole_names_only(kind_name: str, name: str, namespace: str) -> None:
    blockers = dangling.blocking_resources(kind(kind_name), [obj(name, namespace)])

    assert blockers == [Blocker(kind_name, namespace, name)]


def test_every_istio_kind_of_the_reference_list_is_checked() -> None:
    istio_kinds = {k.kind for k in dangling.ISTIO_KINDS}

    assert istio_kinds == {
        "AuthorizationPolicy",
        "DestinationRule",
        "EnvoyFilter",
        "Gateway",
        "PeerAuthentication",
        "ProxyConfig",
        "RequestAuthentication",
        "ServiceEntry",
        "Sidecar",
        "Telemetry",
        "VirtualService",
        "WasmPlugin",
        "WorkloadEntry",
        "WorkloadGroup",
    }
    assert kind("EnvoyFilter").crd_name == "envoyfilters.networking.istio.io"
    assert kind("Telemetry").api_version == "telemetry.istio.io/v1"


def test_a_kubernetes_gateway_of_an_istio_class_blocks_and_others_do_not() -> None:
    gateway = kind("Gateway", dangling.GATEWAY_API_GROUP)
    objects = [obj("web", gatewayClassName="istio"), obj("waypoint", gatewayClassName="istio-waypoint")]
    objects.append(obj("nginx", gatewayClassName="nginx"))

    blockers = dangling.blocking_resources(gateway, objects)

    assert blockers == [Blocker("Gateway", "default", "waypoint"), Blocker("Gateway", "default", "web")]
    assert gateway.crd_name == "gateways.gateway.networking.k8s.io"


def test_only_routes_with_a_service_parent_block() -> None:
    mesh_route = obj("mesh", parentRefs=[{"group": "", "kind": "Service", "name": "reviews"}])
    gateway_route = obj("edge", parentRefs=[{"name": "web"}])

    blockers = dangling.blocking_resources(kind("HTTPRoute"), [mesh_route, gateway_route, obj("bare")])

    assert blockers == [Blocker("HTTPRoute", "default", "mesh")]


def test_user_gateway_classes_for_istio_block_but_istiods_own_do_not() -> None:
    classes = [
        obj(name, None, controllerName="istio.io/gateway-controller")
        for name in ("istio", "istio-remote", "custom-istio")
    ]
    classes.append(obj("other", None, controllerName="example.com/gateway"))

    blockers = dangling.blocking_resources(kind("GatewayClass"), classes)

    assert blockers == [Blocker("GatewayClass", None, "custom-istio")]


def test_reference_grants_are_not_checked() -> None:
    assert "ReferenceGrant" not in {k.kind for k in dangling.CONTROLLED_KINDS}


def test_blockers_are_sorted_for_stable_descriptions() -> None:
    blockers = dangling.blocking_resources(kind("Sidecar"), [obj("b", "y"), obj("a", "y"), obj("c", "x")])

    assert [str(b) for b in blockers] == ["Sidecar x/c", "Sidecar y/a", "Sidecar y/b"]


def test_a_long_blocker_list_is_capped() -> None:
    blockers = [Blocker("VirtualService", "default", f"vs{i}") for i in range(8)]

    described = dangling.describe_blockers(blockers, limit=2)

    assert described == "VirtualService default/vs0, VirtualService default/vs1 and 6 more"


def test_a_short_blocker_list_is_given_whole() -> None:
    blockers = [Blocker("VirtualService", "default", "foo"), Blocker("GatewayClass", None, "mine")]

    assert dangling.describe_blockers(blockers) == "VirtualService default/foo, GatewayClass mine"


def test_no_blockers_describe_as_empty_and_a_zero_limit_only_counts() -> None:
    assert dangling.describe_blockers([]) == ""
    assert dangling.describe_blockers([Blocker("Sidecar", "a", "b")], limit=0) == "1 more"

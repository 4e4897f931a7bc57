"""``spec.components.pilot`` / ``ingressGateway`` / ``egressGateway`` and the ingress gateway's traffic
policy (spec 5.4).

Both Deployment-based components take the same per-key overrides: HPA bounds (the template's metrics
stay), rolling-update parameters (an int or a percentage string, kept as given) and resources. The CR's
wire form has exactly the IstioOperator's keys and omits what the user left out, so a deep merge of it is
the per-key override.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from kyma_istio.api import names
from kyma_istio.api.v1alpha2 import Components, Config, IstioComponent
from kyma_istio.mesh.merge.deep import deep_merge, nested, patch_at

_K8sChange = Callable[[dict[str, Any]], dict[str, Any]]


def apply_pilot(iop: Mapping[str, Any], components: Components | None) -> dict[str, Any]:
    """Override istiod's HPA bounds, rolling update and resources key by key."""
    pilot = components.pilot if components else None
    if pilot is None:
        return copy.deepcopy(dict(iop))
    return deep_merge(iop, patch_at("spec", "components", "pilot", "k8s", value=_k8s_patch(pilot)))


def apply_ingress_gateway(iop: Mapping[str, Any], components: Components | None) -> dict[str, Any]:
    """Override the first ingress gateway's HPA bounds, rolling update and resources key by key."""
    gateway = components.ingress_gateway if components else None
    if gateway is None:
        return copy.deepcopy(dict(iop))
    return _with_first_gateway(iop, lambda k8s: deep_merge(k8s, _k8s_patch(gateway)))


def apply_egress_gateway(iop: Mapping[str, Any], components: Components | None) -> dict[str, Any]:
    """The first egress gateway: ``enabled`` when given, and its k8s settings merged as the ingress
    gateway's are (HPA bounds, rolling update, resources, key by key)."""
    egress = components.egress_gateway if components else None
    if egress is None:
        return copy.deepcopy(dict(iop))
    result = copy.deepcopy(dict(iop))
    spec_components = result.setdefault("spec", {}).setdefault("components", {})
    gateways = spec_components.get("egressGateways")
    if not isinstance(gateways, list) or not gateways:
        gateways = spec_components["egressGateways"] = [{"name": names.EGRESS_GATEWAY}]
    first = gateways[0]
    if egress.enabled is not None:
        first["enabled"] = egress.enabled
    if egress.k8s is not None:
        first["k8s"] = deep_merge(first.get("k8s") or {}, egress.k8s.to_wire())
    return result


def apply_external_traffic_policy(iop: Mapping[str, Any], config: Config | None) -> dict[str, Any]:
    """Append a Service overlay setting ``externalTrafficPolicy``; unset leaves Istio's default, Cluster."""
    policy = config.gateway_external_traffic_policy if config else None
    if policy is None:
        return copy.deepcopy(dict(iop))
    overlay = {
        "apiVersion": "v1",
        "kind": "Service",
        "name": names.INGRESS_GATEWAY,
        "patches": [{"path": "spec.externalTrafficPolicy", "value": policy}],
    }

    def add_overlay(k8s: dict[str, Any]) -> dict[str, Any]:
        return {**k8s, "overlays": [*k8s.get("overlays", []), overlay]}

    return _with_first_gateway(iop, add_overlay)


def _k8s_patch(component: IstioComponent) -> dict[str, Any]:
    """The component's k8s settings in IstioOperator keys (the CR uses the same names)."""
    return component.k8s.to_wire()


def _with_first_gateway(iop: Mapping[str, Any], change: _K8sChange) -> dict[str, Any]:
    """A copy of ``iop`` whose ``ingressGateways[0].k8s`` is replaced by ``change(k8s)``.

    The reference addresses the gateway by position, not by name, so this does too.
    """
    result = copy.deepcopy(dict(iop))
    gateways = nested(result, "spec", "components", "ingressGateways")
    if not isinstance(gateways, list) or not gateways:
        raise ValueError("the IstioOperator template has no ingress gateway to configure")
    first = gateways[0]
    first["k8s"] = change(first.get("k8s") or {})
    return result

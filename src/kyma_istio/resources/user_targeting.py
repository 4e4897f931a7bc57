"""Which EnvoyFilters are a user's patches of the ingress gateway (Kyma 1.30's user resource detection).

An EnvoyFilter in ``istio-system`` whose workload selector picks the ingress gateway's pods rewrites the
gateway's Envoy configuration; a mistake in it can break all ingress traffic, and an Istio upgrade may
change the configuration it patches. The module warns about such filters, except its own (the module
label, which the module puts on its own objects and on Istio's) and those the API Gateway module's
rate limiting creates (owned by a ``RateLimit``). Pure: ``reconcile.user_resources`` lists, this decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from kyma_istio.api import names
from kyma_istio.k8s.kinds import Kind

ENVOY_FILTER: Final = Kind("networking.istio.io", "v1alpha3", "EnvoyFilter", "envoyfilters")
"""Listed in ``istio-system`` only; the Role there already lists them for the module's own filters."""

INGRESS_GATEWAY_SELECTORS: Final[tuple[tuple[str, str], ...]] = (
    ("istio", "ingressgateway"),
    ("app", names.INGRESS_GATEWAY),
)
"""Workload selector labels that pick the ingress gateway's pods: either one is enough."""

RATE_LIMIT_OWNER: Final = "RateLimit"
"""Owner kind of the EnvoyFilters that the API Gateway module's rate limiting manages."""


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _selects_ingress_gateway(obj: Mapping[str, Any]) -> bool:
    spec = obj.get("spec")
    selector = spec.get("workloadSelector") if isinstance(spec, Mapping) else None
    labels = selector.get("labels") if isinstance(selector, Mapping) else None
    if not isinstance(labels, Mapping):
        return False
    return any(labels.get(key) == value for key, value in INGRESS_GATEWAY_SELECTORS)


def _is_the_modules(meta: Mapping[str, Any]) -> bool:
    labels = meta.get("labels")
    return isinstance(labels, Mapping) and names.MODULE_LABEL in labels


def _owned_by_rate_limit(meta: Mapping[str, Any]) -> bool:
    owners = meta.get("ownerReferences")
    if not isinstance(owners, list):
        return False
    return any(isinstance(owner, Mapping) and owner.get("kind") == RATE_LIMIT_OWNER for owner in owners)


def targets_ingress_gateway(obj: Mapping[str, Any]) -> bool:
    """Whether the EnvoyFilter ``obj`` is a user's patch of the ingress gateway.

    It must be in ``istio-system`` (a workload selector in another namespace picks that namespace's pods
    only), select the gateway by ``istio=ingressgateway`` or ``app=istio-ingressgateway``, carry no
    module label (any value), and have no ``RateLimit`` among its owners.
    """
    meta = _metadata(obj)
    return (
        meta.get("namespace") == names.ISTIO_NAMESPACE
        and _selects_ingress_gateway(obj)
        and not _is_the_modules(meta)
        and not _owned_by_rate_limit(meta)
    )


def user_filters_on_ingress(objs: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """``namespace/name`` of each EnvoyFilter that targets the ingress gateway, sorted, so the
    description (and with it the status) is the same on every pass."""
    return tuple(
        sorted(
            f"{_metadata(obj).get('namespace')}/{_metadata(obj).get('name')}"
            for obj in objs
            if targets_ingress_gateway(obj)
        )
    )

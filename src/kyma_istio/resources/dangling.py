"""Which user objects block uninstalling Istio ("blocking deletion strategy", spec section 8).

Removing Istio while users still have objects that only Istio acts on would silently drop their traffic
rules, so deletion waits until they are gone. The kinds to inspect are data (:data:`CONTROLLED_KINDS`):
the Istio kinds of the reference's ``controlled_resources_list.yaml``, plus the Gateway API kinds that
Istio implements, which the reference never checks. Objects the operator or Istio created are ignored by
anchored name/namespace patterns; the reference matched them as substrings (quirk 15.7), so a user's
``my-proxy-protocol-v2`` EnvoyFilter would have been ignored too.

The cluster shell lists each kind cluster-wide and skips a kind whose CRD is absent; everything else is
decided here.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from kyma_istio.api import names
from kyma_istio.k8s.kinds import Kind

GATEWAY_API_GROUP: Final = "gateway.networking.k8s.io"

ISTIO_GATEWAY_CLASSES: Final = frozenset({"istio", "istio-remote", "istio-waypoint", "istio-east-west"})
"""GatewayClasses istiod creates and implements; a Gateway of one of them stops working without Istio."""

ISTIO_CONTROLLER_PREFIX: Final = "istio.io/"
"""Prefix of the ``controllerName`` of every GatewayClass Istio implements."""


@dataclass(frozen=True)
class IgnoreRule:
    """Objects the operator or Istio owns; both patterns must match the whole value."""

    name: str
    namespace: str

    def matches(self, *, namespace: str, name: str) -> bool:
        return (
            re.fullmatch(self.name, name) is not None and re.fullmatch(self.namespace, namespace) is not None
        )


class Dependence(enum.Enum):
    """How to tell whether an object of a kind only works with Istio installed."""

    ALWAYS = "always"
    """Istio's own kinds: nothing else reads them."""
    ISTIO_GATEWAY_CLASS = "istio-gateway-class"
    """A Gateway whose ``gatewayClassName`` is one of :data:`ISTIO_GATEWAY_CLASSES`."""
    ISTIO_CONTROLLER = "istio-controller"
    """A GatewayClass whose ``controllerName`` is Istio's."""
    MESH_PARENT = "mesh-parent"
    """A route with a Service parent (GAMMA mesh routing). Routes on an Istio Gateway need no check:
    the Gateway itself blocks, and once it is gone the route is inert."""


@dataclass(frozen=True)
class ControlledKind(Kind):
    """One kind to inspect before uninstalling."""

    ignore: tuple[IgnoreRule, ...] = ()
    dependence: Dependence = Dependence.ALWAYS

    @property
    def crd_name(self) -> str:
        """The CRD that must exist for this kind to be listed."""
        return f"{self.plural}.{self.group}"


def _istio(group: str, version: str, kind: str, plural: str, *ignore: IgnoreRule) -> ControlledKind:
    return ControlledKind(group=group, version=version, kind=kind, plural=plural, ignore=ignore)


def _gateway_api(
    version: str, kind: str, plural: str, dependence: Dependence, *ignore: IgnoreRule, namespaced: bool = True
) -> ControlledKind:
    return ControlledKind(
        group=GATEWAY_API_GROUP,
        version=version,
        kind=kind,
        plural=plural,
        ignore=ignore,
        dependence=dependence,
        namespaced=namespaced,
    )


_SYSTEM = re.escape(names.ISTIO_NAMESPACE)
_CLUSTER_SCOPED = ""
"""The namespace a cluster-scoped object is matched with."""

ISTIO_KINDS: Final = (
    _istio("security.istio.io", "v1", "AuthorizationPolicy", "authorizationpolicies"),
    _istio("networking.istio.io", "v1", "DestinationRule", "destinationrules"),
    _istio(
        "networking.istio.io",
        "v1alpha3",
        "EnvoyFilter",
        "envoyfilters",
        IgnoreRule(r"stats-filter-\d\.\d\d", _SYSTEM),
        IgnoreRule(r"tcp-stats-filter-\d\.\d\d", _SYSTEM),
        IgnoreRule(r"kyma-referer", _SYSTEM),
        IgnoreRule(r"proxy-protocol", _SYSTEM),
    ),
    _istio("networking.istio.io", "v1", "Gateway", "gateways"),
    _istio(
        "security.istio.io", "v1", "PeerAuthentication", "peerauthentications", IgnoreRule("default", _SYSTEM)
    ),
    _istio("networking.istio.io", "v1beta1", "ProxyConfig", "proxyconfigs"),
    _istio("security.istio.io", "v1", "RequestAuthentication", "requestauthentications"),
    _istio("networking.istio.io", "v1", "ServiceEntry", "serviceentries"),
    _istio("networking.istio.io", "v1", "Sidecar", "sidecars"),
    _istio("telemetry.istio.io", "v1", "Telemetry", "telemetries"),
    _istio(
        "networking.istio.io", "v1", "VirtualService", "virtualservices", IgnoreRule("istio-healthz", _SYSTEM)
    ),
    _istio("extensions.istio.io", "v1alpha1", "WasmPlugin", "wasmplugins"),
    _istio("networking.istio.io", "v1", "WorkloadEntry", "workloadentries"),
    _istio("networking.istio.io", "v1", "WorkloadGroup", "workloadgroups"),
)
"""The reference's controlled list (spec section 7), with anchored ignore patterns."""

GATEWAY_API_KINDS: Final = (
    _gateway_api(
        "v1",
        "GatewayClass",
        "gatewayclasses",
        Dependence.ISTIO_CONTROLLER,
        IgnoreRule("|".join(sorted(ISTIO_GATEWAY_CLASSES)), _CLUSTER_SCOPED),
        namespaced=False,
    ),
    _gateway_api("v1", "Gateway", "gateways", Dependence.ISTIO_GATEWAY_CLASS),
    _gateway_api("v1", "HTTPRoute", "httproutes", Dependence.MESH_PARENT),
    _gateway_api("v1", "GRPCRoute", "grpcroutes", Dependence.MESH_PARENT),
    _gateway_api("v1alpha2", "TLSRoute", "tlsroutes", Dependence.MESH_PARENT),
    _gateway_api("v1alpha2", "TCPRoute", "tcproutes", Dependence.MESH_PARENT),
    _gateway_api("v1alpha2", "UDPRoute", "udproutes", Dependence.MESH_PARENT),
)
"""Gateway API kinds that Istio implements; checked only when their CRDs exist.

ReferenceGrant is left out: it only grants permission, works the same for every implementation and
carries no traffic rule that Istio's removal would drop.
"""

CONTROLLED_KINDS: Final = ISTIO_KINDS + GATEWAY_API_KINDS


@dataclass(frozen=True)
class Blocker:
    """A user object that blocks uninstalling; ``namespace`` is None for a cluster-scoped one."""

    kind: str
    namespace: str | None
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


def _is_service_parent(ref: Mapping[str, Any]) -> bool:
    return ref.get("kind") == "Service" and ref.get("group", "") in ("", "core")


def _depends_on_istio(dependence: Dependence, obj: Mapping[str, Any]) -> bool:
    spec = obj.get("spec") or {}
    if dependence is Dependence.ISTIO_GATEWAY_CLASS:
        return spec.get("gatewayClassName") in ISTIO_GATEWAY_CLASSES
    if dependence is Dependence.ISTIO_CONTROLLER:
        return str(spec.get("controllerName", "")).startswith(ISTIO_CONTROLLER_PREFIX)
    if dependence is Dependence.MESH_PARENT:
        return any(_is_service_parent(ref) for ref in spec.get("parentRefs") or ())
    return True


def _is_ignored(kind: ControlledKind, obj: Mapping[str, Any]) -> bool:
    metadata = obj.get("metadata") or {}
    if (metadata.get("labels") or {}).get(names.MODULE_LABEL) == names.MODULE_LABEL_VALUE:
        return True
    namespace = str(metadata.get("namespace") or "")
    name = str(metadata.get("name") or "")
    return any(rule.matches(namespace=namespace, name=name) for rule in kind.ignore)


def blocking_resources(kind: ControlledKind, objects: Iterable[Mapping[str, Any]]) -> list[Blocker]:
    """The objects of ``kind`` that block uninstall, sorted so descriptions are stable between passes."""
    blockers = [
        Blocker(
            kind=kind.kind,
            namespace=(obj.get("metadata") or {}).get("namespace") or None,
            name=str((obj.get("metadata") or {}).get("name", "")),
        )
        for obj in objects
        if not _is_ignored(kind, obj) and _depends_on_istio(kind.dependence, obj)
    ]
    return sorted(blockers, key=lambda b: (b.kind, b.namespace or "", b.name))


def describe_blockers(blockers: Sequence[Blocker], limit: int = 5) -> str:
    """``VirtualService default/foo, Gateway shop/web and 3 more``: short enough for a status line."""
    shown = ", ".join(str(blocker) for blocker in blockers[: max(limit, 0)])
    hidden = len(blockers) - min(len(blockers), max(limit, 0))
    if not hidden:
        return shown
    if not shown:
        return f"{hidden} more"
    return f"{shown} and {hidden} more"

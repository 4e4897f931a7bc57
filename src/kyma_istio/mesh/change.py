"""What changed since the last applied configuration: asked once per pass, read by every step.

The quiet check (is there anything to report?), the install (does the IstioOperator differ from the one
installed?) and the gateway restarts (did a setting the gateways read at start-up change?) all read this
one value, built from the CR's annotations: Kyma's last-applied spec and tag (written when a pass reaches
Ready), and our records of work done, the IstioOperator hash and, per gateway, the settings it was last
restarted for (written as soon as that work succeeded, so continuation passes do not repeat it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kyma_istio.api import names
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.mesh.lastapplied import LastApplied, parse_last_applied, render_last_applied


@dataclass(frozen=True)
class GatewaySettings:
    """The CR's settings a gateway proxy reads only at start-up (Kyma 1.30's ingress gateway rules).

    ``numTrustedProxies`` and ``forwardClientCertDetails`` are its ``gatewayTopology``, ``trustDomain``
    its identity, ``inclusionRegexps`` its stats matcher (compared sorted: order means nothing to Envoy).
    Unset is a value of its own for each, as in Kyma.
    """

    num_trusted_proxies: int | None = None
    forward_client_cert_details: str | None = None
    trust_domain: str | None = None
    inclusion_regexps: tuple[str, ...] = ()

    @classmethod
    def of(cls, spec: IstioSpec | None) -> GatewaySettings:
        """The settings ``spec`` asks for; ``None`` (nothing applied yet) gives all unset."""
        config = spec.config if spec else None
        if config is None:
            return cls()
        matcher = config.proxy_stats_matcher
        return cls(
            num_trusted_proxies=config.num_trusted_proxies,
            forward_client_cert_details=config.forward_client_cert_details,
            trust_domain=config.trust_domain,
            inclusion_regexps=tuple(sorted((matcher.inclusion_regexps if matcher else None) or [])),
        )

    def changed_from(self, other: GatewaySettings) -> tuple[str, ...]:
        """The CR field names whose value differs from ``other``'s, in a fixed order."""
        pairs = (
            ("numTrustedProxies", self.num_trusted_proxies, other.num_trusted_proxies),
            ("forwardClientCertDetails", self.forward_client_cert_details, other.forward_client_cert_details),
            ("trustDomain", self.trust_domain, other.trust_domain),
            ("proxyStatsMatcher", self.inclusion_regexps, other.inclusion_regexps),
        )
        return tuple(name for name, mine, theirs in pairs if mine != theirs)

    def token(self) -> str:
        """The settings as recorded in a gateway's restarted-for annotation.

        Only ``numTrustedProxies`` set gives exactly the token of earlier releases (``unset`` or the
        number), so a CR they recorded is not restarted again by this one. Regexps are hashed: the
        annotation says which settings, not a copy of every expression.
        """
        token = "unset" if self.num_trusted_proxies is None else str(self.num_trusted_proxies)
        if self.forward_client_cert_details is not None:
            token += f";xfcc={self.forward_client_cert_details}"
        if self.trust_domain is not None:
            token += f";trustDomain={self.trust_domain}"
        if self.inclusion_regexps:
            digest = hashlib.sha256(json.dumps(self.inclusion_regexps).encode()).hexdigest()[:12]
            token += f";stats={digest}"
        return token


@dataclass(frozen=True)
class Change:
    """The CR's spec against what the last fully successful pass applied."""

    last: LastApplied | None
    """The last applied spec and tag; None before the first successful pass."""
    applied_iop_hash: str | None
    """Hash of the IstioOperator last installed successfully (``names.IOP_HASH_ANNOTATION``)."""
    spec_changed: bool
    """The spec or the target tag differs from the last applied one (or nothing was applied yet)."""
    restart_gateway: bool
    """A setting the ingress gateway reads only at start-up changed (:class:`GatewaySettings`), so it
    must be restarted; a new such setting is added there, the restarter only reads this flag."""
    compatibility_changed: bool
    """``compatibilityMode`` differs from the last applied value; a first install is no change."""
    restart_egress_gateway: bool = False
    """The same for the egress gateway, against its own record (Kyma never restarts it)."""
    gateway_changes: tuple[str, ...] = ()
    """Which gateway settings changed since the last applied spec, for the restart Event."""

    def iop_changed(self, iop_hash: str) -> bool:
        """The IstioOperator with ``iop_hash`` is not the one installed last."""
        return self.applied_iop_hash != iop_hash


def read_last_applied(cr: Mapping[str, Any]) -> LastApplied | None:
    """The CR's last-applied annotation, None when absent; ValueError when it does not parse."""
    text = (cr.get("metadata", {}).get("annotations") or {}).get(names.LAST_APPLIED_ANNOTATION)
    return None if text is None else parse_last_applied(text)


def compatibility_changed(spec: IstioSpec, last: LastApplied | None) -> bool:
    """Whether ``compatibilityMode`` moved since ``last``; nothing applied yet means no move."""
    before = bool(last.spec.compatibility_mode) if last else False
    return last is not None and bool(spec.compatibility_mode) != before


def trusted_proxies_changed(spec: IstioSpec, last: LastApplied | None) -> bool:
    """Whether ``numTrustedProxies`` differs from ``last``'s; absent counts as a value of its own."""
    before = last.spec.config.num_trusted_proxies if last and last.spec.config else None
    return (spec.config.num_trusted_proxies if spec.config else None) != before


def gateway_settings_changed(spec: IstioSpec, last: LastApplied | None) -> tuple[str, ...]:
    """The gateway settings that differ from ``last``'s (all unset when nothing was applied yet)."""
    return GatewaySettings.of(spec).changed_from(GatewaySettings.of(last.spec if last else None))


def gateway_token(spec: IstioSpec) -> str:
    """What a gateway's restarted-for annotation records for ``spec``."""
    return GatewaySettings.of(spec).token()


def gateway_restart_needed(spec: IstioSpec, last: LastApplied | None, restarted_for: str | None) -> bool:
    """Whether a gateway must restart: its settings differ from the ones it was last restarted for, or,
    with no such record, from the last applied spec."""
    if restarted_for is not None:
        return restarted_for != gateway_token(spec)
    return bool(gateway_settings_changed(spec, last))


def what_changed(cr: Mapping[str, Any], spec: IstioSpec, *, tag: str) -> Change:
    """The change ``spec`` at ``tag`` makes to what ``cr``'s annotations record; ValueError when the
    last-applied annotation does not parse."""
    last = read_last_applied(cr)
    annotations = cr.get("metadata", {}).get("annotations") or {}
    return Change(
        last=last,
        applied_iop_hash=annotations.get(names.IOP_HASH_ANNOTATION),
        # Compared as rendered: ``config: {}`` and no config are the same spec.
        spec_changed=last is None
        or render_last_applied(last.spec, last.istio_tag) != render_last_applied(spec, tag),
        restart_gateway=gateway_restart_needed(
            spec, last, annotations.get(names.GATEWAY_RESTARTED_FOR_ANNOTATION)
        ),
        compatibility_changed=compatibility_changed(spec, last),
        restart_egress_gateway=gateway_restart_needed(
            spec, last, annotations.get(names.EGRESS_GATEWAY_RESTARTED_FOR_ANNOTATION)
        ),
        gateway_changes=gateway_settings_changed(spec, last),
    )

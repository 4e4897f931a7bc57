"""What changed since the last applied configuration: asked once per pass, read by every step.

The quiet check (is there anything to report?), the install (does the IstioOperator differ from the one
installed?) and the gateway restart (did a setting it reads at start-up change?) all read this one
value, built from the CR's annotations: Kyma's last-applied spec and tag (written when a pass reaches
Ready), and our two records of work done, the IstioOperator hash and the gateway's ``numTrustedProxies``
(written as soon as that work succeeded, so continuation passes do not repeat it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kyma_istio import pins
from kyma_istio.api import names
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.mesh.lastapplied import LastApplied, parse_last_applied, render_last_applied


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
    """A setting the ingress gateway reads only at start-up changed (``numTrustedProxies``), so it must
    be restarted; a new such setting is added here, the restarter only reads this flag."""
    compatibility_changed: bool
    """``compatibilityMode`` differs from the last applied value; a first install is no change."""

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


def trusted_proxies_token(spec: IstioSpec) -> str:
    """``numTrustedProxies`` as recorded in ``names.GATEWAY_RESTARTED_FOR_ANNOTATION``."""
    value = spec.config.num_trusted_proxies if spec.config else None
    return "unset" if value is None else str(value)


def gateway_restart_needed(spec: IstioSpec, last: LastApplied | None, restarted_for: str | None) -> bool:
    """Whether the gateway must restart: ``numTrustedProxies`` differs from the value it was last
    restarted for, or, with no such record, from the last applied spec."""
    if restarted_for is not None:
        return restarted_for != trusted_proxies_token(spec)
    return trusted_proxies_changed(spec, last)


def what_changed(cr: Mapping[str, Any], spec: IstioSpec, *, tag: str = pins.ISTIO_TAG) -> Change:
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
    )

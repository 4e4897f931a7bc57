"""What an up-to-date sidecar looks like for the current Istio CR: the input to every rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

DEFAULT_STATUS_PORT: Final = 15020
"""The proxies' status port (``defaultConfig.statusPort``) when the mesh config does not say otherwise."""


@dataclass(frozen=True, slots=True)
class ProxyResources:
    """The proxy's expected requests and limits as quantity strings (merged IstioOperator values)."""

    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str


@dataclass(frozen=True, slots=True)
class Expectation:
    """The expected proxy image, resources and injected settings, and which mesh-wide settings just
    changed against the last applied spec.

    The ``*_changed`` flags select every injected pod; the values next to them are what is now in
    force and make up the restart target (``restart.selection.target_hash``), so a new value is a new
    target and the same value is never restarted for twice.
    """

    image: str
    """``<hub>/proxyv2:<tag>``, compared verbatim like the reference does."""
    resources: ProxyResources
    compatibility_changed: bool = False
    """``compatibilityMode`` differs from the last-applied value: every injected pod is due."""
    compatibility_mode: bool = False
    """The mode now in force; part of the restart target, so a flip is a new target state."""
    dns_proxying_changed: bool = False
    """``enableDNSProxying`` differs from the last-applied value (unset is a value of its own)."""
    dns_proxying: bool | None = None
    """``enableDNSProxying`` now in force (None: unset); part of the restart target."""
    stats_matcher_changed: bool = False
    """The sorted ``proxyStatsMatcher.inclusionRegexps`` differ from the last-applied ones."""
    stats_inclusion_regexps: tuple[str, ...] = ()
    """The inclusion regexps now in force, sorted (unset and empty are the same); part of the target."""
    prometheus_merge: bool = False
    """``telemetry.metrics.prometheusMerge`` now in force: whether the injector points each pod's
    ``prometheus.io/*`` annotations at the proxy's merged metrics; part of the target."""
    status_port: int = DEFAULT_STATUS_PORT
    """The mesh's status port (read from the installed mesh config), where merged metrics are served."""

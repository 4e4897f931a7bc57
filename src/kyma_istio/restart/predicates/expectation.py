"""What an up-to-date sidecar looks like for the current Istio CR: the input to every rule."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProxyResources:
    """The proxy's expected requests and limits as quantity strings (merged IstioOperator values)."""

    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str


@dataclass(frozen=True, slots=True)
class Expectation:
    """The expected proxy image and resources, and whether the compatibility mode just changed."""

    image: str
    """``<hub>/proxyv2:<tag>``, compared verbatim like the reference does."""
    resources: ProxyResources
    compatibility_changed: bool = False
    """``compatibilityMode`` differs from the last-applied value: every injected pod is due."""
    compatibility_mode: bool = False
    """The mode now in force; part of the restart target, so a flip is a new target state."""

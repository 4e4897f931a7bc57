"""What each step of a pass hands back: frozen values, folded into the status draft by the pipeline only.

A step never writes conditions and never edits the CR it was given; it returns either a ``Problem``
(the pass ends there) or one of these values, which says what the next step needs and which conditions
the pipeline sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kyma_istio.api import conditions as c
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.mesh.lastapplied import LastApplied
from kyma_istio.mesh.profile import CloudProvider, Flavour


@dataclass(frozen=True)
class Installed:
    """Istio is installed, verified and labelled, and the module's resources are in place."""

    cr: dict[str, Any]
    """The CR as the API server returned it last (with our finalizer)."""
    spec: IstioSpec
    last: LastApplied | None
    iop: dict[str, Any]
    """The IstioOperator in force."""
    iop_hash: str
    provider: CloudProvider
    flavour: Flavour


Condition = tuple[c.Reason, str | None]
"""A condition to set: its reason and, when it differs from the reason's default, its message."""


@dataclass(frozen=True)
class Held:
    """Sidecar restarts the owners' own annotations hold back, by workload (``restart.policy``)."""

    waiting: int = 0
    """Workloads waiting for their maintenance window."""
    excluded: int = 0
    invalid: int = 0
    """Workloads whose restart annotations do not parse (treated as excluded)."""
    next_opening: datetime | None = None

    def __bool__(self) -> bool:
        return bool(self.waiting or self.excluded or self.invalid)


@dataclass(frozen=True)
class RestartResult:
    """What the restarters did: the conditions to set, the problem that decides the state, if any."""

    conditions: tuple[Condition, ...] = ()
    problem: c.Problem | None = None
    """The most severe problem; its conditions are already among ``conditions``."""
    partial: bool = False
    """Sidecar restarts remain for a later pass (the per-pass cap was reached, or a PDB held an owner)."""
    waiting: str = ""
    """For a partial result: what the remaining restarts wait for, when it is more than the cap."""
    continue_now: bool = False
    """For a partial result: this pass's chunk of restarts is healthy, so the next may start at once."""
    held: Held = field(default_factory=Held)
    """Restarts held back by maintenance windows and exclusions: no problem, the owners' choice."""
    uninjected: tuple[str, ...] = ()
    """Workloads that keep a sidecar in a namespace without injection (reported, never restarted)."""

    def __add__(self, other: RestartResult) -> RestartResult:
        problems = [p for p in (self.problem, other.problem) if p is not None]
        return RestartResult(
            conditions=self.conditions + other.conditions,
            problem=c.most_severe(problems),
            partial=self.partial or other.partial,
            waiting="; ".join(x for x in (self.waiting, other.waiting) if x),
            continue_now=(self.continue_now or other.continue_now) and not (self.waiting or other.waiting),
            held=self.held or other.held,
            uninjected=self.uninjected or other.uninjected,
        )


@dataclass(frozen=True)
class Uninstalled:
    """Nothing of Istio is left to remove for this CR."""

    cr: dict[str, Any] | None
    """The CR after our finalizer went; None when the API server deleted it as a result."""
    conditions: tuple[Condition, ...] = field(default=())

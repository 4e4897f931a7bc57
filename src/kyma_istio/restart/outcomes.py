"""A restart plan as data: owner actions for the executor, outcomes for status, and a summary.

Outcomes are kept per group (one outcome, owner, rule and reason) with a pod count and a few example
names rather than one record per pod, so a plan's size follows the number of owners, not pods. Every
selected pod is counted in exactly one outcome.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from kyma_istio.lines import image_release, release_parts
from kyma_istio.restart.owners import ActionKind, WorkloadKey
from kyma_istio.restart.predicates import OutdatedReason
from kyma_istio.restart.windows import Window


class Outcome(enum.StrEnum):
    """What happens (or happened) to a selected pod in this reconcile."""

    ROLLOUT_VIA_OWNER = "RolloutViaOwner"
    EVICT = "Evict"
    NEEDS_MANUAL_RESTART = "NeedsManualRestart"
    SKIPPED_OPT_OUT = "SkippedOptOut"
    ALREADY_RESTARTED = "AlreadyRestarted"
    """The owner was already restarted for this target; the pod is pending, not patched again."""
    DEFERRED = "Deferred"
    """Cut by the per-reconcile limit; a later reconcile takes it."""
    FAILED = "Failed"
    """Set by the executor when the owner's action failed."""
    EXCLUDED = "Excluded"
    """The owner (or its namespace) is excluded from restarts by Kyma's ``exclude`` annotation."""
    WAITING_FOR_WINDOW = "WaitingForWindow"
    """Outside the owner's maintenance window: restarted when it opens (``PodOutcome.opens``)."""
    CONFIG_INVALID = "RestartConfigInvalid"
    """An exclude or window annotation does not parse: treated as excluded until it is fixed."""


PENDING_OUTCOMES = frozenset({Outcome.ALREADY_RESTARTED, Outcome.DEFERRED})
"""Outcomes that mean "will be current later without anyone's help"."""


@dataclass(frozen=True, slots=True)
class OwnerAction:
    """One thing for the executor to do to one owner, standing for ``pods`` selected pods."""

    action: ActionKind
    workload: WorkloadKey
    api_version: str
    uid: str
    pods: int
    rules: tuple[OutdatedReason, ...]
    """The rules that fired for the owner's pods, sorted."""
    examples: tuple[str, ...] = ()
    """A few pod names, for logs and Events."""
    module: bool = False
    """A Kyma module's owner (its pods are in ``kyma-system`` or labelled ``kyma-project.io/module``):
    restarted before customers' owners, and a failure is an error rather than a warning."""
    window: Window | None = None
    """The maintenance window the restart must start in (the executor checks it before each wave)."""


@dataclass(frozen=True, slots=True)
class PodOutcome:
    """The outcome shared by ``pods`` selected pods of one owner that the same rule selected."""

    outcome: Outcome
    workload: WorkloadKey
    """The owner that acts, or the pod itself (kind ``Pod``) when nothing owns it."""
    rule: OutdatedReason
    pods: int
    examples: tuple[str, ...] = ()
    why: str = ""
    """For manual, skipped and failed outcomes: why nothing (or nothing successful) happened."""
    opens: datetime | None = None
    """For ``WAITING_FOR_WINDOW``: when the owner's window next opens."""
    running: str = ""
    """The proxy image one of the pods runs, for messages about restarts not done."""

    def example_refs(self) -> tuple[str, ...]:
        """``namespace/name`` of the example pods, as status messages list them."""
        return tuple(f"{self.workload.namespace}/{name}" for name in self.examples)


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """Counts of pods by what the plan does with them, for status messages, metrics and the CLI."""

    current: int
    not_considered: int
    outdated: Mapping[OutdatedReason, int] = field(default_factory=dict)
    by_outcome: Mapping[Outcome, int] = field(default_factory=dict)

    @property
    def manual(self) -> int:
        """Pods a human has to restart."""
        return self.by_outcome.get(Outcome.NEEDS_MANUAL_RESTART, 0)

    @property
    def skipped(self) -> int:
        """Pods left alone because of an opt-out."""
        return self.by_outcome.get(Outcome.SKIPPED_OPT_OUT, 0)

    @property
    def excluded(self) -> int:
        """Pods of owners excluded from restarts by choice."""
        return self.by_outcome.get(Outcome.EXCLUDED, 0)

    @property
    def waiting(self) -> int:
        """Pods of owners waiting for their maintenance window."""
        return self.by_outcome.get(Outcome.WAITING_FOR_WINDOW, 0)

    @property
    def invalid(self) -> int:
        """Pods of owners whose restart annotations do not parse."""
        return self.by_outcome.get(Outcome.CONFIG_INVALID, 0)

    @property
    def pending(self) -> int:
        """Pods that will be current after a running rollout or a later reconcile."""
        return sum(self.by_outcome.get(outcome, 0) for outcome in PENDING_OUTCOMES)


@dataclass(frozen=True, slots=True)
class RestartPlan:
    """Actions ordered modules' owners first, then by (namespace, kind, name), each owner at most once;
    one outcome per pod."""

    actions: tuple[OwnerAction, ...] = ()
    outcomes: tuple[PodOutcome, ...] = ()
    remaining: int = 0
    """Owner actions cut by the per-reconcile limit: exact, so "more remain" is never guessed."""
    target: str = ""
    """The target hash the executor stamps on every owner it restarts."""
    current: int = 0
    """Considered pods whose sidecar is already current."""
    not_considered: int = 0
    """Pods outside the selection (not running, not ready, not injected, terminating)."""
    uninjected: tuple[str, ...] = ()
    """Workloads (``Kind namespace/name``) whose running pods carry a proxy in a namespace that no longer
    asks for injection: not restarted (that would take their sidecar away), only reported."""
    short_windows: tuple[tuple[WorkloadKey, str], ...] = ()
    """Owners due a restart whose maintenance window is shorter than one rollout of them may take, with
    what to tell their owners."""

    @property
    def complete(self) -> bool:
        """Nothing was cut by the limit: no ``ProxySidecarRestartPartiallySucceeded`` requeue."""
        return self.remaining == 0

    @property
    def next_opening(self) -> datetime | None:
        """The earliest moment a waiting owner's window opens; ``None`` when none waits."""
        return min((o.opens for o in self.outcomes if o.opens is not None), default=None)

    def owners_of(self, *wanted: Outcome) -> set[WorkloadKey]:
        """The owners with outcomes of the given kinds."""
        return {outcome.workload for outcome in self.outcomes_of(*wanted)}

    def outcomes_of(self, *wanted: Outcome) -> tuple[PodOutcome, ...]:
        """The outcomes of the given kinds, in plan order (for example the manual ones for a warning)."""
        return tuple(outcome for outcome in self.outcomes if outcome.outcome in wanted)

    def summary(self) -> PlanSummary:
        """Pods current, outdated by rule, and by what happens to them."""
        outdated: Counter[OutdatedReason] = Counter()
        by_outcome: Counter[Outcome] = Counter()
        for outcome in self.outcomes:
            outdated[outcome.rule] += outcome.pods
            by_outcome[outcome.outcome] += outcome.pods
        return PlanSummary(
            current=self.current,
            not_considered=self.not_considered,
            outdated=dict(outdated),
            by_outcome=dict(by_outcome),
        )


def mark_failed(plan: RestartPlan, failures: Mapping[WorkloadKey, str]) -> RestartPlan:
    """A copy of ``plan`` whose outcomes for the failed owners read ``FAILED`` with the error."""
    acted = {Outcome.ROLLOUT_VIA_OWNER, Outcome.EVICT}
    outcomes = tuple(
        replace(outcome, outcome=Outcome.FAILED, why=failures[outcome.workload])
        if outcome.outcome in acted and outcome.workload in failures
        else outcome
        for outcome in plan.outcomes
    )
    return replace(plan, outcomes=outcomes)


def waves(actions: Sequence[OwnerAction], budget: int) -> list[list[OwnerAction]]:
    """Split ``actions`` into consecutive waves of at most ``budget`` owners, keeping their order.

    The executor waits for one wave to settle before the next, bounding how many workloads restart at
    the same time across the cluster. A wave never mixes Kyma modules' owners with customers' owners:
    the modules' waves settle before the first customer workload restarts.
    """
    if budget < 1:
        raise ValueError(f"a wave needs room for at least one owner, got budget {budget}")
    result: list[list[OwnerAction]] = []
    for action in actions:
        last = result[-1] if result else None
        if last is None or len(last) >= budget or last[-1].module != action.module:
            result.append([action])
        else:
            last.append(action)
    return result


def manual_refs(plan: RestartPlan) -> list[str]:
    """``namespace/pod`` of every pod that needs a manual restart (``namespace/?`` past the examples)."""
    refs: list[str] = []
    for outcome in plan.outcomes_of(Outcome.NEEDS_MANUAL_RESTART):
        shown = list(outcome.example_refs())
        refs += shown + [f"{outcome.workload.namespace}/?"] * (outcome.pods - len(shown))
    return refs


HELD_OUTCOMES = frozenset({Outcome.EXCLUDED, Outcome.WAITING_FOR_WINDOW, Outcome.CONFIG_INVALID})
"""What the owners' own annotations hold back."""


def held_skew_minors(plan: RestartPlan, release: str) -> int:
    """How many minors the oldest proxy the owners' annotations hold back runs behind ``release`` (the
    control plane's, ``1.29.1``); 0 when none is held or no tag is readable. Istio supports a proxy one
    minor behind istiod: past that an exclusion or a long wait stops being safe."""
    target = release_parts(release)
    if target is None:
        return 0
    running = [image_release(o.running) for o in plan.outcomes_of(*HELD_OUTCOMES)]
    behind = [target[1] - r[1] for r in running if r is not None and r[0] == target[0]]
    return max([0, *behind])


def summary_counts(plan: RestartPlan) -> dict[str, int]:
    """Pods by status (``current``, ``outdated_<rule>``, ``restart_success``...), as metrics report them."""
    summary = plan.summary()
    counts = {
        "current": summary.current,
        "manual": summary.manual,
        "skipped": summary.skipped,
        "pending": summary.pending,
        "excluded": summary.excluded,
        "waiting": summary.waiting,
        "invalid": summary.invalid,
    }
    counts["outdated"] = sum(summary.outdated.values())
    for reason, pods in summary.outdated.items():
        counts[f"outdated_{reason}"] = pods
    counts["restart_success"] = sum(
        o.pods for o in plan.outcomes_of(Outcome.ROLLOUT_VIA_OWNER, Outcome.EVICT)
    )
    counts["restart_failed"] = sum(o.pods for o in plan.outcomes_of(Outcome.FAILED))
    return counts

"""Fold selected pods into one restart plan: each owner acted on once, each pod counted once.

The executor streams pods page by page into a :class:`PlanBuilder`, which keeps only per-owner counts
and a few example names, so memory follows the number of owners rather than pods. After the stream it
asks the builder which ReplicaSets and workloads it has to look up (one GET each), then builds the plan
with those facts. The decision for a group of pods is taken in this order:

1. opted out (namespace, workload or pod annotation) -> ``SKIPPED_OPT_OUT``;
2. no owner can restart it -> ``NEEDS_MANUAL_RESTART`` with the reason;
3. already restarted for the current target -> ``ALREADY_RESTARTED`` (pending, not patched again);
4. otherwise an owner action, unless the per-reconcile ``limit`` cuts it -> ``DEFERRED``.

Owner actions are ordered Kyma modules' owners first (a pod in ``kyma-system`` or labelled
``kyma-project.io/module``), then customers' owners, each by namespace, kind and name: the modules'
workloads are restarted in the earliest waves, and the per-pass limit defers customers before them.

Step 3 is what makes a restart loop impossible: a rolled-out owner's template carries the target hash,
so a still-progressing rollout is not re-triggered, and an evicted pod's replacement carries it too,
so a replacement that comes back outdated (say, the injector still serves the old image) is reported,
not evicted again. Eviction owners are only checked per pod, because their template stamp says
nothing about which of their pods were already replaced.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Final, TypedDict, Unpack

from kyma_istio.api import names
from kyma_istio.k8s import kinds
from kyma_istio.restart import policy
from kyma_istio.restart._tally import Tally
from kyma_istio.restart.outcomes import Outcome, OwnerAction, PodOutcome, RestartPlan, mark_failed, waves
from kyma_istio.restart.owners import (
    ActionKind,
    ReplicaSetKey,
    Resolution,
    WorkloadKey,
    resolve_owner,
    workload_of,
)
from kyma_istio.restart.podview import RESTART_OPT_OUT_VALUE, OwnerRef, PodView
from kyma_istio.restart.predicates import Expectation, OutdatedReason
from kyma_istio.restart.selection import Selection, removal_selection, restart_selection, target_hash
from kyma_istio.restart.windows import Window

__all__ = [
    "Outcome",
    "OwnerAction",
    "PlanBuilder",
    "PodOutcome",
    "RestartPlan",
    "mark_failed",
    "plan_restarts",
    "plan_sidecar_removal",
    "target_hash",
    "waves",
]

DEFAULT_EXAMPLE_CAP: Final = 5
"""Enough names for the reference's "ns/pod, ... and N additional workload(s)" message."""

_NO_REPLICASETS: Final[Mapping[ReplicaSetKey, OwnerRef | None]] = MappingProxyType({})
_NO_STRATEGIES: Final[Mapping[tuple[str, str, str], str]] = MappingProxyType({})
_NO_TARGETS: Final[Mapping[tuple[str, str, str], str | None]] = MappingProxyType({})
_NO_ANNOTATIONS: Final[Mapping[tuple[str, str, str], Mapping[str, str]]] = MappingProxyType({})
_NO_NAMESPACES: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType({})
_NO_DEADLINES: Final[Mapping[tuple[str, str, str], int]] = MappingProxyType({})


class _PodState(enum.Enum):
    """What the pod's own annotations say, recorded at fold time because the pod is then dropped."""

    ACTIVE = enum.auto()
    OPTED_OUT = enum.auto()
    RESTARTED = enum.auto()


_Bucket = tuple[str, OwnerRef | None, str]
"""(namespace, immediate owner, pod name if the pod has no owner else "")."""
_GroupKey = tuple[_Bucket, OutdatedReason, _PodState]
_OutcomeKey = tuple[Outcome, WorkloadKey, OutdatedReason, str]


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the executor looked up, once per object, for the plan's owners."""

    target: str
    replicaset_owners: Mapping[ReplicaSetKey, OwnerRef | None]
    workload_strategies: Mapping[tuple[str, str, str], str]
    owner_template_targets: Mapping[tuple[str, str, str], str | None]
    owner_annotations: Mapping[tuple[str, str, str], Mapping[str, str]]
    opted_out_namespaces: Set[str]
    namespace_annotations: Mapping[str, Mapping[str, str]]
    now: datetime | None
    default_window: Window | None
    owner_deadlines: Mapping[tuple[str, str, str], int]
    windows_apply: bool

    def short_window(self, workload: WorkloadKey, window: Window | None) -> str | None:
        """What to tell an owner whose window is shorter than its ``progressDeadlineSeconds``: a rollout
        begun near the close would run past it (one that began is let finish)."""
        deadline = self.owner_deadlines.get(workload)
        if window is None or deadline is None or window.length * 60 >= deadline:
            return None
        return (
            f"maintenance window {window.text!r} is open {window.length} min, shorter than a rollout of "
            f"{workload.kind} {workload.namespace}/{workload.name} may take (progressDeadlineSeconds "
            f"{deadline} s): a restart begun near its close runs past it; widen the window"
        )

    def allows(self, workload: WorkloadKey) -> policy.Decision:
        """Exclusions and maintenance windows (``restart.policy``); everything is allowed without a
        clock (a plan that is no restart, as in tests of the rules alone)."""
        if self.now is None:
            return policy.ALLOWED
        return policy.decide(
            self.owner_annotations.get(workload, {}),
            self.namespace_annotations.get(workload.namespace, {}),
            now=self.now,
            default_window=self.default_window,
            windows_apply=self.windows_apply,
        )

    def resolve(self, bucket: _Bucket) -> Resolution:
        namespace, owner, bare_name = bucket
        return resolve_owner(
            namespace,
            bare_name,
            owner,
            replicaset_owners=self.replicaset_owners,
            workload_strategies=self.workload_strategies,
        )

    def decide(self, resolution: Resolution, state: _PodState) -> tuple[Outcome, str] | ActionKind:
        """The outcome (with its reason) when no action is due, else the action the owner takes."""
        workload = resolution.workload
        if workload.namespace in self.opted_out_namespaces:
            return Outcome.SKIPPED_OPT_OUT, f"namespace {workload.namespace} opted out"
        annotations = self.owner_annotations.get(workload, {})
        if annotations.get(names.RESTART_OPT_OUT_ANNOTATION) == RESTART_OPT_OUT_VALUE:
            return Outcome.SKIPPED_OPT_OUT, f"{workload.kind} {workload.name} opted out"
        if state is _PodState.OPTED_OUT:
            return Outcome.SKIPPED_OPT_OUT, "pod opted out"
        if resolution.action is None:
            return Outcome.NEEDS_MANUAL_RESTART, resolution.why
        stamped = self.owner_template_targets.get(workload) == self.target
        if state is _PodState.RESTARTED or (resolution.action is ActionKind.ROLLOUT and stamped):
            return Outcome.ALREADY_RESTARTED, ""
        return resolution.action


class _Draft:
    """An owner action being assembled from several buckets (say, a Deployment's ReplicaSets)."""

    __slots__ = ("action", "module", "resolution", "rules", "window")

    def __init__(self, resolution: Resolution, action: ActionKind, window: Window | None = None) -> None:
        self.resolution = resolution
        self.action = action
        self.module = False
        self.rules: dict[OutdatedReason, Tally] = {}
        self.window = window

    def order(self) -> tuple[bool, tuple[str, str, str]]:
        """Modules' owners first, then by namespace, kind and name."""
        return (not self.module, self.resolution.workload.sort_key())

    def absorb(self, resolution: Resolution, rule: OutdatedReason, tally: Tally, cap: int) -> None:
        # Keep the smallest identity, so a recreated object's stale uid cannot make the plan
        # depend on the order pods arrived in.
        if (resolution.api_version, resolution.uid) < (self.resolution.api_version, self.resolution.uid):
            self.resolution = resolution
        self.rules.setdefault(rule, Tally(cap)).merge(tally)


class PlanBuilder:
    """Folds pods in as they stream by and builds the plan once the owners' facts are known."""

    def __init__(self, selection: Selection, *, example_cap: int = DEFAULT_EXAMPLE_CAP) -> None:
        self._selection = selection
        self._cap = example_cap
        self._groups: dict[_GroupKey, Tally] = {}
        self._modules: set[_Bucket] = set()
        """Buckets with a Kyma module's pod: their owner is restarted before customers' owners."""
        self._running: dict[_Bucket, str] = {}
        """One proxy image per bucket, for messages about restarts the user's settings hold back."""
        self._injecting: frozenset[str] = frozenset()
        self._live: frozenset[str] | None = None
        self._uninjected: set[str] = set()
        """Workloads (``Kind namespace/name``) whose pods carry a proxy in a namespace without injection."""
        self._current = 0
        self._not_considered = 0

    @classmethod
    def for_restart(cls, expectation: Expectation, *, example_cap: int = DEFAULT_EXAMPLE_CAP) -> PlanBuilder:
        """A builder for the regular pass: pods whose sidecar is outdated against ``expectation``."""
        return cls(restart_selection(expectation), example_cap=example_cap)

    @classmethod
    def for_removal(cls, *, example_cap: int = DEFAULT_EXAMPLE_CAP) -> PlanBuilder:
        """A builder for the uninstall pass: pods that still carry a sidecar."""
        return cls(removal_selection(), example_cap=example_cap)

    def expect_injection(self, namespaces: frozenset[str], *, live: frozenset[str] | None = None) -> None:
        """Also select pods without a sidecar in these injection-enabled namespaces, and, with ``live``
        (the namespaces not being deleted), note the workloads that still carry a proxy in a live
        namespace without injection (before any ``add``)."""
        if self._groups or self._current or self._not_considered:
            raise RuntimeError("expect_injection must come before the first pod is folded in")
        self._selection = self._selection.with_injection(namespaces)
        self._injecting = namespaces
        self._live = live

    def _note_uninjected(self, pod: PodView) -> None:
        """A running pod with a proxy in a live namespace that no longer asks for one: its workload."""
        if self._live is None or pod.namespace in self._injecting or pod.namespace not in self._live:
            return
        if pod.terminating or pod.phase != "Running" or not pod.proxies or pod.injection_opt_in:
            return
        owner = pod.owner
        if owner is None:
            self._uninjected.add(f"Pod {pod.namespace}/{pod.name}")
        elif (
            owner.kind == "ReplicaSet" and pod.template_hash and owner.name.endswith(f"-{pod.template_hash}")
        ):
            self._uninjected.add(
                f"Deployment {pod.namespace}/{owner.name.removesuffix(f'-{pod.template_hash}')}"
            )
        else:
            self._uninjected.add(f"{owner.kind} {pod.namespace}/{owner.name}")

    @property
    def selection(self) -> Selection:
        """The rule and target this builder plans for (the executor re-checks evictions with it)."""
        return self._selection

    def add(self, pod: PodView) -> None:
        """Fold one pod in; the caller may drop it afterwards."""
        self._note_uninjected(pod)
        rule = self._selection.reason(pod)
        if rule is None:
            if self._selection.considers(pod):
                self._current += 1
            else:
                self._not_considered += 1
            return
        if pod.opted_out:
            state = _PodState.OPTED_OUT
        elif pod.restart_target == self._selection.target:
            state = _PodState.RESTARTED
        else:
            state = _PodState.ACTIVE
        bucket = (pod.namespace, pod.owner, "" if pod.owner else pod.name)
        self._groups.setdefault((bucket, rule, state), Tally(self._cap)).add(pod.name)
        if pod.proxies:  # the smallest, so the plan does not depend on the order pods arrive in
            image = pod.proxies[0].image
            self._running[bucket] = min(self._running.get(bucket, image), image)
        if pod.module:
            self._modules.add(bucket)

    def add_all(self, pods: Iterable[PodView]) -> None:
        """Fold in a page (or any iterable) of pods."""
        for pod in pods:
            self.add(pod)

    def replicasets_to_resolve(self) -> set[ReplicaSetKey]:
        """ReplicaSets owning selected pods: the executor looks up each one's owner once."""
        return {
            (namespace, owner.name)
            for (namespace, owner, _), _rule, _state in self._groups
            if owner is not None and (owner.group, owner.kind) == kinds.REPLICASET.group_kind
        }

    def workloads_to_inspect(
        self, replicaset_owners: Mapping[ReplicaSetKey, OwnerRef | None]
    ) -> set[WorkloadKey]:
        """Owners whose strategy, opt-out annotation and template target the executor has to read."""
        found = (
            workload_of(namespace, owner, replicaset_owners) for (namespace, owner, _), _, _ in self._groups
        )
        return {workload for workload in found if workload is not None}

    def build(
        self,
        *,
        replicaset_owners: Mapping[ReplicaSetKey, OwnerRef | None] = _NO_REPLICASETS,
        workload_strategies: Mapping[tuple[str, str, str], str] = _NO_STRATEGIES,
        owner_template_targets: Mapping[tuple[str, str, str], str | None] = _NO_TARGETS,
        owner_annotations: Mapping[tuple[str, str, str], Mapping[str, str]] = _NO_ANNOTATIONS,
        opted_out_namespaces: Set[str] = frozenset(),
        owner_deadlines: Mapping[tuple[str, str, str], int] = _NO_DEADLINES,
        namespace_annotations: Mapping[str, Mapping[str, str]] = _NO_NAMESPACES,
        now: datetime | None = None,
        default_window: Window | None = None,
        windows_apply: bool = True,
        limit: int | None = None,
    ) -> RestartPlan:
        """The plan for everything folded in so far; the builder itself is left unchanged. With ``now``
        the owners' exclusions and maintenance windows apply (``restart.policy``)."""
        if limit is not None and limit < 0:
            raise ValueError(f"the per-reconcile owner limit must not be negative, got {limit}")
        facts = _Facts(
            target=self._selection.target,
            replicaset_owners=replicaset_owners,
            workload_strategies=workload_strategies,
            owner_template_targets=owner_template_targets,
            owner_annotations=owner_annotations,
            opted_out_namespaces=opted_out_namespaces,
            namespace_annotations=namespace_annotations,
            now=now,
            default_window=default_window,
            owner_deadlines=owner_deadlines,
            windows_apply=windows_apply,
        )
        settled, drafts, extras = self._sort_groups(facts)
        ordered = sorted(drafts.values(), key=_Draft.order)
        kept = ordered if limit is None else ordered[:limit]
        for draft in ordered[len(kept) :]:
            for rule, tally in draft.rules.items():
                _merge(settled, (Outcome.DEFERRED, draft.resolution.workload, rule, ""), tally, self._cap)
        for draft in kept:
            outcome = Outcome.ROLLOUT_VIA_OWNER if draft.action is ActionKind.ROLLOUT else Outcome.EVICT
            for rule, tally in draft.rules.items():
                _merge(settled, (outcome, draft.resolution.workload, rule, ""), tally, self._cap)
        return RestartPlan(
            actions=tuple(_action(draft, self._cap) for draft in kept),
            outcomes=_outcomes(settled, extras),
            remaining=len(ordered) - len(kept),
            target=self._selection.target,
            current=self._current,
            not_considered=self._not_considered,
            short_windows=tuple(sorted(extras.short.items())),
            uninjected=tuple(sorted(self._uninjected)),
        )

    def _sort_groups(
        self, facts: _Facts
    ) -> tuple[dict[_OutcomeKey, Tally], dict[WorkloadKey, _Draft], _Extras]:
        """Split the folded groups into settled outcomes and per-owner action drafts."""
        settled: dict[_OutcomeKey, Tally] = {}
        drafts: dict[WorkloadKey, _Draft] = {}
        extras = _Extras({}, {}, {})
        resolutions: dict[_Bucket, Resolution] = {}
        allowed: dict[WorkloadKey, policy.Decision] = {}
        for (bucket, rule, state), tally in self._groups.items():
            resolution = resolutions.get(bucket)
            if resolution is None:
                resolution = resolutions[bucket] = facts.resolve(bucket)
            workload = resolution.workload
            if bucket in self._running:
                image = self._running[bucket]
                extras.running[workload] = min(extras.running.get(workload, image), image)
            decided = facts.decide(resolution, state)
            no_owner = not isinstance(decided, ActionKind) and decided[0] is Outcome.NEEDS_MANUAL_RESTART
            if rule is OutdatedReason.SIDECAR_MISSING and no_owner:
                continue  # a Job's pod without a sidecar: nothing to restart, and no finding
            if isinstance(decided, ActionKind):
                decision = allowed.get(workload) or allowed.setdefault(workload, facts.allows(workload))
                short = facts.short_window(workload, decision.window)
                if short is not None:
                    extras.short[workload] = short
                held = _held(decision)
                if held is None:
                    draft = drafts.setdefault(workload, _Draft(resolution, decided, decision.window))
                    draft.absorb(resolution, rule, tally, self._cap)
                    draft.module = draft.module or bucket in self._modules
                    continue
                decided = held
                if decision.opens is not None:
                    extras.opens[workload] = decision.opens
            outcome, why = decided
            _merge(settled, (outcome, workload, rule, why), tally, self._cap)
        return settled, drafts, extras


@dataclass(frozen=True, slots=True)
class _Extras:
    """Per-owner facts the outcomes carry: the next window opening, a proxy image one pod runs."""

    opens: dict[WorkloadKey, datetime]
    running: dict[WorkloadKey, str]
    short: dict[WorkloadKey, str]


def _held(decision: policy.Decision) -> tuple[Outcome, str] | None:
    """The outcome for an owner its annotations hold back, with why; ``None`` when it may restart."""
    if decision.verdict is policy.Verdict.EXCLUDED:
        return Outcome.EXCLUDED, f"excluded by its {decision.source}'s {policy.EXCLUDE_ANNOTATION}"
    if decision.verdict is policy.Verdict.WAITING and decision.window is not None:
        return Outcome.WAITING_FOR_WINDOW, f"its {decision.source}'s window {decision.window.text!r}"
    if decision.verdict is policy.Verdict.INVALID:
        return Outcome.CONFIG_INVALID, f"{decision.source}: {decision.problem}"
    return None


class OwnerFacts(TypedDict, total=False):
    """What the executor looked up about owners, as :meth:`PlanBuilder.build` takes it."""

    replicaset_owners: Mapping[ReplicaSetKey, OwnerRef | None]
    workload_strategies: Mapping[tuple[str, str, str], str]
    owner_template_targets: Mapping[tuple[str, str, str], str | None]
    owner_annotations: Mapping[tuple[str, str, str], Mapping[str, str]]
    owner_deadlines: Mapping[tuple[str, str, str], int]
    opted_out_namespaces: Set[str]
    namespace_annotations: Mapping[str, Mapping[str, str]]
    now: datetime | None
    default_window: Window | None
    windows_apply: bool
    limit: int | None


def plan_restarts(
    pods: Iterable[PodView], *, expectation: Expectation, **facts: Unpack[OwnerFacts]
) -> RestartPlan:
    """The restart plan for ``pods`` in one call, when the owners' facts are known up front."""
    builder = PlanBuilder.for_restart(expectation)
    builder.add_all(pods)
    return builder.build(**facts)


def plan_sidecar_removal(pods: Iterable[PodView], **facts: Unpack[OwnerFacts]) -> RestartPlan:
    """The uninstall plan: every pod still carrying a sidecar, whatever its image, same owner rules."""
    builder = PlanBuilder.for_removal()
    builder.add_all(pods)
    return builder.build(**facts)


def _merge(into: dict[_OutcomeKey, Tally], key: _OutcomeKey, tally: Tally, cap: int) -> None:
    into.setdefault(key, Tally(cap)).merge(tally)


def _action(draft: _Draft, cap: int) -> OwnerAction:
    examples = Tally(cap)
    for tally in draft.rules.values():
        examples.merge(tally)
    resolution = draft.resolution
    return OwnerAction(
        action=draft.action,
        workload=resolution.workload,
        api_version=resolution.api_version,
        uid=resolution.uid,
        pods=examples.count,
        rules=tuple(sorted(draft.rules)),
        examples=tuple(examples.examples),
        module=draft.module,
        window=draft.window,
    )


def _outcomes(settled: Mapping[_OutcomeKey, Tally], extras: _Extras) -> tuple[PodOutcome, ...]:
    """Outcomes in plan order: by owner (namespace, kind, name), then outcome, rule and reason."""
    ordered = sorted(
        settled.items(), key=lambda item: (item[0][1].sort_key(), item[0][0], item[0][2], item[0][3])
    )
    return tuple(
        PodOutcome(
            outcome=outcome,
            workload=workload,
            rule=rule,
            pods=tally.count,
            examples=tuple(tally.examples),
            why=why,
            opens=extras.opens.get(workload) if outcome is Outcome.WAITING_FOR_WINDOW else None,
            running=extras.running.get(workload, ""),
        )
        for (outcome, workload, rule, why), tally in ordered
    )

"""The sidecar restarter of a pass (spec section 6) and sidecar removal after uninstall: orchestration.

What to expect of a sidecar comes from the installed IstioOperator, the CR's spec against its last
applied one, and the mesh's status port (read here from the installed mesh config); planning
(``restart.gather``) and executing (``restart.execute``) live in ``restart``; this module wires them to
the pass's dependencies and says what the outcome means for the CR: a ``RestartResult`` with the
``ProxySidecarRestartSucceeded`` condition and, when something went wrong, the problem.

Kyma modules' workloads are restarted first (the plan orders them into the earliest waves, which never
hold a customer's owner). A failed restart of one of them is an ``Error``; of a customer workload only a
``Warning``, as in the reference, which fails the pass for its modules' proxies but only warns for
customers'. Unlike the reference, which then skips the customers altogether, a failed module owner does
not hold the customers' owners back: their sidecars are just as outdated, and the ``Error`` already
tells. Either way the pass does not reach ``Ready``, so the last-applied annotation keeps the old values
and the next pass plans the same target again: owners already stamped with it are skipped, the failed
ones are retried.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

import yaml

from kyma_istio.api import conditions as c
from kyma_istio.api import names
from kyma_istio.api.events import EventReason
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.seam import KubeApi, announce
from kyma_istio.mesh.change import compatibility_changed
from kyma_istio.mesh.lastapplied import LastApplied
from kyma_istio.mesh.merge import expected_proxy_image, expected_proxy_resources
from kyma_istio.reconcile.context import Deps
from kyma_istio.reconcile.steps import Condition, Held, Installed, RestartResult
from kyma_istio.restart import gather
from kyma_istio.restart.execute import Executed, Executor
from kyma_istio.restart.outcomes import (
    Outcome,
    RestartPlan,
    held_skew_minors,
    manual_refs,
    mark_failed,
    summary_counts,
)
from kyma_istio.restart.owners import WorkloadKey
from kyma_istio.restart.plan import PlanBuilder
from kyma_istio.restart.predicates import (
    DEFAULT_STATUS_PORT,
    Expectation,
    OutdatedReason,
    canonical_regexps,
    dns_proxying_differs,
    inclusion_regexps_differ,
)
from kyma_istio.restart.predicates.expectation import ProxyResources
from kyma_istio.restart.selection import Selection

HELD_SKEW_KEY: Final = "held_skew_minors"
"""The key of ``observe_restarts``'s counts that carries ``held_skew_minors`` (a gauge of its own)."""
MESH_CONFIG_MAP: Final = "istio"
"""The ConfigMap in ``istio-system`` that holds the installed mesh config (key ``mesh``, YAML)."""
_MAX_PORT: Final = 65535


def expectation_for(installed: Installed, *, status_port: int) -> Expectation:
    """The sidecar every injected pod should run after this pass (spec 6.2)."""
    return expectation_of(installed.iop, installed.spec, installed.last, status_port=status_port)


def expectation_of(
    iop: Mapping[str, Any], spec: IstioSpec, last: LastApplied | None, *, status_port: int
) -> Expectation:
    """The expected sidecar for a merged IstioOperator, the CR's spec, its last-applied state and the
    mesh's status port (:func:`read_status_port`).

    The controller (through :func:`expectation_for`) and ``plan-restarts`` both build it here. Without
    a last-applied state, DNS proxying and the stats matcher compare with the empty spec, as the
    reference does: a first pass that sets them restarts the pods injected without them (usually none).
    """
    resources = expected_proxy_resources(iop)
    config = spec.config
    before = last.spec.config if last else None
    dns_now = config.enable_dns_proxying if config else None
    dns_before = before.enable_dns_proxying if before else None
    regexps_now = _inclusion_regexps(spec)
    regexps_before = _inclusion_regexps(last.spec) if last else None
    telemetry = config.telemetry if config else None
    metrics = telemetry.metrics if telemetry else None
    return Expectation(
        image=expected_proxy_image(iop),
        resources=ProxyResources(
            cpu_request=resources["requests"]["cpu"],
            memory_request=resources["requests"]["memory"],
            cpu_limit=resources["limits"]["cpu"],
            memory_limit=resources["limits"]["memory"],
        ),
        compatibility_changed=compatibility_changed(spec, last),
        compatibility_mode=bool(spec.compatibility_mode),
        dns_proxying_changed=dns_proxying_differs(dns_before, dns_now),
        dns_proxying=dns_now,
        stats_matcher_changed=inclusion_regexps_differ(regexps_before, regexps_now),
        stats_inclusion_regexps=canonical_regexps(regexps_now),
        prometheus_merge=bool(metrics and metrics.prometheus_merge),
        status_port=status_port,
    )


def _inclusion_regexps(spec: IstioSpec) -> list[str] | None:
    matcher = spec.config.proxy_stats_matcher if spec.config else None
    return matcher.inclusion_regexps if matcher else None


def status_port_of(config_map: Mapping[str, Any] | None) -> int:
    """``defaultConfig.statusPort`` of the mesh config in the ``istio`` ConfigMap; the default (15020)
    when the ConfigMap, its ``mesh`` key or the port is missing, unreadable or not a port, or 0 (Istio's
    own default then applies), as the reference reads it."""
    data = (config_map or {}).get("data") or {}
    text = data.get("mesh") if isinstance(data, Mapping) else None
    if not isinstance(text, str):
        return DEFAULT_STATUS_PORT
    try:
        mesh = yaml.safe_load(text)
    except yaml.YAMLError:
        return DEFAULT_STATUS_PORT
    default_config = mesh.get("defaultConfig") if isinstance(mesh, Mapping) else None
    port = default_config.get("statusPort") if isinstance(default_config, Mapping) else None
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port <= _MAX_PORT:
        return DEFAULT_STATUS_PORT
    return port


async def read_status_port(kube: KubeApi) -> int:
    """The mesh's status port from the installed mesh config (``istio-system/istio``); the default when
    it cannot be read. The controller and ``plan-restarts`` both read it here."""
    try:
        config_map = await kube.get(kinds.CONFIGMAP, MESH_CONFIG_MAP, names.ISTIO_NAMESPACE)
    except errors.ClusterError:
        return DEFAULT_STATUS_PORT
    return status_port_of(config_map)


async def execute(
    deps: Deps, plan: RestartPlan, selection: Selection, cr: Mapping[str, Any], *, settle_last: bool = False
) -> Executed:
    """Carry out ``plan`` with the pass's API, Event sink, clock and wave settings; failures and
    PDB-held owners, whether the last wave settled (with ``settle_last``) and the waves' durations."""
    settings = deps.settings
    executor = Executor(
        kube=deps.kube,
        events=deps.events,
        clock=deps.clock,
        wave_size=settings.restart_wave_size,
        wave_timeout_s=settings.restart_wave_timeout_s,
    )
    executed = await executor.execute(plan, selection, cr, settle_last=settle_last)
    deps.observer.observe_waves(executed.wave_seconds)
    return executed


def _failed(description: str, level: c.Level = c.Level.ERROR) -> RestartResult:
    problem = c.Problem(description, level, c.Reason.PROXY_SIDECAR_RESTART_FAILED)
    return RestartResult(((c.Reason.PROXY_SIDECAR_RESTART_FAILED, None),), problem)


def _failures_result(plan: RestartPlan, failures: Mapping[WorkloadKey, str]) -> RestartResult:
    """An ``Error`` when a Kyma module's owner failed, else a ``Warning``; modules' owners listed first."""
    modules = {action.workload for action in plan.actions if action.module}
    ordered = sorted(failures.items(), key=lambda item: (item[0] not in modules, item[0]))
    listed = "; ".join(f"{w.kind} {w.namespace}/{w.name}: {e}" for w, e in ordered)
    if modules.intersection(failures):
        return _failed(c.SIDECARS_FAILED.describe(listed))
    return _failed(c.CUSTOMER_SIDECARS_FAILED.describe(listed), c.CUSTOMER_SIDECARS_FAILED.level)


async def restart_outdated(installed: Installed, deps: Deps) -> RestartResult:
    """Restart the owners of outdated sidecars; the ``ProxySidecarRestartSucceeded`` condition to set."""
    try:
        status_port = await read_status_port(deps.kube)
        owed = pending_rules(installed.cr)
        expectation = with_pending(expectation_for(installed, status_port=status_port), owed)
        builder = PlanBuilder.for_restart(expectation)
        plan = await gather.build_plan(
            deps.kube,
            builder,
            running_only=True,
            limit=deps.settings.restart_limit,
            now=deps.clock(),
            default_window=deps.settings.restart_window,
            inject_missing=True,
        )
        # A chunk (more owners than the per-pass limit) is waited for to the end, so a settled one
        # lets the next pass start at once (``Settings.chunk_requeue_s``).
        settle = not plan.complete or deps.settings.settle_restarts
        executed = await execute(deps, plan, builder.selection, installed.cr, settle_last=settle)
    except (errors.ClusterError, ValueError, KeyError) as err:
        return _failed(c.SIDECARS_FAILED.describe(str(err)))
    failures = executed.failures
    plan = mark_failed(plan, failures)
    counts = summary_counts(plan)
    counts[HELD_SKEW_KEY] = held_skew_minors(plan, deps.settings.line.version)
    deps.observer.observe_restarts(counts)
    held = await _announce_held(plan, executed, expectation.image, deps)
    try:
        await _record_pending(installed.cr, owed, still_owed(plan, executed), deps)
    except errors.ClusterError as err:
        return _failed(c.SIDECARS_FAILED.describe(f"cannot record the restarts still owed: {err}"))
    result = dataclasses.replace(
        await _result(plan, executed, installed.cr, deps), uninjected=plan.uninjected
    )
    if not held:
        return result
    condition = (c.Reason.SIDECAR_RESTARTS_HELD, c.held_message(held))
    return dataclasses.replace(result, conditions=(*result.conditions, condition), held=held)


SPEC_RULES: Final = frozenset(
    {
        OutdatedReason.COMPATIBILITY_MODE_CHANGED,
        OutdatedReason.DNS_PROXYING_CHANGED,
        OutdatedReason.PROXY_STATS_MATCHER_CHANGED,
    }
)
"""Rules that see a spec change, not the pod: they select nothing once the new spec is recorded."""


def pending_rules(cr: Mapping[str, Any]) -> frozenset[OutdatedReason]:
    """The spec-change rules the CR's record says are still owed (unknown names are ignored)."""
    text = (cr.get("metadata", {}).get("annotations") or {}).get(names.PENDING_RESTART_RULES_ANNOTATION, "")
    known = {str(rule): rule for rule in SPEC_RULES}
    return frozenset(known[name] for name in text.split(",") if name in known)


def with_pending(expectation: Expectation, owed: frozenset[OutdatedReason]) -> Expectation:
    """``expectation`` with the owed spec-change rules in force again: they select every pod, and the
    owners already restarted for the target are skipped by their stamp, so only the held ones remain."""
    return dataclasses.replace(
        expectation,
        compatibility_changed=expectation.compatibility_changed
        or OutdatedReason.COMPATIBILITY_MODE_CHANGED in owed,
        dns_proxying_changed=expectation.dns_proxying_changed or OutdatedReason.DNS_PROXYING_CHANGED in owed,
        stats_matcher_changed=expectation.stats_matcher_changed
        or OutdatedReason.PROXY_STATS_MATCHER_CHANGED in owed,
    )


def still_owed(plan: RestartPlan, executed: Executed) -> frozenset[OutdatedReason]:
    """The spec-change rules of owners that windows, exclusions or bad annotations held back."""
    held = {
        o.rule for o in plan.outcomes_of(Outcome.EXCLUDED, Outcome.WAITING_FOR_WINDOW, Outcome.CONFIG_INVALID)
    }
    postponed = {rule for action in executed.postponed for rule in action.rules}
    return frozenset((held | postponed) & SPEC_RULES)


async def _record_pending(
    cr: Mapping[str, Any], before: frozenset[OutdatedReason], now: frozenset[OutdatedReason], deps: Deps
) -> None:
    """Keep the CR's record of owed spec-change restarts up to date (removed when none is owed)."""
    if before == now:
        return
    value = ",".join(sorted(str(rule) for rule in now)) or None
    patch = {"metadata": {"annotations": {names.PENDING_RESTART_RULES_ANNOTATION: value}}}
    meta = cr["metadata"]
    await deps.kube.patch(kinds.ISTIO, meta["name"], patch, namespace=meta.get("namespace"))


async def _announce_held(plan: RestartPlan, executed: Executed, expected: str, deps: Deps) -> Held:
    """Events for what the owners' annotations hold back, and the counts for status and requeue.

    An excluded owner whose sidecar is outdated gets ``RestartRequired`` (what would have been done and
    why); an unparsable annotation ``RestartConfigInvalid`` on the object that carries it. Waiting owners
    get no Event: their wait is their owners' choice, and the CR says when the next window opens."""
    for outcome in plan.outcomes_of(Outcome.EXCLUDED):
        w = outcome.workload
        running = f"runs {outcome.running}" if outcome.running else "runs an outdated sidecar"
        message = (
            f"{outcome.pods} pod(s) of {w.kind} {w.namespace}/{w.name} need a restart to run "
            f"{expected} ({outcome.rule}); one {running}. Not restarted: "
            f"{outcome.why}. Restart it yourself, or remove the annotation"
        )
        await announce(deps.events, _ref(w), EventReason.RESTART_REQUIRED, message)
    for outcome in plan.outcomes_of(Outcome.CONFIG_INVALID):
        w = outcome.workload
        source, _, problem = outcome.why.partition(": ")
        target = _ref(w) if source == "workload" else _namespace_ref(w.namespace)
        message = f"{problem}. The workload is not restarted until the annotation is fixed"
        await announce(deps.events, target, EventReason.RESTART_CONFIG_INVALID, message)
    for w, message in plan.short_windows:
        await announce(deps.events, _ref(w), EventReason.RESTART_WINDOW_SHORT, message)
    now = deps.clock()
    postponed = [a for a in executed.postponed if a.window is not None]
    openings = [a.window.next_open(now) for a in postponed if a.window is not None]
    if plan.next_opening is not None:
        openings.append(plan.next_opening)
    return Held(
        waiting=len(plan.owners_of(Outcome.WAITING_FOR_WINDOW)) + len(postponed),
        excluded=len(plan.owners_of(Outcome.EXCLUDED)),
        invalid=len(plan.owners_of(Outcome.CONFIG_INVALID)),
        next_opening=min(openings, default=None),
    )


def _ref(w: WorkloadKey) -> dict[str, Any]:
    """The object an Event about a workload is posted on."""
    group = "" if w.kind == "Pod" else "apps/"
    return {
        "apiVersion": f"{group}v1",
        "kind": w.kind,
        "metadata": {"name": w.name, "namespace": w.namespace},
    }


def _namespace_ref(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


async def _result(plan: RestartPlan, executed: Executed, cr: Mapping[str, Any], deps: Deps) -> RestartResult:
    """What the plan's execution means for the CR: failures, manual restarts, PDB holds, more to do."""
    failures = executed.failures
    if failures:
        return _failures_result(plan, failures)
    manual = manual_refs(plan)
    if manual:
        for outcome in plan.outcomes_of(Outcome.NEEDS_MANUAL_RESTART):
            w = outcome.workload
            message = (
                f"{w.kind} {w.namespace}/{w.name}: {outcome.pods} pod(s) need a manual restart: {outcome.why}"
            )
            await announce(deps.events, cr, EventReason.MANUAL_RESTART_REQUIRED, message)
        problem = c.manual_restart_required(manual)
        return RestartResult(((c.Reason.PROXY_SIDECAR_MANUAL_RESTART_REQUIRED, problem.message),), problem)
    if executed.held:
        # A PodDisruptionBudget allows no disruption now: no failure, the owner waits for a later pass.
        waiting = held_message(executed.held)
        condition = (c.Reason.PROXY_SIDECAR_RESTART_PARTIALLY_SUCCEEDED, waiting)
        return RestartResult((condition,), partial=True, waiting=waiting)
    if not plan.complete:
        partial: Condition = (c.Reason.PROXY_SIDECAR_RESTART_PARTIALLY_SUCCEEDED, None)
        return RestartResult((partial,), partial=True, continue_now=executed.settled)
    return RestartResult(((c.Reason.PROXY_SIDECAR_RESTART_SUCCEEDED, None),))


def held_message(held: Mapping[WorkloadKey, str], limit: int = 3) -> str:
    """Which owners a PodDisruptionBudget holds back, with the budget's own words (first ``limit``)."""
    listed = [f"{w.kind} {w.namespace}/{w.name} ({why})" for w, why in sorted(held.items())]
    more = f" and {len(listed) - limit} more" if len(listed) > limit else ""
    return "waiting for PodDisruptionBudget to allow eviction: " + "; ".join(listed[:limit]) + more


async def remove_sidecars(cr: Mapping[str, Any], deps: Deps) -> None:
    """After uninstall: restart every owner whose pods still carry a sidecar; manual ones are logged."""
    builder = PlanBuilder.for_removal()
    # Exclusions hold here too ("never, for any reason"); windows do not: no pass would come back later.
    plan = await gather.build_plan(
        deps.kube, builder, running_only=False, limit=None, now=deps.clock(), windows_apply=False
    )
    executed = await execute(deps, plan, builder.selection, cr)
    for w, err in executed.held.items():
        deps.log.warning(
            "sidecar removal of %s %s/%s waits for its PDB: %s", w.kind, w.namespace, w.name, err
        )
    for w, err in executed.failures.items():
        deps.log.warning("sidecar removal failed for %s %s/%s: %s", w.kind, w.namespace, w.name, err)
    for outcome in plan.outcomes_of(Outcome.NEEDS_MANUAL_RESTART, Outcome.EXCLUDED, Outcome.CONFIG_INVALID):
        w = outcome.workload
        deps.log.warning(
            "sidecar of %s %s/%s needs a manual restart: %s", w.kind, w.namespace, w.name, outcome.why
        )

"""The sidecar restarter of a pass (spec section 6) and sidecar removal after uninstall: orchestration.

What to expect of a sidecar comes from the installed IstioOperator; planning (``restart.gather``) and
executing (``restart.execute``) live in ``restart``; this module wires them to the pass's dependencies
and says what the outcome means for the CR: a ``RestartResult`` with the ``ProxySidecarRestartSucceeded``
condition and, when something went wrong, the problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kyma_istio.api import conditions as c
from kyma_istio.api.events import EventReason
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.k8s import errors
from kyma_istio.k8s.seam import announce
from kyma_istio.mesh.change import compatibility_changed
from kyma_istio.mesh.lastapplied import LastApplied
from kyma_istio.mesh.merge import expected_proxy_image, expected_proxy_resources
from kyma_istio.reconcile.context import Deps
from kyma_istio.reconcile.steps import Condition, Installed, RestartResult
from kyma_istio.restart import gather
from kyma_istio.restart.execute import Executed, Executor
from kyma_istio.restart.outcomes import Outcome, RestartPlan, manual_refs, mark_failed, summary_counts
from kyma_istio.restart.owners import WorkloadKey
from kyma_istio.restart.plan import PlanBuilder
from kyma_istio.restart.predicates import Expectation
from kyma_istio.restart.predicates.expectation import ProxyResources
from kyma_istio.restart.selection import Selection


def expectation_for(installed: Installed) -> Expectation:
    """The sidecar every injected pod should run after this pass (spec 6.2)."""
    return expectation_of(installed.iop, installed.spec, installed.last)


def expectation_of(iop: Mapping[str, Any], spec: IstioSpec, last: LastApplied | None) -> Expectation:
    """The expected sidecar for a merged IstioOperator, the CR's spec and its last-applied state.

    The controller (through :func:`expectation_for`) and ``plan-restarts`` both build it here.
    """
    resources = expected_proxy_resources(iop)
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
    )


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


def _failed(description: str) -> RestartResult:
    problem = c.Problem(description, c.Level.ERROR, c.Reason.PROXY_SIDECAR_RESTART_FAILED)
    return RestartResult(((c.Reason.PROXY_SIDECAR_RESTART_FAILED, None),), problem)


async def restart_outdated(installed: Installed, deps: Deps) -> RestartResult:
    """Restart the owners of outdated sidecars; the ``ProxySidecarRestartSucceeded`` condition to set."""
    try:
        builder = PlanBuilder.for_restart(expectation_for(installed))
        plan = await gather.build_plan(
            deps.kube, builder, running_only=True, limit=deps.settings.restart_limit
        )
        # A chunk (more owners than the per-pass limit) is waited for to the end, so a settled one
        # lets the next pass start at once (``Settings.chunk_requeue_s``).
        executed = await execute(deps, plan, builder.selection, installed.cr, settle_last=not plan.complete)
    except (errors.ClusterError, ValueError, KeyError) as err:
        return _failed(c.SIDECARS_FAILED.describe(str(err)))
    failures = executed.failures
    plan = mark_failed(plan, failures)
    deps.observer.observe_restarts(summary_counts(plan))
    if failures:
        listed = "; ".join(f"{w.kind} {w.namespace}/{w.name}: {e}" for w, e in sorted(failures.items()))
        return _failed(c.SIDECARS_FAILED.describe(listed))
    manual = manual_refs(plan)
    if manual:
        for outcome in plan.outcomes_of(Outcome.NEEDS_MANUAL_RESTART):
            w = outcome.workload
            message = (
                f"{w.kind} {w.namespace}/{w.name}: {outcome.pods} pod(s) need a manual restart: {outcome.why}"
            )
            await announce(deps.events, installed.cr, EventReason.MANUAL_RESTART_REQUIRED, message)
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
    plan = await gather.build_plan(deps.kube, builder, running_only=False, limit=None)
    executed = await execute(deps, plan, builder.selection, cr)
    for w, err in executed.held.items():
        deps.log.warning(
            "sidecar removal of %s %s/%s waits for its PDB: %s", w.kind, w.namespace, w.name, err
        )
    for w, err in executed.failures.items():
        deps.log.warning("sidecar removal failed for %s %s/%s: %s", w.kind, w.namespace, w.name, err)
    for outcome in plan.outcomes_of(Outcome.NEEDS_MANUAL_RESTART):
        w = outcome.workload
        deps.log.warning(
            "sidecar of %s %s/%s needs a manual restart: %s", w.kind, w.namespace, w.name, outcome.why
        )

"""The cluster side of the sidecar restarter (spec section 6): stream pods into a ``PlanBuilder``, look up
each owner once, execute the plan in health-gated waves, and report the outcome on the CR.

The plan itself (which pod, which owner, which action) is pure (``kyma_istio.restart``); this module
only reads facts and carries out actions. Every owner rolled out gets the plan's target hash on its pod
template, so a repeated pass never restarts it again for the same target.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from kyma_istio.api import conditions as c
from kyma_istio.api import names
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.kinds import Kind
from kyma_istio.k8s.seam import KubeApi, PatchType
from kyma_istio.mesh.lastapplied import LastApplied
from kyma_istio.mesh.merge import expected_proxy_image, expected_proxy_resources
from kyma_istio.reconcile.context import Deps, rfc3339
from kyma_istio.reconcile.draft import Draft
from kyma_istio.restart.owners import WORKLOAD_KINDS, ActionKind, WorkloadKey
from kyma_istio.restart.plan import Outcome, OwnerAction, PlanBuilder, RestartPlan, mark_failed, waves
from kyma_istio.restart.podview import owner_of, reduce_pod
from kyma_istio.restart.predicates import Expectation
from kyma_istio.restart.predicates.expectation import ProxyResources
from kyma_istio.restart.selection import Selection

if TYPE_CHECKING:
    from kyma_istio.reconcile.install import Install

PAGE_SIZE = 500
LOOKUP_CONCURRENCY = 16
"""Owner GETs in flight at once while planning."""
LIST_ABOVE = 50
"""Above this many wanted objects of one kind, planning lists the kind instead of GETting each."""
_POLL_S = 1.0
_T = TypeVar("_T")


def expectation_for(step: Install) -> Expectation:
    """The sidecar every injected pod should run after this pass (spec 6.2)."""
    return expectation_of(step.iop, step.spec, step.last)


def expectation_of(iop: Mapping[str, Any], spec: IstioSpec, last: LastApplied | None) -> Expectation:
    """The expected sidecar for a merged IstioOperator, the CR's spec and its last-applied state.

    The controller (through :func:`expectation_for`) and ``plan-restarts`` both build it here.
    """
    resources = expected_proxy_resources(iop)
    compat_now = bool(spec.compatibility_mode)
    compat_before = bool(last.spec.compatibility_mode) if last else False
    return Expectation(
        image=expected_proxy_image(iop),
        resources=ProxyResources(
            cpu_request=resources["requests"]["cpu"],
            memory_request=resources["requests"]["memory"],
            cpu_limit=resources["limits"]["cpu"],
            memory_limit=resources["limits"]["memory"],
        ),
        compatibility_changed=compat_now != compat_before and last is not None,
        compatibility_mode=compat_now,
    )


_LIST_ATTEMPTS = 3


async def _fold_pods(
    kube: KubeApi, builder: PlanBuilder, *, namespace: str | None, fields: Mapping[str, str] | None
) -> PlanBuilder:
    """Fold every pod into the builder, page by page.

    When the continue token expires mid-list (410), the listing starts over with a fresh builder: the
    pages already folded would otherwise be counted twice.
    """
    for attempt in range(_LIST_ATTEMPTS):
        try:
            async for pod in kube.stream(kinds.POD, namespace=namespace, fields=fields, chunk_size=PAGE_SIZE):
                builder.add(reduce_pod(pod))
        except errors.Expired:
            if attempt == _LIST_ATTEMPTS - 1:
                raise
            builder = PlanBuilder(builder.selection)
            continue
        return builder
    raise AssertionError("unreachable")


async def build_plan(
    deps: Deps,
    builder: PlanBuilder,
    *,
    running_only: bool,
    limit: int | None,
    namespace: str | None = None,
) -> RestartPlan:
    """Stream pods page by page, then look up each ReplicaSet and workload once, then plan.

    ``namespace`` confines the plan to one namespace (tests on a shared cluster); the controller and
    ``plan-restarts`` plan cluster-wide.
    """
    kube = deps.kube
    fields = {"status.phase": "Running"} if running_only else None
    builder = await _fold_pods(kube, builder, namespace=namespace, fields=fields)
    rs_keys = sorted(builder.replicasets_to_resolve())
    found_rs = await _lookup_all(
        [(kinds.REPLICASET, name, ns) for ns, name in rs_keys],
        lambda rs: owner_of(rs.get("metadata", {}).get("ownerReferences") or []),
        kube,
    )
    rs_owners = {key: parent for key, (present, parent) in zip(rs_keys, found_rs, strict=True) if present}
    workloads = sorted(builder.workloads_to_inspect(rs_owners))
    found = await _lookup_all(
        [(WORKLOAD_KINDS[w.kind], w.name, w.namespace) for w in workloads], _workload_facts, kube
    )
    strategies: dict[tuple[str, str, str], str] = {}
    targets: dict[tuple[str, str, str], str | None] = {}
    annotations: dict[tuple[str, str, str], Mapping[str, str]] = {}
    for workload, (present, facts) in zip(workloads, found, strict=True):
        if present and facts is not None:
            strategies[workload], targets[workload], annotations[workload] = facts
    opted_out = {
        ns["metadata"]["name"]
        async for ns in kube.stream(kinds.NAMESPACE)
        if (ns["metadata"].get("annotations") or {}).get(names.RESTART_OPT_OUT_ANNOTATION) == "disabled"
    }
    return builder.build(
        replicaset_owners=rs_owners,
        workload_strategies=strategies,
        owner_template_targets=targets,
        owner_annotations=annotations,
        opted_out_namespaces=opted_out,
        limit=limit,
    )


_Facts = tuple[str, str | None, Mapping[str, str]]
"""A workload's update strategy, template restart target and own annotations."""


def _workload_facts(obj: Mapping[str, Any]) -> _Facts:
    spec = obj.get("spec") or {}
    strategy = str((spec.get("updateStrategy") or spec.get("strategy") or {}).get("type", ""))
    template_meta = (spec.get("template") or {}).get("metadata") or {}
    target = (template_meta.get("annotations") or {}).get(names.RESTART_TARGET_ANNOTATION)
    return strategy, target, obj.get("metadata", {}).get("annotations") or {}


async def _lookup_all(
    wanted: list[tuple[Kind, str, str]], reduce: Callable[[Mapping[str, Any]], _T], kube: KubeApi
) -> list[tuple[bool, _T | None]]:
    """Read each wanted object once and reduce it to its facts as it arrives, in the order asked.

    ``(False, None)`` for an object that is gone. Of a kind with more than ``LIST_ABOVE`` wanted
    objects, the kind is listed page by page (one request per page instead of one per object: with
    1,000 owners, per-object GETs were most of the planning time); otherwise the objects are fetched
    ``LOOKUP_CONCURRENCY`` at a time. Only the reduced facts are kept, never the objects, so memory
    stays flat. The first error ends the lookup.
    """
    found: dict[tuple[Kind, str, str], _T] = {}
    by_kind: dict[Kind, set[tuple[str, str]]] = {}
    for kind, name, namespace in wanted:
        by_kind.setdefault(kind, set()).add((namespace, name))
    fetch: list[tuple[Kind, str, str]] = []
    for kind, keys in by_kind.items():
        if len(keys) <= LIST_ABOVE:
            fetch += [(kind, name, namespace) for namespace, name in sorted(keys)]
            continue
        namespaces = {namespace for namespace, _ in keys}
        only = next(iter(namespaces)) if len(namespaces) == 1 else None
        async for obj in kube.stream(kind, namespace=only, chunk_size=PAGE_SIZE):
            meta = obj.get("metadata") or {}
            listed = (str(meta.get("namespace", "")), str(meta.get("name", "")))
            if listed in keys:
                found[(kind, listed[1], listed[0])] = reduce(obj)
    gate = asyncio.Semaphore(LOOKUP_CONCURRENCY)

    async def one(kind: Kind, name: str, namespace: str) -> None:
        async with gate:
            obj = await kube.get(kind, name, namespace)
        if obj is not None:
            found[(kind, name, namespace)] = reduce(obj)

    try:
        async with asyncio.TaskGroup() as group:
            for kind, name, namespace in fetch:
                group.create_task(one(kind, name, namespace))
    except ExceptionGroup as failed:
        # Callers handle one ClusterError, as from a sequential loop; the rest were cancelled.
        raise failed.exceptions[0] from None
    return [(True, found[key]) if key in found else (False, None) for key in wanted]


async def _stamp(deps: Deps, action: OwnerAction, target: str, *, restart: bool) -> None:
    """Record the target on the owner's pod template; with ``restart`` also the restart time (a rollout)."""
    stamp = {names.RESTART_TARGET_ANNOTATION: target}
    if restart:
        stamp[names.RESTARTED_AT_ANNOTATION] = rfc3339(deps.clock())
    patch = {"spec": {"template": {"metadata": {"annotations": stamp}}}}
    w = action.workload
    await deps.kube.patch(
        WORKLOAD_KINDS[w.kind], w.name, patch, namespace=w.namespace, patch_type=PatchType.STRATEGIC
    )


async def _evict(
    deps: Deps, action: OwnerAction, selection: Selection, *, sequential: bool, timeout_s: float
) -> None:
    """Evict the owner's pods that still want a restart; one by one, replacement ready, when sequential."""
    w = action.workload
    if w.kind in WORKLOAD_KINDS:
        await _stamp(deps, action, selection.target, restart=False)
    pods = [
        p
        async for p in deps.kube.stream(kinds.POD, namespace=w.namespace)
        if any(ref.get("uid") == action.uid for ref in p["metadata"].get("ownerReferences") or [])
    ]
    for pod in pods:
        if not selection.wants_restart(reduce_pod(pod)):
            continue
        name = pod["metadata"]["name"]
        try:
            await deps.kube.evict(name, w.namespace)
        except errors.Transient as err:
            raise errors.ClusterError(
                f"eviction of Pod {w.namespace}/{name} refused (PodDisruptionBudget?): {err}"
            ) from err
        if sequential:
            await _wait_replacement(deps, w.namespace, name, pod["metadata"].get("uid"), timeout_s)


async def _wait_replacement(
    deps: Deps, namespace: str, name: str, old_uid: str | None, timeout_s: float
) -> None:
    """Wait until a pod of the same name (a StatefulSet's) or the owner is back to ready."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        pod = await deps.kube.get(kinds.POD, name, namespace)
        if pod is not None and pod["metadata"].get("uid") != old_uid and reduce_pod(pod).all_conditions_true:
            return
        if pod is None and old_uid is not None:
            # DaemonSet pods get new names; give the controller a moment and move on.
            await asyncio.sleep(_POLL_S)
            return
        await asyncio.sleep(_POLL_S)
    raise errors.ClusterError(f"replacement of Pod {namespace}/{name} not ready after {timeout_s:.0f}s")


def _healthy(obj: Mapping[str, Any]) -> bool:
    """A workload whose rollout finished: every replica updated and available."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if (status.get("observedGeneration") or 0) < (obj.get("metadata", {}).get("generation") or 0):
        return False
    kind = obj.get("kind")
    if kind == "DaemonSet":
        desired = status.get("desiredNumberScheduled", 0)
        return bool(status.get("updatedNumberScheduled", 0) == desired == status.get("numberAvailable", 0))
    replicas = spec.get("replicas", 1)
    ready_key = "readyReplicas" if kind == "StatefulSet" else "availableReplicas"
    # Old replicas still running (status.replicas above the updated ones) mean the rollout is not over:
    # they count as available, so a new pod can still be unready.
    updated = status.get("updatedReplicas", 0)
    return bool(updated == replicas == status.get("replicas", 0) and status.get(ready_key, 0) == replicas)


async def _wait_wave(deps: Deps, wave: list[OwnerAction], cr: Mapping[str, Any]) -> None:
    """Let the wave's rollouts become healthy before the next wave; report, never block forever."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deps.settings.restart_wave_timeout_s
    waiting = [a.workload for a in wave if a.action is ActionKind.ROLLOUT]
    while waiting and loop.time() < deadline:
        await asyncio.sleep(_POLL_S)
        still = []
        for w in waiting:
            obj = await deps.kube.get(WORKLOAD_KINDS[w.kind], w.name, w.namespace)
            if obj is not None and not _healthy(obj):
                still.append(w)
        waiting = still
    if waiting:
        listed = ", ".join(f"{w.kind} {w.namespace}/{w.name}" for w in waiting)
        await deps.events.post(
            cr, type_="Warning", reason="RolloutSlow", message=f"not healthy in time: {listed}"
        )


async def execute(
    deps: Deps, plan: RestartPlan, selection: Selection, cr: Mapping[str, Any]
) -> dict[WorkloadKey, str]:
    """Carry out the plan's actions wave by wave; the failures, by owner."""
    failures: dict[WorkloadKey, str] = {}
    batches = waves(plan.actions, deps.settings.restart_wave_size)
    timeout = deps.settings.restart_wave_timeout_s
    for index, wave in enumerate(batches):
        for action in wave:
            w = action.workload
            try:
                if action.action is ActionKind.ROLLOUT:
                    await _stamp(deps, action, plan.target, restart=True)
                else:
                    sequential = action.action is ActionKind.EVICT_SEQUENTIAL
                    await _evict(deps, action, selection, sequential=sequential, timeout_s=timeout)
            except errors.ClusterError as err:
                failures[w] = str(err)
                await deps.events.post(
                    cr,
                    type_="Warning",
                    reason="SidecarRestartFailed",
                    message=f"{w.kind} {w.namespace}/{w.name}: {err}",
                )
                continue
            rules = ", ".join(str(r) for r in action.rules)
            await deps.events.post(
                cr,
                type_="Normal",
                reason="SidecarRestart",
                message=f"{action.action} {w.kind} {w.namespace}/{w.name}: "
                f"{action.pods} pod(s) with outdated sidecars ({rules})",
            )
        if index < len(batches) - 1:
            await _wait_wave(deps, wave, cr)
    return failures


def _manual_refs(plan: RestartPlan) -> list[str]:
    refs: list[str] = []
    for outcome in plan.outcomes_of(Outcome.NEEDS_MANUAL_RESTART):
        shown = list(outcome.example_refs())
        refs += shown + [f"{outcome.workload.namespace}/?"] * (outcome.pods - len(shown))
    return refs


def _summary_counts(plan: RestartPlan) -> dict[str, int]:
    summary = plan.summary()
    counts = {
        "current": summary.current,
        "manual": summary.manual,
        "skipped": summary.skipped,
        "pending": summary.pending,
    }
    counts["outdated"] = sum(summary.outdated.values())
    for reason, pods in summary.outdated.items():
        counts[f"outdated_{reason}"] = pods
    counts["restart_success"] = sum(
        o.pods for o in plan.outcomes_of(Outcome.ROLLOUT_VIA_OWNER, Outcome.EVICT)
    )
    counts["restart_failed"] = sum(o.pods for o in plan.outcomes_of(Outcome.FAILED))
    return counts


async def restart_outdated(step: Install, deps: Deps, draft: Draft) -> c.Problem | None:
    """Restart the owners of outdated sidecars; set ``ProxySidecarRestartSucceeded`` accordingly."""
    try:
        expectation = expectation_for(step)
        builder = PlanBuilder.for_restart(expectation)
        plan = await build_plan(deps, builder, running_only=True, limit=deps.settings.restart_limit)
        failures = await execute(deps, plan, builder.selection, step.cr)
    except (errors.ClusterError, ValueError, KeyError) as err:
        problem = c.SIDECARS_FAILED.problem(str(err))
        draft.set(c.Reason.PROXY_SIDECAR_RESTART_FAILED)
        return c.Problem(problem.description, problem.level, None)
    plan = mark_failed(plan, failures)
    deps.observer.observe_restarts(_summary_counts(plan))
    if failures:
        listed = "; ".join(f"{w.kind} {w.namespace}/{w.name}: {e}" for w, e in sorted(failures.items()))
        draft.set(c.Reason.PROXY_SIDECAR_RESTART_FAILED)
        return c.Problem(c.SIDECARS_FAILED.describe(listed), c.Level.ERROR, None)
    manual = _manual_refs(plan)
    if manual:
        for outcome in plan.outcomes_of(Outcome.NEEDS_MANUAL_RESTART):
            w = outcome.workload
            await deps.events.post(
                step.cr,
                type_="Warning",
                reason="ManualRestartRequired",
                message=f"{w.kind} {w.namespace}/{w.name}: "
                f"{outcome.pods} pod(s) need a manual restart: {outcome.why}",
            )
        problem = c.manual_restart_required(manual)
        draft.set(c.Reason.PROXY_SIDECAR_MANUAL_RESTART_REQUIRED, problem.message)
        return c.Problem(problem.description, problem.level, None)
    if not plan.complete:
        draft.set(c.Reason.PROXY_SIDECAR_RESTART_PARTIALLY_SUCCEEDED)
        step.partial = True
        return None
    draft.set(c.Reason.PROXY_SIDECAR_RESTART_SUCCEEDED)
    return None


async def remove_sidecars(cr: Mapping[str, Any], deps: Deps) -> None:
    """After uninstall: restart every owner whose pods still carry a sidecar; manual ones are logged."""
    builder = PlanBuilder.for_removal()
    plan = await build_plan(deps, builder, running_only=False, limit=None)
    failures = await execute(deps, plan, builder.selection, cr)
    for w, err in failures.items():
        deps.log.warning("sidecar removal failed for %s %s/%s: %s", w.kind, w.namespace, w.name, err)
    for outcome in plan.outcomes_of(Outcome.NEEDS_MANUAL_RESTART):
        deps.log.warning(
            "sidecar of %s %s/%s needs a manual restart: %s",
            outcome.workload.kind,
            outcome.workload.namespace,
            outcome.workload.name,
            outcome.why,
        )

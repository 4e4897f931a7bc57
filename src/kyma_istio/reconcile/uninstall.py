"""The delete half of a pass (spec section 8): refuse while user Istio resources remain, otherwise remove
Istio (``istioctl uninstall --purge`` semantics, then ``istio-system`` unless the chart ships it), restart
workloads so their sidecars go, and release the finalizer.

Every step is idempotent, so an operator killed half-way converges on the next pass. Another party's
finalizer never sends the pass into later steps (the reference's quirk 10). The result is an
``Uninstalled`` value or the first ``Problem``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kyma_istio.api import conditions as c
from kyma_istio.api import names
from kyma_istio.api.events import EventReason
from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.seam import EXISTS, announce
from kyma_istio.reconcile import finalizer, sidecars
from kyma_istio.reconcile.context import CURRENT_STEP, Deps
from kyma_istio.reconcile.steps import Uninstalled
from kyma_istio.resources import dangling

BLOCKERS_IN_DESCRIPTION = 5


async def uninstall(cr: dict[str, Any], deps: Deps) -> Uninstalled | c.Problem:
    """Uninstall Istio for a CR that is being deleted."""
    if not finalizer.has(cr):
        return Uninstalled(cr, ((c.Reason.ISTIO_INSTALL_NOT_NEEDED, None),))
    CURRENT_STEP.set("blockers")
    problem = await _blockers(cr, deps)
    if problem is None:
        CURRENT_STEP.set("uninstall")
        problem = await _uninstall(cr, deps)
    if problem is None:
        CURRENT_STEP.set("remove_sidecars")
        try:
            await sidecars.remove_sidecars(cr, deps)
        except errors.ClusterError as err:
            problem = c.SIDECAR_REMOVAL_FAILED.problem(str(err))
    if problem is not None:
        return problem
    CURRENT_STEP.set("release")
    return await _release(cr, deps)


async def _release(cr: dict[str, Any], deps: Deps) -> Uninstalled | c.Problem:
    """Let go of the CR; the API server deletes it unless another party's finalizer still holds it."""
    try:
        updated = await finalizer.remove(deps.kube, cr)
    except errors.ClusterError as err:
        return c.REMOVE_FINALIZER_FAILED.problem(str(err))
    gone = updated is None or not (updated.get("metadata", {}).get("finalizers") or [])
    return Uninstalled(None if gone else updated, ((c.Reason.ISTIO_UNINSTALL_SUCCEEDED, None),))


async def _blockers(cr: dict[str, Any], deps: Deps) -> c.Problem | None:
    try:
        blockers = await find_blockers(deps)
    except errors.ClusterError as err:
        return c.CUSTOMER_RESOURCES_FAILED.problem(str(err))
    if not blockers:
        return None
    listed = dangling.describe_blockers(blockers, BLOCKERS_IN_DESCRIPTION)
    message = f"Istio deletion blocked by {len(blockers)} resource(s): " + ", ".join(str(b) for b in blockers)
    await announce(deps.events, cr, EventReason.DELETION_BLOCKED, message)
    base = c.RESOURCES_BLOCK_DELETION.problem()
    return c.Problem(f"{base.description}. Blocking: {listed}", base.level, base.reason, base.message)


async def _uninstall(cr: dict[str, Any], deps: Deps) -> c.Problem | None:
    result = await deps.installer.uninstall()
    if not result.ok:
        return c.UNINSTALL_FAILED.problem(result.summary)
    try:
        await _wait_workloads_gone(deps)
        namespace = await deps.kube.get(kinds.NAMESPACE, names.ISTIO_NAMESPACE)
        # The chart's istio-system holds the operator's own Role: deleting it would lock the next
        # install out. istioctl's purge has already removed Istio's objects from it.
        if namespace is not None and not keeps_namespace(namespace):
            await deps.kube.delete(kinds.NAMESPACE, names.ISTIO_NAMESPACE, foreground=True)
    except errors.ClusterError as err:
        return c.UNINSTALL_FAILED.problem(str(err))
    await announce(deps.events, cr, EventReason.UNINSTALLED, f"Istio removed in {result.duration_s:.1f}s")
    return None


TERMINATION_WAIT_S = 60.0
"""How long the pass waits for Istio's Deployments and DaemonSets to finish terminating after the purge."""
_POLL_S = 0.5


async def _wait_workloads_gone(deps: Deps, timeout_s: float = TERMINATION_WAIT_S) -> None:
    """From Istio 1.24 the purge deletes in the foreground: istiod and the gateways stay, terminating, until
    the garbage collector has removed their pods. Reporting the uninstall (and releasing the CR) only once
    they are gone keeps a re-created CR from installing over terminating objects; past ``timeout_s`` the
    pass goes on, as before, and the next install waits on the API server instead."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        remaining = [
            f"{kind.kind}/{obj['metadata']['name']}"
            for kind in (kinds.DEPLOYMENT, kinds.DAEMONSET)
            for obj in await deps.kube.list_all(
                kind, namespace=names.ISTIO_NAMESPACE, labels={names.ISTIO_COMPONENT_LABEL: EXISTS}
            )
        ]
        if not remaining or loop.time() >= deadline:
            if remaining:
                deps.log.warning("Istio's %s still terminating after %.0fs", ", ".join(remaining), timeout_s)
            return
        await asyncio.sleep(_POLL_S)


def keeps_namespace(namespace: dict[str, Any]) -> bool:
    """Whether the ``istio-system`` Namespace is the chart's, which an uninstall leaves in place."""
    annotations = namespace.get("metadata", {}).get("annotations") or {}
    return bool(annotations.get(names.KEEP_ON_UNINSTALL_ANNOTATION) == "true")


async def find_blockers(deps: Deps) -> list[dangling.Blocker]:
    """User objects of the controlled kinds; kinds whose CRD is absent are skipped."""
    blockers: list[dangling.Blocker] = []
    for controlled in dangling.CONTROLLED_KINDS:
        if await deps.kube.get(kinds.CRD, controlled.crd_name) is None:
            continue
        try:
            objects = await deps.kube.list_all(controlled)
        except errors.NotFound:
            continue
        blockers += dangling.blocking_resources(controlled, objects)
    return blockers

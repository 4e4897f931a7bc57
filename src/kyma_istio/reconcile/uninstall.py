"""The delete half of a pass (spec section 8): refuse while user Istio resources remain, otherwise remove
Istio (``istioctl uninstall --purge`` semantics, then ``istio-system``), restart workloads so their
sidecars go, and release the finalizer.

Every step is idempotent, so an operator killed half-way converges on the next pass. Another party's
finalizer never sends the pass into later steps (the reference's quirk 10).
"""

from __future__ import annotations

from typing import Any

from kyma_istio.api import conditions as c
from kyma_istio.api import names
from kyma_istio.k8s import errors, kinds
from kyma_istio.reconcile import finalizer, sidecars
from kyma_istio.reconcile.context import CURRENT_STEP, Deps
from kyma_istio.reconcile.draft import Draft
from kyma_istio.resources import dangling

BLOCKERS_IN_DESCRIPTION = 5


class Uninstall:
    """Uninstall Istio for a CR that is being deleted."""

    def __init__(self, cr: dict[str, Any], deps: Deps, draft: Draft) -> None:
        self.cr, self.deps, self.draft = cr, deps, draft
        self.cr_gone = False
        self.finalized = False
        """True when our finalizer was removed in this pass."""

    async def run(self) -> c.Problem | None:
        if not finalizer.has(self.cr):
            self.draft.set(c.Reason.ISTIO_INSTALL_NOT_NEEDED)
            return None
        for step in (self._blockers, self._uninstall, self._remove_sidecars, self._release):
            CURRENT_STEP.set(step.__name__.strip("_"))
            problem = await step()
            if problem is not None:
                return problem
        return None

    async def _blockers(self) -> c.Problem | None:
        try:
            blockers = await find_blockers(self.deps)
        except errors.ClusterError as err:
            return c.CUSTOMER_RESOURCES_FAILED.problem(str(err))
        if not blockers:
            return None
        listed = dangling.describe_blockers(blockers, BLOCKERS_IN_DESCRIPTION)
        await self.deps.events.post(
            self.cr,
            type_="Warning",
            reason="DeletionBlocked",
            message=f"Istio deletion blocked by {len(blockers)} resource(s): "
            + ", ".join(str(b) for b in blockers),
        )
        base = c.RESOURCES_BLOCK_DELETION.problem()
        return c.Problem(f"{base.description}. Blocking: {listed}", base.level, base.reason, base.message)

    async def _uninstall(self) -> c.Problem | None:
        result = await self.deps.installer.uninstall()
        if not result.ok:
            return c.UNINSTALL_FAILED.problem(result.summary)
        try:
            await self.deps.kube.delete(kinds.NAMESPACE, names.ISTIO_NAMESPACE, foreground=True)
        except errors.ClusterError as err:
            return c.UNINSTALL_FAILED.problem(str(err))
        await self.deps.events.post(
            self.cr,
            type_="Normal",
            reason="IstioUninstalled",
            message=f"Istio removed in {result.duration_s:.1f}s",
        )
        return None

    async def _remove_sidecars(self) -> c.Problem | None:
        try:
            await sidecars.remove_sidecars(self.cr, self.deps)
        except errors.ClusterError as err:
            return c.SIDECAR_REMOVAL_FAILED.problem(str(err))
        self.draft.set(c.Reason.ISTIO_UNINSTALL_SUCCEEDED)
        return None

    async def _release(self) -> c.Problem | None:
        try:
            updated = await finalizer.remove(self.deps.kube, self.cr)
        except errors.ClusterError as err:
            return c.REMOVE_FINALIZER_FAILED.problem(str(err))
        self.finalized = True
        if updated is None or not (updated.get("metadata", {}).get("finalizers") or []):
            self.cr_gone = True
        else:
            self.cr = updated
        return None


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

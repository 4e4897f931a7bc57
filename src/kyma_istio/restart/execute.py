"""Carrying out a restart plan, wave by wave, through the ``KubeApi`` seam: stamp, evict, wait.

Every owner rolled out gets the plan's target hash on its pod template, so a repeated pass never
restarts it again for the same target. A wave's rollouts must become healthy (``rollout.healthy``)
before the next wave starts; a slow wave is reported, never waited for forever. When more owners remain
for a later pass, the last wave is waited for too (``settle_last``): a chunk that settled lets the next
pass start at once instead of after the partial requeue (ADR 15). Failures are collected
per owner and reported as Events; the caller decides what they mean for the CR's status.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kyma_istio.api import names
from kyma_istio.api.events import EventReason
from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.seam import EventSink, KubeApi, PatchType, announce
from kyma_istio.k8s.time import rfc3339
from kyma_istio.restart.outcomes import OwnerAction, RestartPlan, waves
from kyma_istio.restart.owners import WORKLOAD_KINDS, ActionKind, WorkloadKey
from kyma_istio.restart.podview import reduce_pod
from kyma_istio.restart.rollout import healthy
from kyma_istio.restart.selection import Selection

POLL_S = 1.0


@dataclass(frozen=True)
class Executed:
    """What carrying out a plan came to, by owner: failures, and owners a PodDisruptionBudget holds back
    (an eviction refused; they wait for a later pass, which is no failure)."""

    failures: dict[WorkloadKey, str]
    held: dict[WorkloadKey, str]
    settled: bool = False
    """Every wave's rollouts became healthy in time, the last one included (waited for only with
    ``settle_last``): the next chunk can start at once."""
    wave_seconds: tuple[float, ...] = ()
    """Each wave's own duration: its patches and evictions, then the wait for its rollouts."""
    postponed: tuple[OwnerAction, ...] = ()
    """Owners not started because their maintenance window closed while earlier waves ran; a rollout
    already begun is let finish, none starts outside its window."""


@dataclass(frozen=True)
class Executor:
    """What executing a plan needs: the API, the Event sink, a clock, and the wave settings."""

    kube: KubeApi
    events: EventSink
    clock: Callable[[], datetime]
    wave_size: int
    wave_timeout_s: float

    async def execute(
        self, plan: RestartPlan, selection: Selection, cr: Mapping[str, Any], *, settle_last: bool = False
    ) -> Executed:
        """Carry out the plan's actions wave by wave; the failures and the held owners. With
        ``settle_last`` the last wave's rollouts are waited for as well."""
        failures: dict[WorkloadKey, str] = {}
        held: dict[WorkloadKey, str] = {}
        done: list[str] = []
        durations: list[float] = []
        settled = True
        loop = asyncio.get_running_loop()
        batches = waves(plan.actions, self.wave_size)
        postponed: list[OwnerAction] = []
        for index, wave in enumerate(batches):
            began = loop.time()
            now = self.clock()
            for action in wave:
                w = action.workload
                if action.window is not None and not action.window.is_open(now):
                    postponed.append(action)
                    continue
                try:
                    await self._act(action, plan.target, selection)
                except errors.DisruptionRefused as err:
                    held[w] = str(err)
                    continue
                except errors.ClusterError as err:
                    failures[w] = str(err)
                    continue
                rules = ", ".join(str(r) for r in action.rules)
                done.append(
                    f"{action.action} {w.kind} {w.namespace}/{w.name} ({action.pods} pod(s), {rules})"
                )
            if index < len(batches) - 1 or settle_last:
                settled = await self._wait_wave(wave, cr) and settled
            else:
                settled = False
            durations.append(loop.time() - began)
        # One summary Event per pass each, not one per owner: a large mesh would flood the CR's Events.
        if done:
            message = summary(f"{len(done)} owner(s) with outdated sidecars", done)
            await announce(self.events, cr, EventReason.SIDECAR_RESTART, message)
        if held:
            waiting = [f"{w.kind} {w.namespace}/{w.name}: {err}" for w, err in held.items()]
            message = summary(f"{len(waiting)} owner(s) wait for their PodDisruptionBudget", waiting)
            await announce(self.events, cr, EventReason.EVICTION_HELD, message)
        if failures:
            failed = [f"{w.kind} {w.namespace}/{w.name}: {err}" for w, err in failures.items()]
            message = summary(f"{len(failed)} owner(s) not restarted", failed)
            await announce(self.events, cr, EventReason.SIDECAR_RESTART_FAILED, message)
        return Executed(
            failures,
            held,
            settled=settled and not held,
            wave_seconds=tuple(durations),
            postponed=tuple(postponed),
        )

    async def _act(self, action: OwnerAction, target: str, selection: Selection) -> None:
        if action.action is ActionKind.ROLLOUT:
            await self._stamp(action, target, restart=True)
        else:
            await self._evict(action, selection, sequential=action.action is ActionKind.EVICT_SEQUENTIAL)

    async def _stamp(self, action: OwnerAction, target: str, *, restart: bool) -> None:
        """Record the target on the owner's pod template; with ``restart`` also the restart time (a
        rollout)."""
        stamp = {names.RESTART_TARGET_ANNOTATION: target}
        if restart:
            stamp[names.RESTARTED_AT_ANNOTATION] = rfc3339(self.clock())
        patch = {"spec": {"template": {"metadata": {"annotations": stamp}}}}
        w = action.workload
        await self.kube.patch(
            WORKLOAD_KINDS[w.kind], w.name, patch, namespace=w.namespace, patch_type=PatchType.STRATEGIC
        )

    async def _evict(self, action: OwnerAction, selection: Selection, *, sequential: bool) -> None:
        """Evict the owner's pods that still want a restart; one by one, replacement ready, when
        sequential."""
        w = action.workload
        if w.kind in WORKLOAD_KINDS:
            await self._stamp(action, selection.target, restart=False)
        pods = [
            p
            async for p in self.kube.stream(kinds.POD, namespace=w.namespace)
            if any(ref.get("uid") == action.uid for ref in p["metadata"].get("ownerReferences") or [])
        ]
        for pod in pods:
            if not selection.wants_restart(reduce_pod(pod)):
                continue
            name = pod["metadata"]["name"]
            await self.kube.evict(name, w.namespace)
            if sequential:
                await self._wait_replacement(w.namespace, name, pod["metadata"].get("uid"))

    async def _wait_replacement(self, namespace: str, name: str, old_uid: str | None) -> None:
        """Wait until a pod of the same name (a StatefulSet's) or the owner is back to ready."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wave_timeout_s
        while loop.time() < deadline:
            pod = await self.kube.get(kinds.POD, name, namespace)
            if (
                pod is not None
                and pod["metadata"].get("uid") != old_uid
                and reduce_pod(pod).all_conditions_true
            ):
                return
            if pod is None and old_uid is not None:
                # DaemonSet pods get new names; give the controller a moment and move on.
                await asyncio.sleep(POLL_S)
                return
            await asyncio.sleep(POLL_S)
        raise errors.ClusterError(
            f"replacement of Pod {namespace}/{name} not ready after {self.wave_timeout_s:.0f}s"
        )

    async def _wait_wave(self, wave: list[OwnerAction], cr: Mapping[str, Any]) -> bool:
        """Let the wave's rollouts become healthy before the next wave; report, never block forever.
        Whether they all did in time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wave_timeout_s
        waiting = [a.workload for a in wave if a.action is ActionKind.ROLLOUT]
        while waiting and loop.time() < deadline:
            await asyncio.sleep(POLL_S)
            still = []
            for w in waiting:
                obj = await self.kube.get(WORKLOAD_KINDS[w.kind], w.name, w.namespace)
                if obj is not None and not healthy(obj):
                    still.append(w)
            waiting = still
        if waiting:
            listed = ", ".join(f"{w.kind} {w.namespace}/{w.name}" for w in waiting)
            await announce(self.events, cr, EventReason.ROLLOUT_SLOW, f"not healthy in time: {listed}")
            return False
        return True


def summary(head: str, items: list[str], *, shown: int = 10) -> str:
    """``head: a; b; c; and N more``: an Event message that stays short whatever the mesh's size."""
    listed = "; ".join(items[:shown])
    more = f"; and {len(items) - shown} more" if len(items) > shown else ""
    return f"{head}: {listed}{more}"

"""Leader election on a ``coordination.k8s.io/v1`` Lease, so exactly one replica reconciles (ADR 0003).

kopf's peering freezes every replica of equal priority and needs its own CRDs; a Lease is what Kubernetes
controllers use, what the reference uses (ID ``76223278.kyma-project.io``) and what RBAC already covers.
Updates carry the Lease's ``resourceVersion``, so two candidates can never both win a round.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.seam import KubeApi

log = logging.getLogger("kyma_istio.leader")


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@dataclass
class LeaseElector:
    """Acquire and keep a Lease; ``lost`` is set when leadership ends."""

    kube: KubeApi
    name: str
    namespace: str
    identity: str
    lease_duration_s: float = 15.0
    renew_every_s: float = 5.0
    clock: Callable[[], datetime] = _now

    def __post_init__(self) -> None:
        self.lost = asyncio.Event()

    def _spec(self, lease: dict[str, Any] | None, *, taking_over: bool) -> dict[str, Any]:
        now = _stamp(self.clock())
        spec = dict((lease or {}).get("spec") or {})
        transitions = int(spec.get("leaseTransitions") or 0) + (1 if taking_over else 0)
        spec.update(
            holderIdentity=self.identity,
            leaseDurationSeconds=int(self.lease_duration_s),
            renewTime=now,
            leaseTransitions=transitions,
        )
        if taking_over or "acquireTime" not in spec:
            spec["acquireTime"] = now
        return spec

    def _expired(self, lease: dict[str, Any]) -> bool:
        spec = lease.get("spec") or {}
        renewed = _parse(spec.get("renewTime"))
        duration = float(spec.get("leaseDurationSeconds") or self.lease_duration_s)
        return renewed is None or (self.clock() - renewed).total_seconds() > duration

    async def try_acquire(self) -> bool:
        """One round: True when we hold the Lease afterwards."""
        lease = await self.kube.get(kinds.LEASE, self.name, self.namespace)
        if lease is None:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": self._spec(None, taking_over=True),
            }
            try:
                await self.kube.create(kinds.LEASE, body)
            except errors.ClusterError:
                return False
            return True
        holder = (lease.get("spec") or {}).get("holderIdentity")
        if holder != self.identity and not self._expired(lease):
            return False
        patch = {
            "metadata": {"resourceVersion": lease["metadata"]["resourceVersion"]},
            "spec": self._spec(lease, taking_over=holder != self.identity),
        }
        try:
            await self.kube.patch(kinds.LEASE, self.name, patch, namespace=self.namespace)
        except errors.ClusterError:
            return False
        return True

    async def _attempt(self) -> bool:
        """One round that treats an unreachable API server as "not yet" instead of ending start-up."""
        try:
            return await self.try_acquire()
        except errors.ClusterError as err:
            log.warning("lease %s/%s not acquired yet: %s", self.namespace, self.name, err)
            return False

    async def acquire(self) -> None:
        """Wait until we lead."""
        while not await self._attempt():  # noqa: ASYNC110 - polls a remote Lease
            await asyncio.sleep(self.renew_every_s)
        log.info("acquired leadership of lease %s/%s as %s", self.namespace, self.name, self.identity)

    async def keep(self) -> None:
        """Renew until a renewal fails past the lease duration; then set ``lost`` and return."""
        last_ok = self.clock()
        while True:
            await asyncio.sleep(self.renew_every_s)
            try:
                ok = await self.try_acquire()
            except errors.ClusterError:
                ok = False
            if ok:
                last_ok = self.clock()
            elif (self.clock() - last_ok).total_seconds() > self.lease_duration_s:
                log.warning("lost leadership of lease %s/%s", self.namespace, self.name)
                self.lost.set()
                return

"""Two operator replicas against the real API server: only one holds the Lease; the other takes over only
after the leader stops renewing and the Lease expires."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kyma_istio.api import names
from kyma_istio.cluster.kube import Kube
from kyma_istio.k8s import kinds
from kyma_istio.operator.leader import LeaseElector

pytestmark = pytest.mark.integration


async def test_one_replica_leads_and_the_other_takes_over_after_the_lease_expires(
    kubeconfig: Path, namespace: str
) -> None:
    kube = Kube.connect(kubeconfig)
    try:
        first = LeaseElector(kube, names.LEADER_ELECTION_ID, namespace, "replica-a", lease_duration_s=2.0)
        second = LeaseElector(kube, names.LEADER_ELECTION_ID, namespace, "replica-b", lease_duration_s=2.0)

        assert await first.try_acquire()
        assert not await second.try_acquire()
        assert await first.try_acquire()  # renewal by the holder

        # The leader stops renewing (it died); once the lease is older than its duration it is free.
        await asyncio.sleep(3.0)
        assert await second.try_acquire()
        assert not await first.try_acquire()

        lease = await kube.get(kinds.LEASE, names.LEADER_ELECTION_ID, namespace)
        assert lease is not None
        assert lease["spec"]["holderIdentity"] == "replica-b"
        assert lease["spec"]["leaseTransitions"] >= 2
    finally:
        await kube.close()

"""Who has to act for a pod: the owner to roll out, the pods to evict, or a human.

Every owner kind is decided explicitly (spec 6.5 as the baseline); nothing falls through to a
generic "roll out whatever owns it", because a rollout of an unknown kind is guaranteed to fail:

============================================  =====================================================
pod owned by                                  action
============================================  =====================================================
ReplicaSet owned by a Deployment              roll out the Deployment
Deployment (directly)                         roll out the Deployment
StatefulSet / DaemonSet, ``RollingUpdate``    roll out the workload
StatefulSet / DaemonSet, ``OnDelete``         evict its pods one at a time (a rollout does nothing)
ReplicaSet without owner                      evict the pods (the ReplicaSet recreates them)
ReplicationController                         evict the pods
Job (also a CronJob's), no owner, Node        manual: nothing would recreate the pod, or it is a
(static pod), any other kind                  one-off; or the kind (say an Argo Rollout) is unknown
============================================  =====================================================

Evictions go through the Eviction API, so PodDisruptionBudgets apply. The lookups this needs (a
ReplicaSet's owner, a StatefulSet's strategy) are done by the executor once per object and handed
in as mappings, so deciding never does I/O and never repeats a GET per pod.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, NamedTuple

from kyma_istio.k8s import kinds
from kyma_istio.k8s.kinds import Kind
from kyma_istio.restart.podview import OwnerRef, PodView

ROLLING_UPDATE: Final = "RollingUpdate"
ON_DELETE: Final = "OnDelete"

WORKLOAD_KINDS: Final[Mapping[str, Kind]] = MappingProxyType(
    {
        kind.kind: kind
        for kind in (
            kinds.DEPLOYMENT,
            kinds.STATEFULSET,
            kinds.DAEMONSET,
            kinds.REPLICASET,
            Kind("", "v1", "ReplicationController", "replicationcontrollers"),
        )
    }
)
"""The owners the restarter reads and patches (``WorkloadKey.kind`` -> ``Kind``)."""

_DEPLOYMENT: Final = kinds.DEPLOYMENT.group_kind
_REPLICA_SET: Final = kinds.REPLICASET.group_kind
_STATEFUL_SET: Final = kinds.STATEFULSET.group_kind
_DAEMON_SET: Final = kinds.DAEMONSET.group_kind
_REPLICATION_CONTROLLER: Final = WORKLOAD_KINDS["ReplicationController"].group_kind
_JOB: Final = Kind("batch", "v1", "Job", "jobs").group_kind
_NODE: Final = kinds.NODE.group_kind


class ActionKind(enum.StrEnum):
    """What the executor does to an owner."""

    ROLLOUT = "Rollout"
    """Patch the pod template's restart annotations; the controller replaces pods at its own pace."""
    EVICT = "Evict"
    """Evict the owner's outdated pods; the owner recreates them."""
    EVICT_SEQUENTIAL = "EvictSequential"
    """Evict one pod at a time and wait for its replacement to be ready (``OnDelete`` workloads)."""


class WorkloadKey(NamedTuple):
    """An object by kind, namespace and name: the key of every per-owner mapping."""

    kind: str
    namespace: str
    name: str

    def sort_key(self) -> tuple[str, str, str]:
        """Plans are ordered by namespace, then kind, then name."""
        return (self.namespace, self.kind, self.name)


ReplicaSetKey = tuple[str, str]
"""``(namespace, name)`` of a ReplicaSet."""


@dataclass(frozen=True, slots=True)
class Resolution:
    """The object that acts for a pod and how; ``action`` is ``None`` when a human has to act."""

    workload: WorkloadKey
    api_version: str = ""
    uid: str = ""
    action: ActionKind | None = None
    why: str = ""
    """For a manual restart: the reason, short enough for a status message."""


def replicasets_to_resolve(pods: Iterable[PodView]) -> set[ReplicaSetKey]:
    """The ReplicaSets whose owner the executor has to look up (once each) before planning."""
    return {
        (pod.namespace, pod.owner.name)
        for pod in pods
        if pod.owner is not None and (pod.owner.group, pod.owner.kind) == _REPLICA_SET
    }


def workload_of(
    namespace: str, owner: OwnerRef | None, replicaset_owners: Mapping[ReplicaSetKey, OwnerRef | None]
) -> WorkloadKey | None:
    """The object whose strategy, annotations and template decide, if the pod has a restartable one."""
    if owner is None:
        return None
    if (owner.group, owner.kind) == _REPLICA_SET:
        key = (namespace, owner.name)
        if key not in replicaset_owners:
            return None
        parent = replicaset_owners[key]
        if parent is None:
            return WorkloadKey(owner.kind, namespace, owner.name)
        owner = parent
    if (owner.group, owner.kind) in {_DEPLOYMENT, _STATEFUL_SET, _DAEMON_SET, _REPLICATION_CONTROLLER}:
        return WorkloadKey(owner.kind, namespace, owner.name)
    return None


def resolve_owner(
    namespace: str,
    pod_name: str,
    owner: OwnerRef | None,
    *,
    replicaset_owners: Mapping[ReplicaSetKey, OwnerRef | None],
    workload_strategies: Mapping[tuple[str, str, str], str],
) -> Resolution:
    """Decide who acts for the pod ``namespace/pod_name`` owned by ``owner``."""
    if owner is None:
        return _manual(WorkloadKey("Pod", namespace, pod_name), "it has no owner that would recreate it")
    if (owner.group, owner.kind) != _REPLICA_SET:
        return _resolve_workload(namespace, pod_name, owner, workload_strategies)
    key = (namespace, owner.name)
    if key not in replicaset_owners:
        return _manual(WorkloadKey(owner.kind, namespace, owner.name), f"ReplicaSet {owner.name} not found")
    parent = replicaset_owners[key]
    if parent is None:
        # A bare ReplicaSet has no template rollout; replacing its pods is the only restart.
        return _act(namespace, owner, ActionKind.EVICT)
    if (parent.group, parent.kind) == _REPLICA_SET:
        return _unsupported(namespace, parent)
    return _resolve_workload(namespace, pod_name, parent, workload_strategies)


def _resolve_workload(
    namespace: str, pod_name: str, owner: OwnerRef, strategies: Mapping[tuple[str, str, str], str]
) -> Resolution:
    """Every kind other than ReplicaSet, each one named."""
    kind = (owner.group, owner.kind)
    if kind == _DEPLOYMENT:
        return _act(namespace, owner, ActionKind.ROLLOUT)
    if kind in {_STATEFUL_SET, _DAEMON_SET}:
        return _by_strategy(namespace, owner, strategies)
    if kind == _REPLICATION_CONTROLLER:
        return _act(namespace, owner, ActionKind.EVICT)
    if kind == _JOB:
        # A CronJob's pods are owned by its Job, so this covers CronJobs too: the next run is current.
        return _manual(
            WorkloadKey(owner.kind, namespace, owner.name),
            f"Job {owner.name} is not restarted; its next run gets the current sidecar",
        )
    if kind == _NODE:
        return _manual(
            WorkloadKey("Pod", namespace, pod_name), f"static pod of node {owner.name}, owned by the kubelet"
        )
    return _unsupported(namespace, owner)


def _by_strategy(
    namespace: str, owner: OwnerRef, strategies: Mapping[tuple[str, str, str], str]
) -> Resolution:
    """A rollout is a no-op for ``OnDelete`` workloads: only deleting pods makes them pick up changes."""
    workload = WorkloadKey(owner.kind, namespace, owner.name)
    strategy = strategies.get(workload)
    if strategy is None:
        return _manual(workload, f"{owner.kind} {owner.name} not found")
    if strategy == ROLLING_UPDATE:
        return _act(namespace, owner, ActionKind.ROLLOUT)
    if strategy == ON_DELETE:
        return _act(namespace, owner, ActionKind.EVICT_SEQUENTIAL)
    return _manual(workload, f"{owner.kind} {owner.name} has the unsupported update strategy {strategy!r}")


def _unsupported(namespace: str, owner: OwnerRef) -> Resolution:
    return _manual(
        WorkloadKey(owner.kind, namespace, owner.name),
        f"owned by {owner.kind} {owner.name} ({owner.api_version}), which the operator cannot restart",
    )


def _act(namespace: str, owner: OwnerRef, action: ActionKind) -> Resolution:
    return Resolution(
        workload=WorkloadKey(owner.kind, namespace, owner.name),
        api_version=owner.api_version,
        uid=owner.uid,
        action=action,
    )


def _manual(workload: WorkloadKey, why: str) -> Resolution:
    return Resolution(workload=workload, why=why)

"""The reads behind a restart plan: stream pods into a ``PlanBuilder``, look up each owner once, plan.

Only reads, through the ``KubeApi`` seam; the controller (``reconcile.sidecars``) and
``kyma-istio plan-restarts`` plan with the same code. Only the facts a decision needs are kept, never
the objects, so memory stays flat however many pods there are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from kyma_istio.api import names
from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.kinds import Kind
from kyma_istio.k8s.seam import KubeApi
from kyma_istio.restart import policy
from kyma_istio.restart.owners import WORKLOAD_KINDS
from kyma_istio.restart.plan import PlanBuilder, RestartPlan
from kyma_istio.restart.podview import owner_of, reduce_pod
from kyma_istio.restart.windows import Window

PAGE_SIZE = 500
LOOKUP_CONCURRENCY = 16
"""Owner GETs in flight at once while planning."""
LIST_ABOVE = 50
"""Above this many wanted objects of one kind, planning lists the kind instead of GETting each."""
_LIST_ATTEMPTS = 3
_T = TypeVar("_T")


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
    kube: KubeApi,
    builder: PlanBuilder,
    *,
    running_only: bool,
    limit: int | None,
    namespace: str | None = None,
    now: datetime | None = None,
    default_window: Window | None = None,
    inject_missing: bool = False,
    windows_apply: bool = True,
) -> RestartPlan:
    """Stream pods page by page, then look up each ReplicaSet and workload once, then plan.

    ``namespace`` confines the plan to one namespace (tests on a shared cluster); the controller and
    ``plan-restarts`` plan cluster-wide. With ``now``, owners' exclusions and maintenance windows (their
    own annotations, their namespace's, then ``default_window``) hold restarts back (``restart.policy``).
    """
    fields = {"status.phase": "Running"} if running_only else None
    namespaces = [_namespace_facts(ns) async for ns in kube.stream(kinds.NAMESPACE)]  # once per plan
    if inject_missing:
        live = frozenset(ns.name for ns in namespaces if not ns.deleting)
        builder.expect_injection(frozenset(ns.name for ns in namespaces if ns.injecting), live=live)
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
    deadlines: dict[tuple[str, str, str], int] = {}
    for workload, (present, facts) in zip(workloads, found, strict=True):
        if present and facts is not None:
            strategies[workload], targets[workload], annotations[workload], deadline = facts
            if deadline is not None:
                deadlines[workload] = deadline
    opted_out = {ns.name for ns in namespaces if ns.opted_out}
    namespace_annotations = {ns.name: ns.restarter for ns in namespaces if ns.restarter}
    return builder.build(
        replicaset_owners=rs_owners,
        workload_strategies=strategies,
        owner_template_targets=targets,
        owner_annotations=annotations,
        owner_deadlines=deadlines,
        opted_out_namespaces=opted_out,
        namespace_annotations=namespace_annotations,
        now=now,
        default_window=default_window,
        windows_apply=windows_apply,
        limit=limit,
    )


INJECTION_LABEL = "istio-injection"
REVISION_LABEL = "istio.io/rev"


def injecting(labels: Mapping[str, str]) -> bool:
    """Whether a namespace's labels have Istio's injector give its pods a sidecar:
    ``istio-injection=enabled``, or the default revision's ``istio.io/rev`` (this operator installs only
    that one) without an ``istio-injection`` label."""
    injection = labels.get(INJECTION_LABEL)
    return injection == "enabled" or (injection is None and labels.get(REVISION_LABEL) == "default")


@dataclass(frozen=True, slots=True)
class _Namespace:
    """What planning reads of a namespace; only these facts are kept, never the object."""

    name: str
    deleting: bool
    injecting: bool
    opted_out: bool
    restarter: Mapping[str, str]
    """Its ``restarter.istio-operator.kyma-project.io/*`` annotations (windows, exclusions)."""


def _namespace_facts(ns: Mapping[str, Any]) -> _Namespace:
    meta = ns["metadata"]
    written = meta.get("annotations") or {}
    return _Namespace(
        name=str(meta["name"]),
        deleting=bool(meta.get("deletionTimestamp")),
        injecting=injecting(meta.get("labels") or {}),
        opted_out=written.get(names.RESTART_OPT_OUT_ANNOTATION) == "disabled",
        restarter={k: v for k, v in written.items() if k.startswith(policy.PREFIX + "/")},
    )


_Facts = tuple[str, str | None, Mapping[str, str], int | None]
"""A workload's update strategy, template restart target, own annotations and, for a Deployment, its
``progressDeadlineSeconds`` (how long a rollout of it may take)."""


def _workload_facts(obj: Mapping[str, Any]) -> _Facts:
    spec = obj.get("spec") or {}
    strategy = str((spec.get("updateStrategy") or spec.get("strategy") or {}).get("type", ""))
    template_meta = (spec.get("template") or {}).get("metadata") or {}
    target = (template_meta.get("annotations") or {}).get(names.RESTART_TARGET_ANNOTATION)
    deadline = spec.get("progressDeadlineSeconds")
    seconds = deadline if isinstance(deadline, int) and not isinstance(deadline, bool) else None
    return strategy, target, obj.get("metadata", {}).get("annotations") or {}, seconds


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

"""kopf watches Istio CRs and feeds our work queue; one worker runs reconcile passes (ADR 0002).

kopf is used for what it does well, a robust watch with relists, and nothing else: only a low-level
``on.event`` handler is registered, so kopf writes no annotations, no ``status.kopf`` and no finalizer
of its own onto the CR. Our finalizer, status and requeue policy belong to the reconciler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import kopf

from kyma_istio.api import names
from kyma_istio.api.v1alpha2 import State
from kyma_istio.cluster.kubeconfig import Resolved, resolve
from kyma_istio.operator.metrics import Metrics
from kyma_istio.operator.workqueue import WARNING_BACKOFF, Backoff, WorkQueue
from kyma_istio.reconcile import pipeline
from kyma_istio.reconcile.context import Deps
from kyma_istio.restart.gather import injecting

log = logging.getLogger("kyma_istio.operator")


_RECORDS = frozenset(
    {
        names.IOP_HASH_ANNOTATION,
        names.GATEWAY_RESTARTED_FOR_ANNOTATION,
        names.EGRESS_GATEWAY_RESTARTED_FOR_ANNOTATION,
        names.PENDING_RESTART_RULES_ANNOTATION,
        names.CLIMB_FROM_ANNOTATION,
    }
)
"""Annotations a pass writes mid-way to record work done; their writes must not queue another pass."""


def fingerprint(body: Mapping[str, Any]) -> tuple[Any, ...]:
    """What makes an event worth a pass: spec generation, annotations, deletion (not status writes, not
    the pass's own records of work done)."""
    meta = body.get("metadata", {})
    annotations = tuple(sorted(kv for kv in (meta.get("annotations") or {}).items() if kv[0] not in _RECORDS))
    return (meta.get("generation"), annotations, meta.get("deletionTimestamp"), meta.get("uid"))


@dataclass
class Controller:
    """The queue, the worker and the kopf registry of one operator process."""

    deps: Deps
    metrics: Metrics
    queue: WorkQueue
    cluster: Resolved | None = field(default=None)
    """Where kopf's watch connects: the context our client uses (None: resolved at login, same rules)."""

    @classmethod
    def create(
        cls,
        deps: Deps,
        metrics: Metrics,
        *,
        backoff: Backoff | None = None,
        cluster: Resolved | None = None,
    ) -> Controller:
        return cls(deps=deps, metrics=metrics, queue=WorkQueue(backoff=backoff), cluster=cluster)

    def __post_init__(self) -> None:
        self.seen: dict[str, tuple[Any, ...]] = {}
        self.passes = 0
        self.registry = kopf.OperatorRegistry()
        kopf.on.event(names.GROUP, names.VERSION, names.PLURAL, registry=self.registry)(self._on_event)
        self.injecting: dict[str, bool] = {}
        kopf.on.event("", "v1", "namespaces", registry=self.registry)(self._on_namespace)
        # A private registry has no login handler of its own; ours hands kopf the loader's context.
        kopf.on.login(registry=self.registry)(self._login)

    def _login(self, **_: Any) -> kopf.ConnectionInfo:
        """The context of ``cluster.kubeconfig`` (called again by kopf after a 401, so a rotated
        ServiceAccount token is re-read); kopf's own loaders would not merge ``KUBECONFIG=a:b``."""
        cluster = self.cluster or resolve()
        return kopf.ConnectionInfo(**cluster.connection())

    async def _on_event(self, event: Mapping[str, Any], body: Mapping[str, Any], **_: Any) -> None:
        meta = body.get("metadata", {})
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        if event.get("type") == "DELETED":
            self.seen.pop(key, None)
            self.queue.forget(key)
            # A CR that waited for this one (OlderCRExists) may drive the module now: look again at once.
            for other in self.seen:
                if other.split("/", 1)[0] == meta.get("namespace"):
                    self.queue.add(other)
            return
        mark = fingerprint(body)
        if self.seen.get(key) == mark:
            return
        self.seen[key] = mark
        self.queue.add(key)

    async def _on_namespace(self, event: Mapping[str, Any], body: Mapping[str, Any], **_: Any) -> None:
        """A namespace that gains injection gets a pass at once, which rolls its workloads so their pods
        get a sidecar (``restart.gather.injecting``); the periodic pass would be hours away."""
        meta = body.get("metadata", {})
        name = str(meta.get("name"))
        if event.get("type") == "DELETED":
            self.injecting.pop(name, None)
            return
        now = injecting(meta.get("labels") or {})
        before = self.injecting.get(name)
        self.injecting[name] = now
        if now and before is False:  # not on the first listing, nor for a namespace created labelled
            for key in self.seen:
                if key.split("/", 1)[0] == names.OPERATOR_NAMESPACE:
                    self.queue.add(key)

    async def work(self) -> None:
        """Run passes forever, one at a time (the reference has one worker too)."""
        while True:
            key, resync = await self.queue.get()
            self.metrics.queue_depth.set(len(self.queue))
            await self.run_pass(key, resync=resync)

    async def run_pass(self, key: str, *, resync: bool) -> pipeline.PassResult | None:
        namespace, name = key.split("/", 1)
        started = time.monotonic()
        extra = {"cr": key, "step": "reconcile"}
        try:
            result = await pipeline.reconcile(namespace, name, self.deps, resync=resync)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            delay = self.queue.failed(key)
            log.warning("pass failed: %s; retry in %.0fs", err, delay, extra=extra)
            self.metrics.observe_exception(duration_s=time.monotonic() - started)
            return None
        self.passes += 1
        duration = time.monotonic() - started
        self.metrics.observe_pass(state=result.state, failed=result.failed, duration_s=duration)
        if result.failed or result.warning:
            if result.failed:
                delay = self.queue.failed(key)
            else:
                delay = self.queue.warned(key, cap_s=result.requeue_after or WARNING_BACKOFF.max_s)
            log.info(
                "pass ended %s: %s; retry in %.0fs", result.state, result.description, delay, extra=extra
            )
        else:
            # Only the pass after Ready is the periodic resync; a partial pass's requeue continues work.
            periodic = result.state is State.READY
            self.queue.succeeded(key, requeue_after_s=result.requeue_after, resync=periodic)
            log.info(
                "pass ended %s in %.2fs; next in %s",
                result.state,
                duration,
                f"{result.requeue_after:.0f}s" if result.requeue_after else "on change",
                extra=extra,
            )
        return result


def kopf_settings() -> kopf.OperatorSettings:
    """kopf settings that keep its bookkeeping off our CR and leave Events to us."""
    settings = kopf.OperatorSettings()
    prefix = "kopf.istio-operator.kyma-project.io"
    # kopf removes "its" finalizer from any object when no handler requires one (ours never does), so it
    # must not be ours: naming it names.FINALIZER made kopf strip our finalizer after every pass.
    settings.persistence.finalizer = f"{prefix}/unused-finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=prefix)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=prefix)
    settings.posting.enabled = False
    settings.scanning.disabled = True
    settings.watching.server_timeout = 300
    settings.networking.error_backoffs = [1, 2, 5, 10, 30]
    return settings


async def run_controller(
    controller: Controller,
    *,
    stop: asyncio.Event,
    ready: asyncio.Event | None = None,
) -> None:
    """Watch and reconcile until ``stop`` is set."""
    worker = asyncio.create_task(controller.work(), name="reconcile-worker")
    ready_flag = asyncio.Event()
    watcher = asyncio.create_task(
        kopf.operator(
            registry=controller.registry,
            settings=kopf_settings(),
            clusterwide=True,
            standalone=True,
            stop_flag=stop,
            ready_flag=ready_flag,
        ),
        name="kopf",
    )
    if ready is not None:
        waiter = asyncio.create_task(ready_flag.wait())
        await asyncio.wait({waiter, watcher}, return_when=asyncio.FIRST_COMPLETED)
        ready.set()
    try:
        await watcher
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker

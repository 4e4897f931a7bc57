"""What a reconcile pass needs from outside: settings, the API facade, the installer, a clock, events.

Dependencies are passed in (typed by ``Protocol`` where a fake is useful) instead of living in module
globals, so tests and the ``diff``/``plan-restarts`` commands assemble exactly what they need.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from kyma_istio.installer import istioctl
from kyma_istio.k8s.seam import EventSink, KubeApi
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.lines import Line
from kyma_istio.restart.windows import Window


@dataclass(frozen=True)
class Settings:
    """Operator settings; the defaults are the reference's (spec section 11.1) where it has one."""

    line: Line = DEFAULT_LINE
    """The Istio release line to install (``--istio-line``): version, tag, the line's istioctl."""
    hub: str | None = None
    """Registry of Istio's images (pilot, proxyv2, install-cni); None: the running istiod's, else
    the default hub (``mesh.takeover``)."""
    reconciliation_interval_s: float = 10 * 3600.0
    """Periodic re-reconcile after Ready (drift repair)."""
    partial_requeue_s: float = 60.0
    """Requeue while sidecar restarts remain and the last chunk's rollouts are not healthy yet (or a
    PodDisruptionBudget holds an owner back)."""
    chunk_requeue_s: float = 1.0
    """Requeue while sidecar restarts remain after a chunk whose rollouts all became healthy: the next
    chunk starts almost at once, and the pass boundary between chunks keeps CR changes prompt (ADR 15)."""
    experimental: bool = False
    """Honour ``spec.experimental`` (the reference's experimental image flavour)."""
    restart_wave_size: int = 5
    """Owners restarted at once before waiting for their rollouts to become healthy."""
    restart_limit: int = 30
    """Owners restarted per reconcile; the rest are picked up by the requeue."""
    restart_wave_timeout_s: float = 300.0
    """How long a wave may take to become healthy before it is reported and the next wave goes."""
    install_timeout_s: float = istioctl.INSTALL_TIMEOUT_S
    readiness_timeout_s: int = istioctl.READINESS_TIMEOUT_S
    reinstall_on_resync: bool = True
    restart_window: Window | None = None
    """The maintenance window for workloads whose own and namespace annotations set none
    (``--restart-window``); None: restart at once, as the reference does."""
    settle_restarts: bool = False
    """Wait for the last wave's rollouts too, even when no restarts remain (a climb hop: the next hop
    must not start while an owner's old pods still run)."""
    allow_climb: bool = False
    """Climb an installation two or more minors below ``line`` one minor at a time (``--allow-climb``);
    the CR's ``allow-climb`` annotation wins (``mesh.climb``)."""
    """Re-run ``istioctl install`` on the periodic resync even when nothing changed (drift repair)."""


InstallOutcome = istioctl.InstallResult
"""What the installer reports back (ok, duration, a summary short enough for the status)."""


class Installer(Protocol):
    """Installs and removes Istio (``installer.istioctl.Istioctl`` in production)."""

    async def install(self, iop: Mapping[str, Any]) -> InstallOutcome: ...

    async def uninstall(self) -> InstallOutcome: ...


class Observer(Protocol):
    """Receives pass measurements (Prometheus metrics in production)."""

    def observe_install(self, duration_s: float, ok: bool) -> None: ...

    def observe_restarts(self, summary: Mapping[str, int]) -> None: ...

    def observe_waves(self, seconds: Sequence[float]) -> None: ...


class NullObserver:
    """An observer that keeps nothing."""

    def observe_install(self, duration_s: float, ok: bool) -> None:
        return None

    def observe_restarts(self, summary: Mapping[str, int]) -> None:
        return None

    def observe_waves(self, seconds: Sequence[float]) -> None:
        return None


CURRENT_CR: ContextVar[str | None] = ContextVar("kyma_istio_cr", default=None)
"""``namespace/name`` of the CR the running pass works on; log lines carry it."""
CURRENT_STEP: ContextVar[str | None] = ContextVar("kyma_istio_step", default=None)
"""The step of the pass in progress (``install``, ``verify``, ``blockers``...); log lines carry it."""


def utcnow() -> datetime:
    """Second precision, like Kubernetes timestamps, so condition times round-trip unchanged."""
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class Deps:
    """Everything one pass uses."""

    kube: KubeApi
    installer: Installer
    events: EventSink
    settings: Settings = field(default_factory=Settings)
    observer: Observer = field(default_factory=NullObserver)
    clock: Callable[[], datetime] = utcnow
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("kyma_istio.reconcile"))

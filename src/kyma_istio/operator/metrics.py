"""Prometheus metrics of the operator, on a registry of its own so tests can run several operators.

They stay true while the operator fails: a pass that raises leaves the state gauge at the last state
written (the CR did not change) and shows up in the error counter and its timestamp instead, and the
per-reason outdated gauge is rebuilt on every restart pass so a cleared reason drops to nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
)

from kyma_istio import __version__, lines
from kyma_istio.api.v1alpha2 import State
from kyma_istio.lines import Line

REVISION_ENV = "KYMA_ISTIO_REVISION"
"""The source revision the image was built from (set by the image build); ``unknown`` without it."""


class Metrics:
    """The operator's metrics; implements the reconcile ``Observer`` protocol."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        clock: Callable[[], float] = time.time,
        line: Line = lines.DEFAULT,
    ) -> None:
        self.registry = registry or CollectorRegistry()
        self._clock = clock
        r = self.registry
        self.build_info = Gauge(
            "kyma_istio_build_info",
            "Always 1; the operator's version, the Istio version it installs and its source revision.",
            ["version", "istio_version", "revision"],
            registry=r,
        )
        self.build_info.labels(
            version=__version__,
            istio_version=line.version,
            revision=os.environ.get(REVISION_ENV, "unknown"),
        ).set(1)
        self.errors = Counter(
            "kyma_istio_reconcile_errors_total",
            "Passes that failed: raised an exception (cause=exception) or ended in Error (cause=error).",
            ["cause"],
            registry=r,
        )
        self.last_error = Gauge(
            "kyma_istio_reconcile_last_error_timestamp_seconds",
            "Unix time of the last failed pass; 0 before the first failure.",
            registry=r,
        )
        self.reconciles = Counter(
            "kyma_istio_reconcile_total",
            "Reconcile passes by result and state.",
            ["result", "state"],
            registry=r,
        )
        self.reconcile_seconds = Histogram(
            "kyma_istio_reconcile_duration_seconds",
            "Duration of a reconcile pass.",
            registry=r,
            buckets=(0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600),
        )
        self.istioctl_seconds = Histogram(
            "kyma_istio_istioctl_install_duration_seconds",
            "Duration of istioctl install.",
            ["result"],
            registry=r,
            buckets=(5, 15, 30, 60, 120, 180, 300, 400),
        )
        self.wave_seconds = Histogram(
            "kyma_istio_restart_wave_duration_seconds",
            "Duration of a wave of sidecar restarts: its patches and evictions, then its rollouts.",
            registry=r,
            buckets=(1, 5, 15, 30, 60, 120, 300, 600),
        )
        self.state = Gauge(
            "kyma_istio_cr_state", "1 for the Istio CR's current state.", ["state"], registry=r
        )
        self.version = Info("kyma_istio_istio", "The Istio version this operator installs.", registry=r)
        self.version.info({"version": line.version, "tag": line.tag, "envoy": line.envoy})
        self.proxies = Gauge(
            "kyma_istio_sidecar_proxies",
            "Sidecar proxies by status at the last pass.",
            ["status"],
            registry=r,
        )
        self.outdated = Gauge(
            "kyma_istio_sidecar_outdated_proxies",
            "Outdated sidecar proxies at the last pass, by the rule that found them.",
            ["reason"],
            registry=r,
        )
        self.held_skew = Gauge(
            "kyma_istio_held_proxy_skew_minors",
            "How many minors the oldest proxy held back by its owners' exclusions or maintenance windows "
            "runs behind the control plane, at the last pass (Istio supports 1).",
            registry=r,
        )
        self.restarts = Counter(
            "kyma_istio_sidecar_restarts_total", "Sidecar restart actions by result.", ["result"], registry=r
        )
        self.queue_depth = Gauge("kyma_istio_workqueue_depth", "Keys waiting in the work queue.", registry=r)
        # process_resident_memory_bytes, process_cpu_seconds_total, ...: the dashboard's memory panel.
        ProcessCollector(registry=r)

    def observe_pass(self, *, state: State | None, failed: bool, duration_s: float) -> None:
        """A pass that wrote ``state`` (None: the CR is gone)."""
        result = "error" if failed else "success"
        self.reconciles.labels(result=result, state=state.value if state else "Gone").inc()
        self.reconcile_seconds.observe(duration_s)
        if failed:
            self._error("error")
        for s in State:
            self.state.labels(state=s.value).set(1 if s is state else 0)

    def observe_exception(self, *, duration_s: float) -> None:
        """A pass that raised: the CR's state is whatever was written last, so the state gauge stays;
        the pass counts as an error of unknown state (alerts on ``result="error"`` see it)."""
        self.reconciles.labels(result="error", state="Unknown").inc()
        self.reconcile_seconds.observe(duration_s)
        self._error("exception")

    def _error(self, cause: str) -> None:
        self.errors.labels(cause=cause).inc()
        self.last_error.set(self._clock())

    def observe_install(self, duration_s: float, ok: bool) -> None:
        self.istioctl_seconds.labels(result="success" if ok else "error").observe(duration_s)

    def observe_waves(self, seconds: Sequence[float]) -> None:
        for wave in seconds:
            self.wave_seconds.observe(wave)

    def observe_restarts(self, summary: Mapping[str, int]) -> None:
        """One restart pass's counts; the outdated-by-reason gauge is rebuilt from them alone."""
        self.outdated.clear()
        for status, count in summary.items():
            if status == "held_skew_minors":
                self.held_skew.set(count)
            elif status.startswith("restart_"):
                self.restarts.labels(result=status.removeprefix("restart_")).inc(count)
            elif status.startswith("outdated_"):
                self.outdated.labels(reason=status.removeprefix("outdated_")).set(count)
            else:
                self.proxies.labels(status=status).set(count)

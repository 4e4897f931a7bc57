"""Prometheus metrics of the operator, on a registry of its own so tests can run several operators."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, ProcessCollector

from kyma_istio import pins
from kyma_istio.api.v1alpha2 import State


class Metrics:
    """The operator's metrics; implements the reconcile ``Observer`` protocol."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
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
        self.state = Gauge(
            "kyma_istio_cr_state", "1 for the Istio CR's current state.", ["state"], registry=r
        )
        self.version = Info("kyma_istio_istio", "The Istio version this operator installs.", registry=r)
        self.version.info({"version": pins.ISTIO_VERSION, "tag": pins.ISTIO_TAG, "envoy": pins.ENVOY_VERSION})
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
        self.restarts = Counter(
            "kyma_istio_sidecar_restarts_total", "Sidecar restart actions by result.", ["result"], registry=r
        )
        self.queue_depth = Gauge("kyma_istio_workqueue_depth", "Keys waiting in the work queue.", registry=r)
        # process_resident_memory_bytes, process_cpu_seconds_total, ...: the dashboard's memory panel.
        ProcessCollector(registry=r)

    def observe_pass(self, *, state: State | None, failed: bool, duration_s: float) -> None:
        result = "error" if failed else "success"
        self.reconciles.labels(result=result, state=state.value if state else "Gone").inc()
        self.reconcile_seconds.observe(duration_s)
        for s in State:
            self.state.labels(state=s.value).set(1 if s is state else 0)

    def observe_install(self, duration_s: float, ok: bool) -> None:
        self.istioctl_seconds.labels(result="success" if ok else "error").observe(duration_s)

    def observe_restarts(self, summary: Mapping[str, int]) -> None:
        for status, count in summary.items():
            if status.startswith("restart_"):
                self.restarts.labels(result=status.removeprefix("restart_")).inc(count)
            elif status.startswith("outdated_"):
                self.outdated.labels(reason=status.removeprefix("outdated_")).set(count)
            else:
                self.proxies.labels(status=status).set(count)

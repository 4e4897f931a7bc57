"""The operator's Prometheus metrics: one state at a time, restart counts, and the exposition."""

import pytest
from prometheus_client import generate_latest

from kyma_istio import __version__
from kyma_istio.api.v1alpha2 import State
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.operator.metrics import Metrics


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def state_gauges(metrics: Metrics) -> dict[str, float | None]:
    return {s.value: sample(metrics, "kyma_istio_cr_state", state=s.value) for s in State}


def test_a_pass_sets_exactly_its_state_to_one() -> None:
    metrics = Metrics()

    metrics.observe_pass(state=State.READY, failed=False, duration_s=1.5)

    assert state_gauges(metrics) == {"Processing": 0, "Deleting": 0, "Ready": 1, "Error": 0, "Warning": 0}


def test_a_later_pass_moves_the_state() -> None:
    metrics = Metrics()
    metrics.observe_pass(state=State.READY, failed=False, duration_s=1)

    metrics.observe_pass(state=State.WARNING, failed=True, duration_s=1)

    gauges = state_gauges(metrics)
    assert gauges["Warning"] == 1
    assert sum(v or 0 for v in gauges.values()) == 1


def test_a_pass_without_a_state_clears_every_state() -> None:
    metrics = Metrics()
    metrics.observe_pass(state=State.READY, failed=False, duration_s=1)

    metrics.observe_pass(state=None, failed=True, duration_s=1)

    assert set(state_gauges(metrics).values()) == {0}
    assert sample(metrics, "kyma_istio_reconcile_total", result="error", state="Gone") == 1


def test_passes_are_counted_by_result_and_state() -> None:
    metrics = Metrics()

    metrics.observe_pass(state=State.READY, failed=False, duration_s=1)
    metrics.observe_pass(state=State.READY, failed=False, duration_s=2)
    metrics.observe_pass(state=State.ERROR, failed=True, duration_s=3)

    assert sample(metrics, "kyma_istio_reconcile_total", result="success", state="Ready") == 2
    assert sample(metrics, "kyma_istio_reconcile_total", result="error", state="Error") == 1
    assert sample(metrics, "kyma_istio_reconcile_duration_seconds_count") == 3
    assert sample(metrics, "kyma_istio_reconcile_duration_seconds_sum") == 6


def test_installs_are_timed_by_result() -> None:
    metrics = Metrics()

    metrics.observe_install(42.0, True)
    metrics.observe_install(7.0, False)

    assert sample(metrics, "kyma_istio_istioctl_install_duration_seconds_sum", result="success") == 42
    assert sample(metrics, "kyma_istio_istioctl_install_duration_seconds_count", result="error") == 1


def test_restart_results_are_counted_and_proxy_statuses_are_gauged() -> None:
    metrics = Metrics()
    summary = {"current": 10, "outdated": 4, "manual": 1, "restart_success": 3, "restart_failed": 1}

    metrics.observe_restarts(summary)
    metrics.observe_restarts({**summary, "current": 13, "outdated": 0})

    assert sample(metrics, "kyma_istio_sidecar_restarts_total", result="success") == 6
    assert sample(metrics, "kyma_istio_sidecar_restarts_total", result="failed") == 2
    assert sample(metrics, "kyma_istio_sidecar_proxies", status="current") == 13
    assert sample(metrics, "kyma_istio_sidecar_proxies", status="outdated") == 0
    assert sample(metrics, "kyma_istio_sidecar_proxies", status="manual") == 1
    assert sample(metrics, "kyma_istio_sidecar_proxies", status="restart_success") is None
    assert sample(metrics, "kyma_istio_sidecar_restarts_total", result="current") is None


def test_each_restart_wave_is_one_observation_of_the_wave_histogram() -> None:
    metrics = Metrics()

    metrics.observe_waves((2.0, 40.0))
    metrics.observe_waves(())

    assert sample(metrics, "kyma_istio_restart_wave_duration_seconds_count") == 2
    assert sample(metrics, "kyma_istio_restart_wave_duration_seconds_sum") == 42.0
    assert sample(metrics, "kyma_istio_restart_wave_duration_seconds_bucket", le="5.0") == 1


def test_the_exposition_names_every_metric_and_the_istio_version() -> None:
    metrics = Metrics()
    metrics.observe_pass(state=State.READY, failed=False, duration_s=1)
    metrics.observe_install(1.0, True)
    metrics.observe_restarts({"current": 1, "restart_success": 1})
    metrics.queue_depth.set(2)

    text = generate_latest(metrics.registry).decode()

    for name in (
        "kyma_istio_reconcile_total",
        "kyma_istio_reconcile_duration_seconds",
        "kyma_istio_istioctl_install_duration_seconds",
        "kyma_istio_cr_state",
        "kyma_istio_istio_info",
        "kyma_istio_sidecar_proxies",
        "kyma_istio_sidecar_restarts_total",
        "kyma_istio_workqueue_depth",
    ):
        assert name in text
    assert f'version="{DEFAULT_LINE.version}"' in text


def test_two_operators_in_one_process_have_separate_metrics() -> None:
    first, second = Metrics(), Metrics()

    first.observe_pass(state=State.READY, failed=False, duration_s=1)

    assert sample(second, "kyma_istio_reconcile_total", result="success", state="Ready") is None


def test_a_pass_that_raises_keeps_the_last_state_and_counts_an_error() -> None:
    metrics = Metrics(clock=lambda: 1234.0)
    metrics.observe_pass(state=State.READY, failed=False, duration_s=1)

    metrics.observe_exception(duration_s=2)

    assert state_gauges(metrics)["Ready"] == 1
    assert sample(metrics, "kyma_istio_reconcile_errors_total", cause="exception") == 1
    assert sample(metrics, "kyma_istio_reconcile_last_error_timestamp_seconds") == 1234.0
    assert sample(metrics, "kyma_istio_reconcile_total", result="error", state="Gone") is None
    assert sample(metrics, "kyma_istio_reconcile_total", result="error", state="Unknown") == 1


def test_a_pass_ending_in_error_counts_an_error() -> None:
    metrics = Metrics(clock=lambda: 99.0)

    metrics.observe_pass(state=State.ERROR, failed=True, duration_s=1)

    assert sample(metrics, "kyma_istio_reconcile_errors_total", cause="error") == 1
    assert sample(metrics, "kyma_istio_reconcile_last_error_timestamp_seconds") == 99.0


def test_an_outdated_reason_no_longer_seen_disappears() -> None:
    metrics = Metrics()
    metrics.observe_restarts({"outdated_ImageOutdated": 3, "outdated_ResourcesOutdated": 1})

    metrics.observe_restarts({"outdated_ResourcesOutdated": 2})

    assert sample(metrics, "kyma_istio_sidecar_outdated_proxies", reason="ImageOutdated") is None
    assert sample(metrics, "kyma_istio_sidecar_outdated_proxies", reason="ResourcesOutdated") == 2


def test_build_info_and_process_metrics_are_exposed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KYMA_ISTIO_REVISION", "abc123")

    metrics = Metrics()

    labels = {"version": __version__, "istio_version": DEFAULT_LINE.version, "revision": "abc123"}
    assert sample(metrics, "kyma_istio_build_info", **labels) == 1
    assert "process_cpu_seconds_total" in generate_latest(metrics.registry).decode()


def test_the_registry_carries_the_process_metrics_the_dashboard_shows() -> None:
    metrics = Metrics()

    resident = sample(metrics, "process_resident_memory_bytes")

    assert resident is not None
    assert resident > 0

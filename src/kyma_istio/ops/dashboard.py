"""The operator's Grafana dashboard as code, built with grafana-foundation-sdk's typed builders.

``python -m kyma_istio.ops.dashboard`` (``make dashboard``) prints the JSON the chart ships in
``deploy/chart/files/dashboards/``; a test fails when that copy is stale, and another checks every
query against the metrics a live operator serves. The output is deterministic (sorted keys, fixed uid)
so the committed file only changes when the panels do.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus, statetimeline, timeseries
from grafana_foundation_sdk.cog import variants
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

UID = "kyma-istio-operator"
TITLE = "Kyma Istio operator"
DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
JOB = 'job="istio-operator-metrics"'
"""The scrape job the chart's ServiceMonitor creates; only the generic process_* metrics need it."""

STATE_COLOURS = {
    "Ready": "green",
    "Processing": "blue",
    "Deleting": "purple",
    "Warning": "orange",
    "Error": "red",
}


PanelBuilder = timeseries.Panel | statetimeline.Panel


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str


def _targets(queries: Sequence[Query]) -> list[Builder[variants.Dataquery]]:
    ref_ids = "ABCDEFGH"
    return [
        prometheus.Dataquery().expr(q.expr).legend_format(q.legend).ref_id(ref_ids[i]).range()
        for i, q in enumerate(queries)
    ]


def _series(title: str, description: str, unit: str, *queries: Query) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .min(0)
        .height(8)
        .span(12)
        .targets(_targets(queries))
    )


def _state_timeline() -> statetimeline.Panel:
    """One row per state, coloured while it is the CR's state (the gauge is 1 for exactly one state)."""
    panel = (
        statetimeline.Panel()
        .title("Istio CR state")
        .description("The state the last reconcile pass left the Istio CR in.")
        .datasource(DATASOURCE)
        .height(6)
        .span(24)
        .show_value(common.VisibilityMode.NEVER)
        .mappings(
            [
                model.ValueMap(
                    options={
                        "0": model.ValueMappingResult(text=" ", color="transparent", index=0),
                        "1": model.ValueMappingResult(text="current", index=1),
                    }
                )
            ]
        )
        .targets(_targets([Query("max by (state) (kyma_istio_cr_state)", "{{state}}")]))
    )
    for state, colour in STATE_COLOURS.items():
        panel = panel.override_by_name(
            state,
            [model.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": colour})],
        )
    return panel


def _quantiles(metric: str, *, by: str, window: str, legend_suffix: str) -> list[Query]:
    grouping = f"le, {by}" if by else "le"
    return [
        Query(
            f"histogram_quantile({q}, sum by ({grouping}) (rate({metric}_bucket[{window}])))",
            f"p{int(q * 100)}{legend_suffix}",
        )
        for q in (0.5, 0.9, 0.99)
    ]


def _sections() -> list[tuple[str, list[PanelBuilder]]]:
    """Rows of panels, top to bottom."""
    return [
        (
            "Istio CR",
            [
                _state_timeline(),
                _series(
                    "Reconcile passes by result and state",
                    "Passes per second; result=error: the pass raised, or ended in a state retried "
                    "with backoff.",
                    "ops",
                    Query(
                        "sum by (result, state) (rate(kyma_istio_reconcile_total[$__rate_interval]))",
                        "{{result}} / {{state}}",
                    ),
                ),
                _series(
                    "Reconcile pass duration",
                    "Quantiles of one reconcile pass.",
                    "s",
                    *_quantiles(
                        "kyma_istio_reconcile_duration_seconds",
                        by="",
                        window="$__rate_interval",
                        legend_suffix="",
                    ),
                ),
            ],
        ),
        (
            "istioctl",
            [
                _series(
                    "istioctl install duration by result",
                    "Quantiles over the hour before each point (installs are rare). istioctl is killed at "
                    "360 s; KymaIstioInstallSlow fires above 300 s.",
                    "s",
                    *_quantiles(
                        "kyma_istio_istioctl_install_duration_seconds",
                        by="result",
                        window="1h",
                        legend_suffix=" {{result}}",
                    ),
                ),
                _series(
                    "istioctl installs by result",
                    "Installs in the hour before each point.",
                    "short",
                    Query(
                        "sum by (result) (increase(kyma_istio_istioctl_install_duration_seconds_count[1h]))",
                        "{{result}}",
                    ),
                ),
            ],
        ),
        (
            "Sidecars",
            [
                _series(
                    "Outdated sidecar proxies by reason",
                    "At the last pass, by the rule that found them.",
                    "short",
                    Query("sum by (reason) (kyma_istio_sidecar_outdated_proxies)", "{{reason}}"),
                ),
                _series(
                    "Sidecar proxies by status",
                    "Injected pods at the last pass: current, outdated, manual, skipped, pending.",
                    "short",
                    Query("sum by (status) (kyma_istio_sidecar_proxies)", "{{status}}"),
                ),
                _series(
                    "Sidecar restarts by result",
                    "Pods restarted (rollout of the owner or eviction), or whose restart failed.",
                    "short",
                    Query(
                        "sum by (result) (increase(kyma_istio_sidecar_restarts_total[$__rate_interval]))",
                        "{{result}}",
                    ),
                ).span(24),
            ],
        ),
        (
            "Operator",
            [
                _series(
                    "Work-queue depth",
                    "Istio CR keys waiting for the single worker.",
                    "short",
                    Query("max(kyma_istio_workqueue_depth)", "depth"),
                ),
                _series(
                    "Process memory",
                    "Resident memory of the operator process (the chart's limit is 512Mi).",
                    "bytes",
                    Query(f"process_resident_memory_bytes{{{JOB}}}", "{{pod}}"),
                ),
            ],
        ),
    ]


def build() -> model.Dashboard:
    """The dashboard, panels numbered in order (Grafana needs unique panel ids)."""
    board = (
        db.Dashboard(TITLE)
        .uid(UID)
        .tags(["kyma", "istio", "operator"])
        .description("Kyma Istio operator: Istio CR state, reconcile passes, installs and sidecar restarts.")
        .time("now-6h", "now")
        .refresh("1m")
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .with_variable(db.DatasourceVariable("datasource").label("Data source").type("prometheus"))
    )
    panel_id = 0
    for title, panels in _sections():
        panel_id += 1
        board = board.with_row(db.Row(title).id(panel_id))
        for panel in panels:
            panel_id += 1
            board = board.with_panel(panel.id(panel_id))
    return board.build()


def render() -> str:
    """The dashboard as the JSON Grafana imports, with a trailing newline."""
    as_dict = json.loads(json.dumps(build(), cls=JSONEncoder))
    return json.dumps(as_dict, indent=2, sort_keys=True) + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()

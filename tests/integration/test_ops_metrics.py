"""Every metric and label the chart's alert rules and dashboard query is one the operator serves.

The real operator (``kyma-istio run``) installs Istio on the local cluster and restarts a Deployment with
an outdated sidecar, so every family has samples with its labels; then its live ``/metrics`` is scraped
and each PromQL expression parsed (promql-parser): each vector selector's metric must be served, each
label it matches or groups by must be on that metric's samples, and for labels whose every value the
operator always writes (the CR states, the proxy statuses, the histogram buckets) the value too.
"""

from __future__ import annotations

import secrets
import socket
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import ops_chart
import promql_parser
import pytest
from istio_fixtures import NS, crd_and_namespace, istio_cr, istio_system_settled
from lightkube import Client, codecs
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace
from lightkube.types import PatchType
from operator_process import OperatorProcess, StartOperator, operator, wait_for_operator
from prometheus_client.parser import text_string_to_metric_families

from kyma_istio.api import names
from kyma_istio.cluster.kinds import resource
from kyma_istio.k8s import kinds

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("crd_and_namespace", "istio_system_settled")]

__all__ = ["crd_and_namespace", "istio_system_settled", "operator"]

ISTIO = resource(kinds.ISTIO)
OLD_PROXY = "docker.io/istio/proxyv2:1.22.0-distroless"
TARGET_LABELS = frozenset({"job", "instance", "namespace", "pod", "service", "endpoint", "container"})
"""Labels Prometheus (and the ServiceMonitor) attach to every scraped sample, not the operator."""
SCRAPE_METRICS = frozenset({"up"})
"""Series Prometheus writes itself per target; checked by their job instead."""
COMPLETE_LABELS = {
    ("kyma_istio_cr_state", "state"),
    ("kyma_istio_sidecar_proxies", "status"),
    ("kyma_istio_sidecar_restarts_total", "result"),
}
"""(metric, label) whose every value each pass writes, so a value not served is a typo."""
GRAFANA_VARIABLES = {"$__rate_interval": "5m"}


@dataclass
class Served:
    """What one scrape of /metrics holds: sample name -> label name -> values."""

    labels: dict[str, dict[str, set[str]]] = field(default_factory=dict)

    def add(self, sample: str, labels: dict[str, str]) -> None:
        served = self.labels.setdefault(sample, {})
        for name, value in labels.items():
            served.setdefault(name, set()).add(value)


@dataclass(frozen=True)
class Use:
    """One metric as an expression uses it: the labels it needs and the exact values it matches."""

    metric: str
    labels: frozenset[str]
    values: tuple[tuple[str, str], ...]


def _scrape(port: int) -> Served:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    served = Served()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            served.add(sample.name, sample.labels)
    return served


def _selectors(node: Any) -> list[Any]:
    found: list[Any] = []

    def visit(child: Any) -> None:
        if isinstance(child, promql_parser.VectorSelector):
            found.append(child)

    promql_parser.walk(node, visit)
    return found


def uses(expr: str) -> list[Use]:
    """The metrics an expression reads, with the labels it matches on or groups them by."""
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    root = promql_parser.parse(expr)
    # Keyed by the selector's text: the parser hands out a new Python object on every walk.
    grouped: dict[str, set[str]] = defaultdict(set)

    def visit(node: Any) -> None:
        # by/without of an aggregation, on/ignoring of a binary operation: labels of the series inside.
        labels: list[str] = []
        if isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            labels = list(node.modifier.labels)
        elif isinstance(node, promql_parser.BinaryExpr) and node.modifier is not None:
            matching = node.modifier.matching
            labels = list(matching.labels) if matching is not None else []
        for selector in _selectors(node) if labels else []:
            grouped[str(selector)].update(labels)

    promql_parser.walk(root, visit)
    found = []
    for selector in _selectors(root):
        matchers = selector.matchers.matchers
        exact = tuple(
            (m.name, m.value)
            for m in matchers
            if m.op in (promql_parser.MatchOp.Equal, promql_parser.MatchOp.Re)
        )
        labels = frozenset({m.name for m in matchers} | grouped[str(selector)])
        found.append(Use(selector.name, labels, exact))
    return found


def problems(expr: str, served: Served, job: str) -> list[str]:
    """Why an expression reads something the operator does not serve; empty when it reads only real data."""
    found = []
    for use in uses(expr):
        found += [f"{use.metric}: job={v!r}, not {job!r}" for k, v in use.values if k == "job" and v != job]
        if use.metric in SCRAPE_METRICS:
            continue
        if use.metric not in served.labels:
            found.append(f"{use.metric} is not served")
            continue
        known = served.labels[use.metric]
        found += [f"{use.metric} has no label {label!r}" for label in use.labels - TARGET_LABELS - set(known)]
        for label, value in use.values:
            values = known.get(label, set())
            complete = (use.metric, label) in COMPLETE_LABELS or label == "le"
            if complete and not set(value.split("|")) <= values:
                found.append(f"{use.metric}{{{label}={value!r}}}: served values are {sorted(values)}")
    return found


# --- the operator, with something to report ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def workloads(client: Client) -> Iterator[str]:
    """A namespace with a Deployment whose pods run an old sidecar, for the operator to restart."""
    name = f"ops-metrics-{secrets.token_hex(3)}"
    client.create(Namespace(metadata=ObjectMeta(name=name, labels={"kyma-istio.test/integration": "true"})))
    template = {
        "metadata": {"labels": {"app": "web"}, "annotations": {names.SIDECAR_STATUS_ANNOTATION: "{}"}},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {"name": "app", "image": "registry.example/app:1"},
                {"name": names.PROXY_CONTAINER, "image": OLD_PROXY},
            ],
        },
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": name},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template},
    }
    client.create(codecs.from_dict(deployment))
    yield name
    client.delete(Namespace, name)


@pytest.fixture
def cleanup_crs(client: Client) -> Iterator[None]:
    yield
    for cr in client.list(ISTIO, namespace=NS):
        patch = {"metadata": {"finalizers": None}}
        client.patch(ISTIO, cr.metadata.name, patch, namespace=NS, patch_type=PatchType.MERGE)
        client.delete(ISTIO, cr.metadata.name, namespace=NS)


def _default_cr(client: Client) -> Any | None:
    return next((cr for cr in client.list(ISTIO, namespace=NS) if cr.metadata.name == "default"), None)


def _settled(client: Client, process: OperatorProcess) -> bool:
    cr = _default_cr(client)
    state = cr.get("status", {}).get("state") if cr is not None else None
    if state in {"Error", "Deleting"}:
        pytest.fail(f"the CR went {state}:\n{process.log_tail()}")
    return state in {"Ready", "Warning"}


@pytest.fixture
def served(client: Client, operator: StartOperator, workloads: str, cleanup_crs: None) -> Iterator[Served]:
    """The live /metrics of an operator that installed Istio and restarted the outdated Deployment."""
    port = _free_port()
    process = operator(metrics_address=f"127.0.0.1:{port}")
    client.create(ISTIO.from_dict(istio_cr("default", {})))
    wait_for_operator("the CR to settle", lambda: _settled(client, process), process, timeout_s=300)
    # The pass writes the CR's status before it reports its own metrics: wait for both the restart and
    # the pass to be counted, or a scrape in between finds no kyma_istio_cr_state yet (seen in CI).
    wait_for_operator(
        "the restart and the pass to be counted",
        lambda: (
            {"kyma_istio_sidecar_outdated_proxies", "kyma_istio_cr_state", "kyma_istio_reconcile_total"}
            <= set(_scrape(port).labels)
        ),
        process,
    )
    yield _scrape(port)
    # Leave no Istio behind for later tests: the operator uninstalls it when the CR goes.
    client.delete(ISTIO, "default", namespace=NS)
    wait_for_operator("the uninstall", lambda: _default_cr(client) is None, process)


def test_every_metric_and_label_the_alerts_and_the_dashboard_query_is_served(served: Served) -> None:
    (service,) = ops_chart.render("templates/service.yaml", "kyma-system")
    job = service["metadata"]["name"]
    expressions = {f"alert {k}": v for k, v in ops_chart.alert_expressions().items()}
    expressions |= {f"panel {k}": v for k, v in ops_chart.dashboard_expressions().items()}

    found = {where: problems(expr, served, job) for where, expr in expressions.items()}

    assert {where: p for where, p in found.items() if p} == {}
    assert served.labels["kyma_istio_sidecar_restarts_total"]["result"] >= {"success"}
    # The check can fail: a typo in a name, a label or a bucket bound is reported.
    assert problems('sum by (reson) (kyma_istio_sidecar_outdated_proxies{reason="x"})', served, job) == [
        "kyma_istio_sidecar_outdated_proxies has no label 'reson'"
    ]
    assert problems('kyma_istio_cr_state{state="Eror"}', served, job) != []
    assert problems('rate(x_bucket{le="300"}[5m])', served, job) == ["x_bucket is not served"]
    assert problems('kyma_istio_istioctl_install_duration_seconds_bucket{le="300"}', served, job) != []
    assert problems('absent(up{job="operator"})', served, job) != []

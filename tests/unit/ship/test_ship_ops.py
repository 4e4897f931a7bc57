"""The chart's alert rules and Grafana dashboard: the committed dashboard is fresh, every alert tells the
reader what to do and links a troubleshooting section that exists, and both are documented.

promtool's checks and unit tests of the rules, and the live metric cross-check, are integration tests
(tests/integration/test_ops_alerts.py, test_ops_metrics.py): they need the tools testenv builds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kyma_istio.ops import dashboard

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "deploy" / "chart" / "files" / "prometheus-rules.yaml"
COMMITTED_DASHBOARD = ROOT / "deploy" / "chart" / "files" / "dashboards" / "kyma-istio-operator.json"
TROUBLESHOOTING = ROOT / "docs" / "troubleshooting.md"
METRICS_DOC = ROOT / "docs" / "metrics.md"


def _alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def _github_anchor(heading: str) -> str:
    """The fragment GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(markdown: str) -> set[str]:
    return {_github_anchor(line.lstrip("#")) for line in markdown.splitlines() if line.startswith("#")}


def test_the_committed_dashboard_equals_the_generated_one() -> None:
    committed = COMMITTED_DASHBOARD.read_text() if COMMITTED_DASHBOARD.exists() else ""
    assert committed == dashboard.render(), f"{COMMITTED_DASHBOARD.name} is stale: run `make dashboard`"


def test_the_dashboard_has_unique_panel_ids_and_a_data_source_choice() -> None:
    board = json.loads(dashboard.render())
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    assert [v["type"] for v in board["templating"]["list"]] == ["datasource"]
    for panel in board["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            assert panel["targets"], panel["title"]


def test_the_dashboard_shows_what_the_issue_asks_for() -> None:
    exprs = " ".join(
        target["expr"]
        for panel in json.loads(dashboard.render())["panels"]
        for target in panel.get("targets", [])
    )
    for metric in (
        "kyma_istio_cr_state",
        "kyma_istio_reconcile_duration_seconds_bucket",
        "kyma_istio_istioctl_install_duration_seconds_bucket",
        "kyma_istio_sidecar_outdated_proxies",
        "kyma_istio_sidecar_restarts_total",
        "kyma_istio_workqueue_depth",
        "process_resident_memory_bytes",
    ):
        assert metric in exprs


@pytest.mark.parametrize("alert", _alerts(), ids=lambda rule: rule["alert"])
def test_each_alert_has_a_severity_a_summary_and_a_description_linking_troubleshooting(
    alert: dict[str, Any],
) -> None:
    assert alert["labels"]["severity"] in {"warning", "critical"}
    assert alert["annotations"]["summary"].endswith(".")
    links = re.findall(r"docs/troubleshooting\.md#([\w-]+)", alert["annotations"]["description"])
    assert links, "the description must link a troubleshooting section"
    missing = set(links) - _anchors(TROUBLESHOOTING.read_text())
    assert not missing, f"no such section in docs/troubleshooting.md: {sorted(missing)}"


@pytest.mark.parametrize("alert", _alerts(), ids=lambda rule: rule["alert"])
def test_the_metrics_document_explains_each_alert(alert: dict[str, Any]) -> None:
    assert f"`{alert['alert']}`" in METRICS_DOC.read_text()


def test_the_anchor_rule_matches_githubs_for_a_heading_with_punctuation() -> None:
    assert _github_anchor(" Install failures (Error, IstioInstallUninstallFailed)") == (
        "install-failures-error-istioinstalluninstallfailed"
    )

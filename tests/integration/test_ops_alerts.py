"""The chart's operations pack: the alert rules checked and unit-tested by promtool as helm renders them,
and the PrometheusRule and the Grafana dashboard ConfigMap accepted by the local control plane.

promtool and helm come from testenv/build. The PrometheusRule CRD is a minimal structural copy of the
prometheus-operator's (tests/integration/data); the API server prunes fields it does not know, so a rule
that reads back unchanged uses only the upstream field names.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ops_chart
import pytest
import yaml
from istio_fixtures import wait_established
from lightkube import Client, codecs
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.core_v1 import ConfigMap
from ops_chart import CHART, DASHBOARD, render, run, tool

pytestmark = pytest.mark.integration

RULE_TESTS = Path(__file__).parent / "promtool" / "alerts_test.yaml"
PROMETHEUS_RULE_CRD = Path(__file__).parent / "data" / "monitoring.coreos.com_prometheusrules.yaml"
ALERTS_OF_THE_ISSUE = {
    "KymaIstioCRInError",
    "KymaIstioCRInWarning",
    "KymaIstioSidecarRestartsStalled",
    "KymaIstioHeldProxyTooOld",
    "KymaIstioReconcileFailing",
    "KymaIstioInstallSlow",
    "KymaIstioOperatorDown",
}

PrometheusRule = create_namespaced_resource(
    "monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules"
)


@pytest.fixture(scope="module")
def rendered_rule() -> dict[str, Any]:
    return ops_chart.rendered_rule()


@pytest.fixture(scope="module")
def rules_dir(rendered_rule: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rendered PrometheusRule's spec as a rule file, next to the unit tests with annotations filled."""
    directory = tmp_path_factory.mktemp("promtool")
    (directory / "rules.yaml").write_text(yaml.safe_dump(rendered_rule["spec"], sort_keys=False))
    annotations = {
        rule["alert"]: rule.get("annotations", {})
        for group in rendered_rule["spec"]["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    tests = yaml.safe_load(RULE_TESTS.read_text())
    for case in tests["tests"]:
        for check in case.get("alert_rule_test", []):
            for expected in check["exp_alerts"]:
                given = expected.get("exp_annotations", {})
                expected["exp_annotations"] = annotations[check["alertname"]] | given
    (directory / "alerts_test.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
    return directory


def _alert_names(rule: dict[str, Any]) -> set[str]:
    return {r["alert"] for group in rule["spec"]["groups"] for r in group["rules"] if "alert" in r}


# --- promtool ----------------------------------------------------------------------------------------


def test_promtool_checks_the_rendered_rules_with_every_lint(rules_dir: Path) -> None:
    result = run(
        tool("promtool"), "check", "rules", "--lint=all", "--lint-fatal", "rules.yaml", cwd=rules_dir
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 7 rules found" in result.stdout


def test_promtool_unit_tests_of_every_alert_pass(rules_dir: Path) -> None:
    result = run(tool("promtool"), "test", "rules", "alerts_test.yaml", cwd=rules_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_case_where_it_fires_and_one_where_it_stays_quiet(
    rendered_rule: dict[str, Any],
) -> None:
    checks = [
        check
        for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for check in case.get("alert_rule_test", [])
    ]
    fires = {check["alertname"] for check in checks if check["exp_alerts"]}
    quiet = {check["alertname"] for check in checks if not check["exp_alerts"]}
    assert _alert_names(rendered_rule) == ALERTS_OF_THE_ISSUE
    assert fires == ALERTS_OF_THE_ISSUE
    assert quiet == ALERTS_OF_THE_ISSUE


def test_a_broken_rule_makes_promtool_fail(tmp_path: Path) -> None:
    """The checks above can fail: promtool rejects a rule whose expression does not parse."""
    broken = {"groups": [{"name": "x", "rules": [{"alert": "Broken", "expr": "sum(rate(x[5m])"}]}]}
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(broken))
    result = run(tool("promtool"), "check", "rules", "rules.yaml", cwd=tmp_path)
    assert result.returncode != 0


# --- the chart -----------------------------------------------------------------------------------------


def test_the_rule_and_the_dashboard_are_off_by_default() -> None:
    assert render("templates/prometheusrule.yaml", "kyma-system") == []
    assert render("templates/dashboard-configmap.yaml", "kyma-system") == []


def test_the_rendered_rule_is_the_rule_file_verbatim(rendered_rule: dict[str, Any]) -> None:
    source = yaml.safe_load((CHART / "files" / "prometheus-rules.yaml").read_text())
    assert rendered_rule["spec"] == source
    assert rendered_rule["metadata"]["labels"]["app.kubernetes.io/name"] == "istio-operator"


@pytest.fixture
def prometheus_rule_crd(client: Client) -> Iterator[None]:
    crd = codecs.from_dict(yaml.safe_load(PROMETHEUS_RULE_CRD.read_text()))
    client.apply(crd, field_manager="tests", force=True)
    wait_established(client, "prometheusrules.monitoring.coreos.com")
    yield
    client.delete(CustomResourceDefinition, "prometheusrules.monitoring.coreos.com")


@pytest.mark.usefixtures("prometheus_rule_crd")
def test_the_rendered_prometheus_rule_is_stored_by_the_api_server_unchanged(
    client: Client, namespace: str
) -> None:
    rule = ops_chart.rendered_rule(namespace, "metrics.prometheusRule.labels.release=prometheus")
    client.apply(codecs.from_dict(rule), field_manager="tests")
    stored = client.get(PrometheusRule, rule["metadata"]["name"], namespace=namespace)
    assert stored["spec"] == rule["spec"]
    assert stored.metadata.labels["release"] == "prometheus"


def test_the_rendered_dashboard_config_map_is_accepted_with_the_sidecar_label(
    client: Client, namespace: str
) -> None:
    (config_map,) = render(
        "templates/dashboard-configmap.yaml",
        namespace,
        "metrics.grafanaDashboard.enabled=true",
        "metrics.grafanaDashboard.annotations.grafana_folder=Kyma",
    )
    client.apply(codecs.from_dict(config_map), field_manager="tests")
    stored = client.get(ConfigMap, config_map["metadata"]["name"], namespace=namespace)
    assert stored.metadata is not None and stored.data is not None
    assert stored.metadata.labels["grafana_dashboard"] == "1"
    assert stored.metadata.annotations["grafana_folder"] == "Kyma"
    dashboard = json.loads(stored.data["kyma-istio-operator.json"])
    assert dashboard == json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "kyma-istio-operator"

"""Helpers of the operations-pack tests: render one chart template with testenv's helm, and the PromQL
expressions the chart's alert rules and dashboard query."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kyma_istio.devenv import tools

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "chart"
DASHBOARD = CHART / "files" / "dashboards" / "kyma-istio-operator.json"
KUBE_VERSION = "1.34.2"


def tool(name: str) -> Path:
    """A testenv tool; a missing one fails the test with the command that builds it."""
    try:
        return tools.find_tool(name)
    except tools.MissingToolError as error:
        pytest.fail(str(error), pytrace=False)


def run(*command: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    args = [str(part) for part in command]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False, cwd=cwd)


def render(template: str, namespace: str, *values: str) -> list[dict[str, Any]]:
    """The objects one chart template renders to (none when it is switched off)."""
    command = ["template", "istio-operator", CHART, "-n", namespace, "--kube-version", KUBE_VERSION]
    command += ["--show-only", template]
    result = run(tool("helm"), *command, *(f"--set={v}" for v in values))
    if "could not find template" in result.stderr:
        return []
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def rendered_rule(namespace: str = "kyma-system", *values: str) -> dict[str, Any]:
    """The PrometheusRule the chart renders with the rules switched on."""
    (rule,) = render(
        "templates/prometheusrule.yaml", namespace, "metrics.prometheusRule.enabled=true", *values
    )
    return rule


def alert_expressions() -> dict[str, str]:
    """Alert name -> expression, as helm renders them."""
    groups = rendered_rule()["spec"]["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"] if "alert" in rule}


def dashboard_expressions() -> dict[str, str]:
    """ "Panel title / refId" -> expression, from the committed dashboard."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return {
        f"{panel['title']} / {target['refId']}": target["expr"]
        for panel in panels
        for target in panel.get("targets", [])
    }

"""The chart's values.schema.json refuses at ``helm template`` what the operator would refuse at start-up,
and the values blocks of issue 12 render as documented. Runs helm only (no cluster)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kyma_istio.devenv import tools
from kyma_istio.k8s.duration import SCHEMA_PATTERN, parse_duration
from kyma_istio.operator import logs
from kyma_istio.restart import windows

pytestmark = pytest.mark.integration

CHART = Path(__file__).resolve().parents[2] / "deploy" / "chart"
SCHEMA = json.loads((CHART / "values.schema.json").read_text())


def _template(*values: str) -> subprocess.CompletedProcess[str]:
    try:
        helm = tools.find_tool("helm")
    except tools.MissingToolError as error:
        pytest.fail(str(error), pytrace=False)
    args = [str(helm), "template", "x", str(CHART), "-n", "kyma-system", "--kube-version", "1.34.2"]
    return subprocess.run(
        [*args, *(f"--set={v}" for v in values)], capture_output=True, text=True, timeout=120, check=False
    )


def _objects(*values: str) -> list[dict[str, Any]]:
    result = _template(*values)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _deployment(*values: str) -> dict[str, Any]:
    return next(o for o in _objects(*values) if o["kind"] == "Deployment")


REFUSED = {
    "duration not Go syntax": ("operator.reconciliationInterval=10x", "/operator/reconciliationInterval"),
    "duration in days": ("operator.failureMaxDelay=1d", "/operator/failureMaxDelay"),
    "zero interval": ("operator.reconciliationInterval=0", "/operator/reconciliationInterval"),
    "log level verbose": ("operator.logLevel=verbose", "/operator/logLevel"),
    "log format text": ("operator.logFormat=text", "/operator/logFormat"),
    "metrics port 0": ("metrics.service.port=0", "/metrics/service/port"),
    "metrics port too high": ("metrics.service.port=70000", "/metrics/service/port"),
    "cpu not a quantity": ("resources.limits.cpu=lots", "/resources/limits/cpu"),
    "memory not a quantity": ("resources.requests.memory=64MB", "/resources/requests/memory"),
    "wave size zero": ("operator.restartWaveSize=0", "/operator/restartWaveSize"),
    "burst zero": ("operator.rateLimiterBurst=0", "/operator/rateLimiterBurst"),
    "unknown operator key": ("operator.reconcileInterval=10h", "reconcileInterval"),
    "extra arg not a flag": ("operator.extraArgs={verbose}", "/operator/extraArgs/0"),
    "fullname not DNS": ("fullnameOverride=Istio_Manager", "/fullnameOverride"),
    "pull policy": ("image.pullPolicy=Sometimes", "/image/pullPolicy"),
    "dashboard views switch": ("dashboardExtensions.enabled=maybe", "/dashboardExtensions/enabled"),
    "climb switch": ("operator.allowClimb=yes", "/operator/allowClimb"),
    "restart window": ("operator.restartWindow=weekends", "/operator/restartWindow"),
}


@pytest.mark.parametrize(("value", "where"), REFUSED.values(), ids=list(REFUSED))
def test_bad_values_are_refused_by_helm_template(value: str, where: str) -> None:
    result = _template(value)

    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert where in result.stderr


def test_a_service_account_not_created_must_be_named() -> None:
    result = _template("serviceAccount.create=false")

    assert result.returncode != 0
    assert "serviceAccount.name is required when serviceAccount.create is false" in result.stderr


@pytest.mark.parametrize("duration", ["10h", "120s", "16m40s", "1h2m3.5s", "500ms", "36000", "1.5"])
def test_go_durations_and_seconds_render_into_the_flags(duration: str) -> None:
    (container,) = _deployment(f"operator.failureMaxDelay={duration}")["spec"]["template"]["spec"][
        "containers"
    ]

    assert f"--failure-max-delay={duration}" in container["args"]
    assert parse_duration(duration) >= 0  # what the schema lets through, the operator reads


@pytest.mark.parametrize(("value", "flag"), [("true", "--allow-climb"), ("false", "--no-allow-climb")])
def test_the_climb_switch_renders_its_flag(value: str, flag: str) -> None:
    (container,) = _deployment(f"operator.allowClimb={value}")["spec"]["template"]["spec"]["containers"]

    assert flag in container["args"]


def test_the_restart_window_renders_its_flag_and_the_operator_reads_it() -> None:
    (container,) = _deployment("operator.restartWindow=Sat-Sun 02:00-06:00")["spec"]["template"]["spec"][
        "containers"
    ]
    (flag,) = [arg for arg in container["args"] if arg.startswith("--restart-window=")]

    assert windows.parse(flag.partition("=")[2]).days == {5, 6}


def test_the_schema_uses_the_operators_own_rules() -> None:
    operator = SCHEMA["properties"]["operator"]["properties"]
    patterns = {
        option["pattern"]
        for name in ("reconciliationInterval", "failureBaseDelay", "failureMaxDelay")
        for option in operator[name]["anyOf"]
        if "pattern" in option
    }
    assert patterns == {SCHEMA_PATTERN}
    assert operator["logLevel"]["enum"] == list(logs.LEVELS)
    assert operator["logFormat"]["enum"] == list(logs.FORMATS)
    assert re.search(SCHEMA_PATTERN, "16m40s")


def test_unknown_top_level_blocks_are_left_to_their_owners() -> None:
    # Other blocks of values.yaml (monitoring rules, dashboards) may be added without this schema.
    assert _template("someFutureBlock.enabled=true").returncode == 0


def test_the_service_account_pod_and_name_values_render() -> None:
    objects = _objects(
        "fullnameOverride=kyma-istio",
        "serviceAccount.name=istio-sa",
        "serviceAccount.annotations.iam\\.example\\.com/role=operator",
        "podLabels.team=mesh",
        "podAnnotations.note=hi",
        "podSecurityContext.fsGroup=65532",
        "securityContext.readOnlyRootFilesystem=false",
    )
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    account = next(o for o in objects if o["kind"] == "ServiceAccount")
    bindings = [o for o in objects if o["kind"] in ("RoleBinding", "ClusterRoleBinding")]
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]

    assert deployment["metadata"]["name"] == "kyma-istio"
    assert pod["spec"]["serviceAccountName"] == account["metadata"]["name"] == "istio-sa"
    assert account["metadata"]["annotations"] == {"iam.example.com/role": "operator"}
    assert {s["name"] for b in bindings for s in b["subjects"]} == {"istio-sa"}
    assert pod["metadata"]["labels"]["team"] == "mesh"
    assert pod["metadata"]["annotations"]["note"] == "hi"
    assert pod["spec"]["securityContext"]["fsGroup"] == 65532
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is False


def test_an_existing_service_account_is_bound_and_none_is_created() -> None:
    objects = _objects("serviceAccount.create=false", "serviceAccount.name=platform-sa")

    assert not [o for o in objects if o["kind"] == "ServiceAccount"]
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "platform-sa"

"""``kyma-istio render``: a CR file in, the merged IstioOperator out, problems on stderr."""

import io
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from kyma_istio import pins
from kyma_istio.api import names
from kyma_istio.cli.render import render_command
from kyma_istio.lines import DEFAULT as DEFAULT_LINE

SAMPLES = Path(__file__).resolve().parents[3] / "deploy" / "samples"


def render(file: Path, **options: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = render_command(
        file,
        console=Console(file=out, width=80),
        error_console=Console(file=err, width=80),
        **options,
    )
    return code, out.getvalue(), err.getvalue()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "istio.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def spec_of(output: str) -> dict[str, Any]:
    document = yaml.safe_load(output)
    assert document["kind"] == "IstioOperator"
    result: dict[str, Any] = document["spec"]
    return result


# --- the default sample --------------------------------------------------------------------------


def test_the_default_sample_is_the_kyma_default_cr() -> None:
    document = yaml.safe_load((SAMPLES / "istio-default.yaml").read_text(encoding="utf-8"))

    assert document["kind"] == "Istio"
    assert document["metadata"] == {
        "name": "default",
        "namespace": "kyma-system",
        "labels": {"app.kubernetes.io/name": "default"},
    }
    assert document["spec"] == {}


def test_rendering_the_default_sample_gives_the_pinned_tag_and_production_defaults() -> None:
    code, out, err = render(SAMPLES / "istio-default.yaml")

    assert (code, err) == (0, "")
    spec = spec_of(out)
    assert spec["tag"] == DEFAULT_LINE.tag
    assert spec["hub"] == pins.DEFAULT_HUB
    assert spec["components"]["ingressGateways"][0]["k8s"]["hpaSpec"]["minReplicas"] == 3


def test_the_evaluation_profile_and_another_hub_are_taken_from_the_flags() -> None:
    code, out, _ = render(SAMPLES / "istio-default.yaml", profile="evaluation", hub=pins.KYMA_HUB)

    spec = spec_of(out)
    assert code == 0
    assert spec["hub"] == pins.KYMA_HUB
    assert spec["values"]["pilot"]["autoscaleMax"] == 1


def test_the_flavour_flag_applies_the_flavour_overrides() -> None:
    _, out, _ = render(SAMPLES / "istio-default.yaml", flavour="k3d")

    assert spec_of(out)["values"]["cni"]["cniBinDir"] == "/bin"


def test_the_disclaimer_is_printed_as_a_readable_block_and_reads_back_unchanged() -> None:
    _, out, _ = render(SAMPLES / "istio-default.yaml")

    assert f"{names.DISCLAIMER_ANNOTATION}: |\n" in out
    assert (
        spec_of(out)["components"]["pilot"]["k8s"]["podAnnotations"][names.DISCLAIMER_ANNOTATION]
        == names.DISCLAIMER
    )


def test_output_goes_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert render_command(SAMPLES / "istio-default.yaml") == 0

    captured = capsys.readouterr()
    assert spec_of(captured.out)["tag"] == DEFAULT_LINE.tag
    assert captured.err == ""


# --- the configured sample -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def configured() -> dict[str, Any]:
    code, out, err = render(SAMPLES / "istio-configured.yaml", experimental=True)
    assert (code, err) == (0, "")
    return spec_of(out)


def test_the_configured_sample_sets_every_field_of_the_cr() -> None:
    spec = yaml.safe_load((SAMPLES / "istio-configured.yaml").read_text(encoding="utf-8"))["spec"]

    assert set(spec) == {
        "compatibilityMode",
        "config",
        "components",
        "experimental",
        "networkPoliciesEnabled",
    }
    assert set(spec["config"]) == {
        "numTrustedProxies",
        "authorizers",
        "gatewayExternalTrafficPolicy",
        "forwardClientCertDetails",
        "telemetry",
        "trustDomain",
        "enableDNSProxying",
        "proxyStatsMatcher",
    }
    assert len(spec["config"]["authorizers"]) == 2
    assert {"pathPrefix", "timeout"} <= set(spec["config"]["authorizers"][1])
    for authorizer in spec["config"]["authorizers"]:
        headers = authorizer["headers"]
        assert set(headers["inCheck"]) == {"include", "add"}
        assert set(headers["toUpstream"]) == {"onAllow"}
        assert set(headers["toDownstream"]) == {"onAllow", "onDeny"}
    assert set(spec["components"]) == {"pilot", "ingressGateway", "cni", "proxy", "egressGateway"}
    for deployment in ("pilot", "ingressGateway", "egressGateway"):
        assert set(spec["components"][deployment]["k8s"]) == {"hpaSpec", "strategy", "resources"}
    assert set(spec["components"]["cni"]["k8s"]) == {"affinity", "resources"}
    assert set(spec["experimental"]["pilot"]) == {
        "enableAlphaGatewayAPI",
        "enableMultiNetworkDiscoverGatewayAPI",
    }
    assert spec["experimental"]["enableAmbient"] is True


def test_the_configured_sample_shows_its_mesh_settings(configured: dict[str, Any]) -> None:
    mesh = configured["meshConfig"]
    assert mesh["defaultConfig"]["gatewayTopology"] == {
        "numTrustedProxies": 1,
        "forwardClientCertDetails": "SANITIZE",
    }
    assert mesh["defaultConfig"]["proxyMetadata"]["ENABLE_DEFERRED_CLUSTER_CREATION"] == "false"
    assert mesh["defaultConfig"]["proxyMetadata"]["ISTIO_META_DNS_CAPTURE"] == "true"
    assert mesh["defaultConfig"]["proxyMetadata"]["ISTIO_META_ENABLE_HBONE"] == "true"
    assert mesh["defaultConfig"]["proxyStatsMatcher"] == {
        "inclusionRegexps": [".*outlier_detection.*", ".*circuit_breakers.*"]
    }
    assert (mesh["trustDomain"], mesh["enablePrometheusMerge"]) == ("example.org", True)
    providers = {provider["name"]: provider for provider in mesh["extensionProviders"]}
    assert providers["oauth2-proxy"]["envoyExtAuthzHttp"] == {
        "service": "oauth2-proxy.auth.svc.cluster.local",
        "port": 4180,
        "includeRequestHeadersInCheck": ["authorization", "cookie"],
        "includeAdditionalHeadersInCheck": {"x-ext-authz": "oauth2-proxy"},
        "headersToUpstreamOnAllow": ["x-auth-request-user", "x-auth-request-email"],
        "headersToDownstreamOnAllow": ["set-cookie"],
        "headersToDownstreamOnDeny": ["content-type", "set-cookie"],
    }
    assert providers["opa"]["envoyExtAuthzHttp"]["port"] == 9191
    # Protobuf's duration form, to the millisecond (Kyma would keep whole seconds: 1s).
    assert providers["opa"]["envoyExtAuthzHttp"]["timeout"] == "1.5s"
    assert providers["opa"]["envoyExtAuthzHttp"]["pathPrefix"] == "/envoy/authz"


def test_the_configured_sample_shows_its_component_settings(configured: dict[str, Any]) -> None:
    pilot = configured["components"]["pilot"]["k8s"]
    gateway = configured["components"]["ingressGateways"][0]["k8s"]
    cni = configured["components"]["cni"]["k8s"]

    assert pilot["hpaSpec"] == {"minReplicas": 3, "maxReplicas": 7}
    assert pilot["strategy"]["rollingUpdate"] == {"maxSurge": "50%", "maxUnavailable": 1}
    assert pilot["resources"]["limits"] == {"cpu": "2", "memory": "3Gi"}
    assert [env["name"] for env in pilot["env"]][3:] == [
        "PILOT_ENABLE_ALPHA_GATEWAY_API",
        "PILOT_MULTI_NETWORK_DISCOVER_GATEWAY_API",
        "ENABLE_DELIMITED_STATS_TAG_REGEX",
    ]
    assert (gateway["hpaSpec"]["minReplicas"], gateway["hpaSpec"]["maxReplicas"]) == (4, 12)
    assert gateway["strategy"]["rollingUpdate"] == {"maxSurge": 2, "maxUnavailable": "25%"}
    assert gateway["resources"]["requests"] == {"cpu": "200m", "memory": "256Mi"}
    assert gateway["overlays"][0]["patches"] == [{"path": "spec.externalTrafficPolicy", "value": "Local"}]
    assert cni["resources"]["limits"] == {"cpu": "750m", "memory": "1280Mi"}
    egress = configured["components"]["egressGateways"][0]
    assert egress["enabled"] is True
    assert egress["k8s"]["hpaSpec"] == {"minReplicas": 2, "maxReplicas": 4}
    assert egress["k8s"]["resources"]["limits"] == {"cpu": "1000m", "memory": "512Mi"}
    assert configured["components"]["ztunnel"] == {"enabled": True}
    assert configured["values"]["pilot"]["env"]["PILOT_ENABLE_AMBIENT"] == "true"
    assert configured["values"]["cni"]["ambient"] == {"enabled": True}
    assert cni["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert cni["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] == []
    assert configured["values"]["global"]["proxy"]["resources"] == {
        "requests": {"cpu": "20m", "memory": "256Mi"},
        "limits": {"cpu": "1500m", "memory": "1536Mi"},
    }


def test_experimental_settings_are_left_out_unless_asked_for() -> None:
    _, out, _ = render(SAMPLES / "istio-configured.yaml")

    env = [item["name"] for item in spec_of(out)["components"]["pilot"]["k8s"]["env"]]
    assert "PILOT_ENABLE_ALPHA_GATEWAY_API" not in env


# --- problems ------------------------------------------------------------------------------------

CR_HEAD = "apiVersion: operator.kyma-project.io/v1alpha2\nkind: Istio\nmetadata: {name: default}\n"


def test_every_validation_problem_is_printed_on_its_own_line_with_exit_code_1(tmp_path: Path) -> None:
    file = write(
        tmp_path,
        CR_HEAD + "spec:\n  config: {numTrustedProxies: -1}\n"
        "  components:\n    pilot: {k8s: {resources: {limits: {cpu: '1.5555'}}}}\n  unknown: 1\n",
    )

    code, out, err = render(file)

    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert len(lines) == 3
    assert any("spec.config.numTrustedProxies" in line for line in lines)
    assert any("spec.components.pilot.k8s.resources.limits.cpu" in line for line in lines)
    assert any("spec.unknown" in line for line in lines)
    assert all(line.startswith("error: ") for line in lines)
    assert "Traceback" not in err


def test_duplicate_authorizer_names_are_refused_naming_the_field(tmp_path: Path) -> None:
    file = write(
        tmp_path,
        CR_HEAD + "spec:\n  config:\n    authorizers:\n"
        "      - {name: ext, service: a.ns.svc, port: 80}\n"
        "      - {name: ext, service: b.ns.svc, port: 81}\n",
    )

    code, out, err = render(file)

    assert (code, out) == (1, "")
    assert err == "error: spec.config.authorizers: Authorizer name needs to be unique: ext is duplicated\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "exactly one Istio document, found 0"),
        (CR_HEAD + "---\n" + CR_HEAD, "exactly one Istio document, found 2"),
        ("spec: [unclosed", "is not valid YAML"),
        ("- a list", "must be an object"),
        ("apiVersion: v1\nkind: ConfigMap\n", "kind"),
    ],
)
def test_files_that_are_not_one_istio_document_are_refused(tmp_path: Path, text: str, message: str) -> None:
    code, out, err = render(write(tmp_path, text))

    assert (code, out) == (1, "")
    assert message in err
    assert "Traceback" not in err


def test_a_missing_file_is_reported_without_a_traceback(tmp_path: Path) -> None:
    code, _, err = render(tmp_path / "absent.yaml")

    assert code == 1
    assert "cannot read" in err
    assert "absent.yaml" in err


@pytest.mark.parametrize(("option", "value"), [("profile", "large"), ("flavour", "openshift")])
def test_an_unknown_profile_or_flavour_lists_the_accepted_ones(option: str, value: str) -> None:
    code, out, err = render(SAMPLES / "istio-default.yaml", **{option: value})

    assert (code, out) == (1, "")
    assert f"unknown {option} '{value}'" in err
    assert ("production, evaluation" if option == "profile" else "gke, k3d, gardener, unknown") in err


def test_problems_go_to_stderr_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert render_command(tmp_path / "absent.yaml") == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert "cannot read" in captured.err

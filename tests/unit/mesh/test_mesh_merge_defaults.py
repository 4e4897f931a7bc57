"""An empty CR renders Kyma's defaults exactly as the reference lists them (spec 5.2, 5.3).

The reference (Kyma 1.10's operator) ran Istio 1.23.2, so the comparison renders on that line; the default
line renders the same document plus what its line rules change, which the last test pins down."""

from typing import Any

import pytest

from kyma_istio import lines, pins
from kyma_istio.api import names
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.mesh.merge import load_template, merge
from kyma_istio.mesh.profile import Profile

REFERENCE_LINE = lines.line("1.23")
"""The line the reference operator installed: the values below are its output on that line."""


def at(document: dict[str, Any], path: str) -> Any:
    """The value at a dotted path; ``[n]`` picks a list item."""
    value: Any = document
    for part in path.split("."):
        key, _, index = part.partition("[")
        value = value[key]
        if index:
            value = value[int(index.rstrip("]"))]
    return value


@pytest.fixture(scope="module")
def production() -> dict[str, Any]:
    return merge(IstioSpec(), profile=Profile.PRODUCTION, line=REFERENCE_LINE)


@pytest.fixture(scope="module")
def evaluation() -> dict[str, Any]:
    return merge(IstioSpec(), profile=Profile.EVALUATION, line=REFERENCE_LINE)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf by its path, ``.spec.components.pilot.enabled``."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in flatten(item, f"{prefix}.{key}").items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in flatten(item, f"{prefix}[{i}]").items()}
    return {prefix: value}


def changed_leaves(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    before_leaves, after_leaves = flatten(before), flatten(after)
    return {
        path
        for path in before_leaves.keys() | after_leaves.keys()
        if before_leaves.get(path, "<absent>") != after_leaves.get(path, "<absent>")
    }


def test_the_header_names_kymas_istio_operator_in_istio_system(production: dict[str, Any]) -> None:
    assert production["apiVersion"] == "install.istio.io/v1alpha1"
    assert production["kind"] == "IstioOperator"
    assert production["metadata"] == {
        "name": "default-operator",
        "namespace": names.ISTIO_NAMESPACE,
        "labels": {names.MODULE_LABEL: names.MODULE_LABEL_VALUE},
    }
    assert production["spec"]["profile"] == "default"


@pytest.mark.parametrize("profile", list(Profile))
def test_hub_and_tag_default_to_the_pins(profile: Profile) -> None:
    spec = merge(IstioSpec(), profile=profile, line=DEFAULT_LINE)["spec"]

    assert (spec["hub"], spec["tag"]) == (pins.DEFAULT_HUB, DEFAULT_LINE.tag)
    assert spec["tag"] == f"{lines.NEWEST.version}-distroless"


def test_hub_and_tag_come_from_the_arguments_not_the_template() -> None:
    spec = merge(IstioSpec(), profile=Profile.PRODUCTION, hub=pins.KYMA_HUB, line=lines.at("1.23.3"))["spec"]

    assert (spec["hub"], spec["tag"]) == (pins.KYMA_HUB, "1.23.3-distroless")
    assert "hub" not in load_template(Profile.PRODUCTION)["spec"]
    assert "tag" not in load_template(Profile.EVALUATION)["spec"]


PRODUCTION_VALUES = {
    "spec.components.base.enabled": True,
    "spec.components.cni.enabled": True,
    "spec.components.cni.namespace": "istio-system",
    "spec.components.cni.k8s.resources": {
        "requests": {"cpu": "100m", "memory": "512Mi"},
        "limits": {"cpu": "500m", "memory": "1024Mi"},
    },
    "spec.components.egressGateways[0].name": "istio-egressgateway",
    "spec.components.egressGateways[0].enabled": False,
    "spec.components.egressGateways[0].k8s.resources": {
        "requests": {"cpu": "10m", "memory": "120Mi"},
        "limits": {"cpu": "2000m", "memory": "1024Mi"},
    },
    "spec.components.ingressGateways[0].name": "istio-ingressgateway",
    "spec.components.ingressGateways[0].enabled": True,
    "spec.components.ingressGateways[0].k8s.hpaSpec.minReplicas": 3,
    "spec.components.ingressGateways[0].k8s.hpaSpec.maxReplicas": 10,
    "spec.components.ingressGateways[0].k8s.hpaSpec.metrics[0].resource": {
        "name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": 80},
    },
    "spec.components.ingressGateways[0].k8s.resources": {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "2000m", "memory": "1024Mi"},
    },
    "spec.components.ingressGateways[0].k8s.securityContext": {
        "runAsUser": 65534,
        "runAsGroup": 65534,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "spec.components.ingressGateways[0].k8s.strategy.rollingUpdate": {
        "maxSurge": "100%",
        "maxUnavailable": 0,
    },
    "spec.components.istiodRemote.enabled": False,
    "spec.components.pilot.enabled": True,
    "spec.components.pilot.k8s.env": [
        {"name": "PILOT_HTTP10", "value": "1"},
        {"name": "METRIC_ROTATION_INTERVAL", "value": "5m0s"},
        {"name": "METRIC_GRACEFUL_DELETION_INTERVAL", "value": "5m0s"},
    ],
    "spec.components.pilot.k8s.hpaSpec": {"minReplicas": 2, "maxReplicas": 5},
    "spec.components.pilot.k8s.resources": {
        "requests": {"cpu": "100m", "memory": "512Mi"},
        "limits": {"cpu": "4000m", "memory": "2Gi"},
    },
    "spec.components.pilot.k8s.serviceAnnotations": {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "15014",
        names.DISCLAIMER_ANNOTATION: names.DISCLAIMER,
    },
    "spec.components.pilot.k8s.podAnnotations": {names.DISCLAIMER_ANNOTATION: names.DISCLAIMER},
    "spec.meshConfig.defaultConfig": {
        "holdApplicationUntilProxyStarts": True,
        "proxyMetadata": {
            "BOOTSTRAP_XDS_AGENT": "true",
            "CITADEL_SELF_SIGNED_CA_RSA_KEY_SIZE": "4096",
            "WORKLOAD_RSA_KEY_SIZE": "3072",
        },
        "tracingServiceName": "CANONICAL_NAME_ONLY",
    },
    "spec.meshConfig.defaultProviders": {"tracing": [], "metrics": ["prometheus"]},
    "spec.meshConfig.enablePrometheusMerge": False,
    "spec.meshConfig.enableTracing": False,
    "spec.meshConfig.trustDomain": "cluster.local",
    "spec.values.base": {"enableCRDTemplates": False, "validationURL": ""},
    "spec.values.cni": {"cniBinDir": "/opt/cni/bin", "cniConfDir": "/etc/cni/net.d"},
    "spec.values.defaultRevision": "",
    "spec.values.gateways.istio-egressgateway.type": "ClusterIP",
    "spec.values.gateways.istio-egressgateway.autoscaleEnabled": True,
    "spec.values.gateways.istio-ingressgateway.type": "LoadBalancer",
    "spec.values.gateways.istio-ingressgateway.autoscaleEnabled": True,
    "spec.values.gateways.istio-ingressgateway.podAnnotations": {
        names.DISCLAIMER_ANNOTATION: names.DISCLAIMER
    },
    "spec.values.gateways.istio-ingressgateway.serviceAnnotations": {
        "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol": "*",
        "service.beta.kubernetes.io/aws-load-balancer-connection-idle-timeout": "4000",
        names.DISCLAIMER_ANNOTATION: names.DISCLAIMER,
    },
    "spec.values.global.configValidation": True,
    "spec.values.global.defaultPodDisruptionBudget.enabled": True,
    "spec.values.global.defaultResources.requests.cpu": "10m",
    "spec.values.global.imagePullPolicy": "IfNotPresent",
    "spec.values.global.istioNamespace": "istio-system",
    "spec.values.global.istiod.enableAnalysis": False,
    "spec.values.global.jwtPolicy": "third-party-jwt",
    "spec.values.global.logAsJson": False,
    "spec.values.global.logging.level": "all:warn",
    "spec.values.global.mountMtlsCerts": False,
    "spec.values.global.multiCluster.enabled": False,
    "spec.values.global.network": "",
    "spec.values.global.omitSidecarInjectorConfigMap": False,
    "spec.values.global.operatorManageWebhooks": False,
    "spec.values.global.pilotCertProvider": "istiod",
    "spec.values.global.priorityClassName": names.PRIORITY_CLASS,
    "spec.values.global.proxy.autoInject": "enabled",
    "spec.values.global.proxy.clusterDomain": "cluster.local",
    "spec.values.global.proxy.componentLogLevel": "misc:error",
    "spec.values.global.proxy.enableCoreDump": False,
    "spec.values.global.proxy.image": "proxyv2",
    "spec.values.global.proxy.includeIPRanges": "*",
    "spec.values.global.proxy.logLevel": "warning",
    "spec.values.global.proxy.privileged": False,
    "spec.values.global.proxy.readinessInitialDelaySeconds": 5,
    "spec.values.global.proxy.readinessPeriodSeconds": 15,
    "spec.values.global.proxy.readinessFailureThreshold": 14,
    "spec.values.global.proxy.startupProbe": {"enabled": True, "failureThreshold": 600},
    "spec.values.global.proxy.resources": {
        "requests": {"cpu": "10m", "memory": "192Mi"},
        "limits": {"cpu": "1000m", "memory": "1024Mi"},
    },
    "spec.values.global.proxy.statusPort": 15020,
    "spec.values.global.proxy.tracer": "none",
    "spec.values.global.proxy_init": {
        "image": "proxyv2",
        "resources": {
            "requests": {"cpu": "10m", "memory": "10Mi"},
            "limits": {"cpu": "100m", "memory": "50Mi"},
        },
    },
    "spec.values.global.sds.token.aud": "istio-ca",
    "spec.values.pilot.autoscaleEnabled": True,
    "spec.values.pilot.autoscaleMin": 1,
    "spec.values.pilot.autoscaleMax": 5,
    "spec.values.pilot.replicaCount": 1,
    "spec.values.pilot.cpu.targetAverageUtilization": 80,
    "spec.values.pilot.env": {"CITADEL_SELF_SIGNED_CA_RSA_KEY_SIZE": "4096"},
    "spec.values.pilot.image": "pilot",
    "spec.values.pilot.keepaliveMaxServerConnectionAge": "30m",
    "spec.values.pilot.traceSampling": 1,
    "spec.values.pilot.configMap": True,
    "spec.values.sidecarInjectorWebhook": {"enableNamespacesByDefault": False, "rewriteAppHTTPProbe": True},
    "spec.values.telemetry": {
        "enabled": True,
        "v2": {"enabled": True, "prometheus": {"enabled": True}, "stackdriver": {"enabled": False}},
    },
}


@pytest.mark.parametrize(("path", "expected"), PRODUCTION_VALUES.items(), ids=list(PRODUCTION_VALUES))
def test_production_default_matches_the_reference(
    production: dict[str, Any], path: str, expected: Any
) -> None:
    assert at(production, path) == expected


@pytest.mark.parametrize("component", ["cni", "pilot"])
def test_components_spread_their_pods_over_nodes_by_default(
    production: dict[str, Any], component: str
) -> None:
    app = {"cni": "istio-cni-node", "pilot": "istiod"}[component]
    rule = at(production, f"spec.components.{component}.k8s.affinity.podAntiAffinity")

    assert rule == {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {
                "weight": 100,
                "podAffinityTerm": {
                    "labelSelector": {
                        "matchExpressions": [{"key": "app", "operator": "In", "values": [app]}]
                    },
                    "topologyKey": "kubernetes.io/hostname",
                },
            }
        ]
    }


def test_the_ingress_gateway_spreads_its_pods_over_nodes_by_default(production: dict[str, Any]) -> None:
    terms = at(
        production,
        "spec.components.ingressGateways[0].k8s.affinity.podAntiAffinity"
        ".preferredDuringSchedulingIgnoredDuringExecution",
    )

    assert terms[0]["podAffinityTerm"]["labelSelector"]["matchExpressions"][0]["values"] == [
        "istio-ingressgateway"
    ]


def test_the_three_template_extension_providers_come_in_order(production: dict[str, Any]) -> None:
    providers = production["spec"]["meshConfig"]["extensionProviders"]

    assert [provider["name"] for provider in providers] == ["kyma-traces", "envoy", "stdout-json"]
    assert providers[0]["opentelemetry"] == {
        "service": "telemetry-otlp-traces.kyma-system.svc.cluster.local",
        "port": 4317,
    }
    assert providers[1]["envoyFileAccessLog"] == {"path": "/dev/stdout", "logFormat": {"labels": {}}}


def test_the_stdout_json_provider_logs_every_reference_label(production: dict[str, Any]) -> None:
    provider = production["spec"]["meshConfig"]["extensionProviders"][2]["envoyFileAccessLog"]

    assert provider["path"] == "/dev/stdout"
    assert provider["logFormat"]["labels"] == {
        "start_time": "%START_TIME%",
        "method": "%REQ(:METHOD)%",
        "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
        "protocol": "%PROTOCOL%",
        "response_code": "%RESPONSE_CODE%",
        "response_flags": "%RESPONSE_FLAGS%",
        "response_code_details": "%RESPONSE_CODE_DETAILS%",
        "connection_termination_details": "%CONNECTION_TERMINATION_DETAILS%",
        "upstream_transport_failure_reason": "%CONNECTION_TERMINATION_DETAILS%",
        "bytes_received": "%BYTES_RECEIVED%",
        "bytes_sent": "%BYTES_SENT%",
        "duration": "%DURATION%",
        "upstream_service_time": "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
        "x_forwarded_for": "%REQ(X-FORWARDED-FOR)%",
        "user_agent": "%REQ(USER-AGENT)%",
        "request_id": "%REQ(X-REQUEST-ID)%",
        "authority": "%REQ(:AUTHORITY)%",
        "upstream_host": "%UPSTREAM_HOST%",
        "upstream_cluster": "%UPSTREAM_CLUSTER%",
        "upstream_local_address": "%UPSTREAM_LOCAL_ADDRESS%",
        "downstream_local_address": "%DOWNSTREAM_LOCAL_ADDRESS%",
        "downstream_remote_address": "%DOWNSTREAM_REMOTE_ADDRESS%",
        "requested_server_name": "%REQUESTED_SERVER_NAME%",
        "route_name": "%ROUTE_NAME%",
        "traceparent": "%REQ(TRACEPARENT)%",
        "tracestate": "%REQ(TRACESTATE)%",
    }


def test_the_gateways_mount_their_certificate_secrets(production: dict[str, Any]) -> None:
    gateways = production["spec"]["values"]["gateways"]

    ingress = [volume["name"] for volume in gateways["istio-ingressgateway"]["secretVolumes"]]
    egress = [volume["name"] for volume in gateways["istio-egressgateway"]["secretVolumes"]]
    assert ingress == ["ingressgateway-certs", "ingressgateway-ca-certs"]
    assert egress == ["egressgateway-certs", "egressgateway-ca-certs"]


EVALUATION_DIFFERENCES = {
    "spec.components.cni.k8s.resources": {
        "requests": {"cpu": "10m", "memory": "128Mi"},
        "limits": {"cpu": "250m", "memory": "384Mi"},
    },
    "spec.components.ingressGateways[0].k8s.hpaSpec": {"minReplicas": 1, "maxReplicas": 1},
    "spec.components.ingressGateways[0].k8s.resources": {
        "requests": {"cpu": "10m", "memory": "32Mi"},
        "limits": {"cpu": "1000m", "memory": "1024Mi"},
    },
    "spec.components.pilot.k8s.hpaSpec": {"minReplicas": 1, "maxReplicas": 1},
    "spec.components.pilot.k8s.resources": {
        "requests": {"cpu": "50m", "memory": "128Mi"},
        "limits": {"cpu": "1000m", "memory": "1024Mi"},
    },
    "spec.values.global.defaultPodDisruptionBudget.enabled": False,
    "spec.values.global.proxy.resources": {
        "requests": {"cpu": "10m", "memory": "32Mi"},
        "limits": {"cpu": "250m", "memory": "254Mi"},
    },
    "spec.values.pilot.autoscaleMax": 1,
}


@pytest.mark.parametrize(
    ("path", "expected"), EVALUATION_DIFFERENCES.items(), ids=list(EVALUATION_DIFFERENCES)
)
def test_evaluation_differs_from_production_as_the_reference_lists(
    evaluation: dict[str, Any], path: str, expected: Any
) -> None:
    assert at(evaluation, path) == expected


def test_evaluation_equals_production_everywhere_else(
    production: dict[str, Any], evaluation: dict[str, Any]
) -> None:
    changed = changed_leaves(production, evaluation)
    allowed_prefixes = tuple(f".{path}" for path in EVALUATION_DIFFERENCES)

    assert changed
    assert all(path.startswith(allowed_prefixes) for path in changed), sorted(changed)


def test_each_call_gets_its_own_copy_of_the_template() -> None:
    first = load_template(Profile.PRODUCTION)
    first["spec"]["components"]["pilot"]["k8s"]["hpaSpec"]["minReplicas"] = 99

    assert (
        load_template(Profile.PRODUCTION)["spec"]["components"]["pilot"]["k8s"]["hpaSpec"]["minReplicas"] == 2
    )
    assert merge(IstioSpec(), profile=Profile.PRODUCTION, line=DEFAULT_LINE)["spec"]["components"]["pilot"][
        "k8s"
    ]["hpaSpec"] == {
        "minReplicas": 2,
        "maxReplicas": 5,
    }


PDB_VALUES = {".spec.values.pilot.autoscaleMin", ".spec.values.gateways.istio-ingressgateway.autoscaleMin"}
"""Where a line whose charts read ``autoscaleMin`` for the PodDisruptionBudgets gets the HPA minimum."""


@pytest.mark.parametrize("profile", list(Profile))
def test_the_default_line_renders_the_reference_plus_its_line_rules(profile: Profile) -> None:
    reference = merge(IstioSpec(), profile=profile, line=REFERENCE_LINE)
    default = merge(IstioSpec(), profile=profile, line=DEFAULT_LINE)

    changed = changed_leaves(reference, default)

    assert DEFAULT_LINE.pdb_needs_autoscale_min
    assert {".spec.tag"} < changed <= {".spec.tag"} | PDB_VALUES
    assert at(default, "spec.values.gateways.istio-ingressgateway.autoscaleMin") == at(
        default, "spec.components.ingressGateways[0].k8s.hpaSpec.minReplicas"
    )
    assert at(default, "spec.values.pilot.autoscaleMin") == at(
        default, "spec.components.pilot.k8s.hpaSpec.minReplicas"
    )

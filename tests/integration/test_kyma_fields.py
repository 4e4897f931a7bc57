"""The fields of Kyma 1.12-1.30 against the real thing: installed by istioctl 1.23.2 from a CR that sets
them, read back from the mesh config Istio installed, injected by the real istiod, and a trust-domain
change restarting the gateways once and no sidecar.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from istio_fixtures import NS, crd_and_namespace, deps, get_cr, istio_system_settled
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.core_v1 import ConfigMap, Pod
from test_istiod import (
    _generations,
    _install,
    _pass_to_ready,
    _proxy,
    _run_injected,
    purged_afterwards,
    served,
)

from kyma_istio.api import names
from kyma_istio.devenv.istiod import Istiod
from kyma_istio.k8s import kinds
from kyma_istio.reconcile.context import Deps

pytestmark = pytest.mark.integration

__all__ = ["crd_and_namespace", "deps", "istio_system_settled", "purged_afterwards", "served"]

WaitFor = Callable[..., Any]

EGRESS_RESOURCES = {
    "requests": {"cpu": "30m", "memory": "64Mi"},
    "limits": {"cpu": "600m", "memory": "256Mi"},
}
EVERY_FIELD: dict[str, Any] = {
    "config": {
        "numTrustedProxies": 1,
        "forwardClientCertDetails": "SANITIZE",
        "trustDomain": "example.org",
        "enableDNSProxying": True,
        "telemetry": {"metrics": {"prometheusMerge": True}},
        "proxyStatsMatcher": {"inclusionRegexps": [".*outlier_detection.*", ".*circuit_breakers.*"]},
        "authorizers": [
            {
                "name": "opa",
                "service": "opa.policy.svc.cluster.local",
                "port": 9191,
                "pathPrefix": "/authz",
                "timeout": "1500ms",
            }
        ],
    },
    "components": {
        "egressGateway": {
            "enabled": True,
            "k8s": {"hpaSpec": {"minReplicas": 1, "maxReplicas": 3}, "resources": EGRESS_RESOURCES},
        }
    },
    "networkPoliciesEnabled": False,
}


def _mesh(client: Client) -> dict[str, Any]:
    config = client.get(ConfigMap, "istio", namespace=names.ISTIO_NAMESPACE)
    assert config.data is not None
    mesh: dict[str, Any] = yaml.safe_load(config.data["mesh"])
    return mesh


def _template_annotations(client: Client, deployment: str) -> dict[str, str]:
    found = client.get(Deployment, deployment, namespace=names.ISTIO_NAMESPACE)
    assert found.spec is not None and found.spec.template.metadata is not None
    return dict(found.spec.template.metadata.annotations or {})


async def test_every_new_field_reaches_the_installed_mesh_the_egress_gateway_and_injected_pods(
    deps: Deps, served: Istiod, client: Client, namespace: str, wait_for: WaitFor
) -> None:
    await _install(deps, served, EVERY_FIELD)

    stored = await get_cr(deps.kube)
    assert stored["spec"] == EVERY_FIELD  # nothing pruned
    mesh = _mesh(client)
    assert mesh["trustDomain"] == "example.org"
    assert mesh["enablePrometheusMerge"] is True
    default = mesh["defaultConfig"]
    assert default["gatewayTopology"] == {"numTrustedProxies": 1, "forwardClientCertDetails": "SANITIZE"}
    assert default["proxyMetadata"]["ISTIO_META_DNS_CAPTURE"] == "true"
    assert default["proxyStatsMatcher"]["inclusionRegexps"] == [
        ".*outlier_detection.*",
        ".*circuit_breakers.*",
    ]
    opa = next(p for p in mesh["extensionProviders"] if p["name"] == "opa")["envoyExtAuthzHttp"]
    assert (opa["pathPrefix"], opa["timeout"]) == ("/authz", "1.5s")

    egress = client.get(Deployment, names.EGRESS_GATEWAY, namespace=names.ISTIO_NAMESPACE)
    assert egress.spec is not None
    container = next(c for c in egress.spec.template.spec.containers if c.name == "istio-proxy")
    assert container.resources is not None
    assert {
        "requests": container.resources.requests,
        "limits": container.resources.limits,
    } == EGRESS_RESOURCES
    hpa = client.get(HorizontalPodAutoscaler, names.EGRESS_GATEWAY, namespace=names.ISTIO_NAMESPACE)
    assert (hpa.spec.minReplicas, hpa.spec.maxReplicas) == (1, 3)

    pods = _run_injected(client, namespace, wait_for, {"app": None})
    for pod in pods["app"]:
        env = {item.name: item.value for item in _proxy(pod).env or []}
        assert env["ISTIO_META_DNS_CAPTURE"] == "true"
        assert pod.metadata is not None and pod.metadata.annotations is not None
        assert pod.metadata.annotations["prometheus.io/path"] == "/stats/prometheus"
        assert pod.metadata.annotations["prometheus.io/port"] == "15020"

    # Everything as wanted: another pass restarts nothing.
    before = _generations(client, namespace, ["app"])
    await _pass_to_ready(deps)
    assert _generations(client, namespace, ["app"]) == before


async def test_a_trust_domain_change_restarts_both_gateways_once_and_no_sidecar(
    deps: Deps, served: Istiod, client: Client, namespace: str, wait_for: WaitFor
) -> None:
    await _install(deps, served, EVERY_FIELD)
    _run_injected(client, namespace, wait_for, {"app": None})
    workloads = _generations(client, namespace, ["app"])
    stamps = {
        g: _template_annotations(client, g).get(names.RESTARTED_AT_ANNOTATION)
        for g in (names.INGRESS_GATEWAY, names.EGRESS_GATEWAY)
    }

    spec = {**EVERY_FIELD, "config": {**EVERY_FIELD["config"], "trustDomain": "other.example.org"}}
    await deps.kube.patch(kinds.ISTIO, "default", {"spec": spec}, namespace=NS)
    await _pass_to_ready(deps)
    restarted = {g: _template_annotations(client, g).get(names.RESTARTED_AT_ANNOTATION) for g in stamps}
    await _pass_to_ready(deps)

    assert _mesh(client)["trustDomain"] == "other.example.org"
    for gateway, stamp in restarted.items():
        assert stamp is not None and stamp != stamps[gateway], gateway
    assert {
        g: _template_annotations(client, g).get(names.RESTARTED_AT_ANNOTATION) for g in stamps
    } == restarted
    assert _generations(client, namespace, ["app"]) == workloads
    pods = [
        p for p in client.list(Pod, namespace=namespace) if p.metadata and not p.metadata.deletionTimestamp
    ]
    assert len(pods) == 2
    annotations = (await get_cr(deps.kube))["metadata"]["annotations"]
    assert (
        annotations[names.GATEWAY_RESTARTED_FOR_ANNOTATION]
        == annotations[names.EGRESS_GATEWAY_RESTARTED_FOR_ANNOTATION]
    )
    assert "trustDomain=other.example.org" in annotations[names.GATEWAY_RESTARTED_FOR_ANNOTATION]

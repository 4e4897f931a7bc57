"""The reconciler against the real control plane and the real istioctl: install to Ready, the rules that
stop a pass (namespace, oldest CR, validation, version), the gateway restart, and uninstall with its
blocking check. Passes are driven directly (``pipeline.reconcile``) so each step is observable; the
kopf-driven operator is covered in ``test_crash_safety.py``.

Istio CRs that drive the module must live in ``kyma-system``, so these tests share it and clean their
CRs up (finalizer removed) afterwards.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from istio_fixtures import NS, condition, crd_and_namespace, create_cr, deps, get_cr
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap

from kyma_istio import lines
from kyma_istio.api import names
from kyma_istio.k8s import kinds
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.reconcile import pipeline
from kyma_istio.reconcile.context import Deps

pytestmark = pytest.mark.integration

__all__ = ["crd_and_namespace", "deps"]  # fixtures used by name


async def test_a_fresh_install_reaches_ready_and_a_second_pass_writes_nothing(
    deps: Deps, client: Client
) -> None:
    await create_cr(deps.kube, "default", {"config": {"gatewayExternalTrafficPolicy": "Local"}})

    result = await pipeline.reconcile(NS, "default", deps)

    assert result.state is not None and result.state.value == "Ready", result.description
    cr = await get_cr(deps.kube)
    assert cr["status"]["state"] == "Ready"
    assert condition(cr, "Ready")["reason"] == "ReconcileSucceeded"
    assert condition(cr, "ProxySidecarRestartSucceeded")["reason"] == "ProxySidecarRestartSucceeded"
    assert names.FINALIZER in cr["metadata"]["finalizers"]
    applied = json.loads(cr["metadata"]["annotations"][names.LAST_APPLIED_ANNOTATION])
    assert applied["IstioTag"] == DEFAULT_LINE.tag
    assert applied["config"] == {"gatewayExternalTrafficPolicy": "Local"}
    for deployment in ("istiod", "istio-ingressgateway"):
        dep = client.get(Deployment, deployment, namespace="istio-system")
        images = [c.image for c in dep.spec.template.spec.containers]
        assert all(image.endswith(f":{DEFAULT_LINE.tag}") for image in images), images
        assert dep.metadata.labels[names.MODULE_LABEL] == names.MODULE_LABEL_VALUE
    pa = await deps.kube.get(
        kinds.Kind("security.istio.io", "v1", "PeerAuthentication", "peerauthentications"),
        "default",
        "istio-system",
    )
    assert pa is not None
    assert pa["spec"]["mtls"]["mode"] == "STRICT"
    assert pa["metadata"]["labels"][names.MODULE_LABEL] == names.MODULE_LABEL_VALUE
    assert pa["metadata"]["annotations"][names.DISCLAIMER_ANNOTATION] == names.DISCLAIMER

    writes_before = deps.kube.writes
    again = await pipeline.reconcile(NS, "default", deps)

    assert again.state is not None and again.state.value == "Ready"
    writes = deps.kube.writes - writes_before
    print(f"write requests of a no-change pass: {writes}")
    assert writes == 0, list(deps.kube.recent_writes)[-writes:]


async def test_changing_trusted_proxies_restarts_the_ingress_gateway_once(deps: Deps, client: Client) -> None:
    await create_cr(deps.kube, "default", {"config": {"numTrustedProxies": 1}})
    assert (await pipeline.reconcile(NS, "default", deps)).state.value == "Ready"  # type: ignore[union-attr]
    before = client.get(Deployment, "istio-ingressgateway", namespace="istio-system")
    stamp_before = (before.spec.template.metadata.annotations or {}).get(names.RESTARTED_AT_ANNOTATION)

    await deps.kube.patch(
        kinds.ISTIO, "default", {"spec": {"config": {"numTrustedProxies": 3}}}, namespace=NS
    )
    await asyncio.sleep(1.1)  # restartedAt has second precision
    result = await pipeline.reconcile(NS, "default", deps)

    assert result.state is not None and result.state.value == "Ready", result.description
    after = client.get(Deployment, "istio-ingressgateway", namespace="istio-system")
    stamp_after = after.spec.template.metadata.annotations[names.RESTARTED_AT_ANNOTATION]
    assert stamp_after != stamp_before
    cm = client.get(ConfigMap, "istio", namespace="istio-system")
    assert "numTrustedProxies: 3" in cm.data["mesh"]
    generation = after.metadata.generation

    await pipeline.reconcile(NS, "default", deps)

    assert (
        client.get(Deployment, "istio-ingressgateway", namespace="istio-system").metadata.generation
        == generation
    )


async def test_a_second_cr_is_warned_that_an_older_one_exists(deps: Deps) -> None:
    await create_cr(deps.kube, "default", {})
    await asyncio.sleep(1.1)  # creationTimestamp has second precision
    await create_cr(deps.kube, "newer", {})

    result = await pipeline.reconcile(NS, "newer", deps)

    cr = await get_cr(deps.kube, "newer")
    assert cr["status"]["state"] == "Warning"
    assert condition(cr, "Ready")["reason"] == "OlderCRExists"
    assert cr["status"]["description"] == (
        "Stopped Istio CR reconciliation: only Istio CR default in kyma-system reconciles the module"
    )
    assert result.requeue_after is None
    assert "finalizers" not in cr["metadata"]


async def test_duplicate_authorizer_names_fail_validation(deps: Deps) -> None:
    authorizer = {"name": "ext", "service": "ext.auth.svc.cluster.local", "port": 8080}
    await create_cr(deps.kube, "default", {"config": {"authorizers": [authorizer, authorizer]}})

    await pipeline.reconcile(NS, "default", deps)

    cr = await get_cr(deps.kube)
    assert cr["status"]["state"] == "Warning"
    assert condition(cr, "Ready")["reason"] == "ValidationFailed"
    assert cr["status"]["description"] == "Authorizer name needs to be unique: ext is duplicated"


async def test_a_cr_outside_kyma_system_is_refused(deps: Deps, namespace: str) -> None:
    await create_cr(deps.kube, "default", {}, namespace=namespace)

    await pipeline.reconcile(namespace, "default", deps)

    cr = await get_cr(deps.kube, "default", namespace)
    assert cr["status"]["state"] == "Error"
    assert condition(cr, "Ready")["reason"] == "ReconcileFailed"
    assert cr["status"]["description"] == (
        "Stopped Istio CR reconciliation: Istio CR is not in kyma-system namespace"
    )
    await deps.kube.delete(kinds.ISTIO, "default", namespace=namespace)


async def test_a_two_minor_upgrade_is_refused_and_nothing_is_installed(deps: Deps) -> None:
    last = json.dumps({"config": {}, "IstioTag": "1.21.3-distroless"})
    await create_cr(deps.kube, "default", {}, annotations={names.LAST_APPLIED_ANNOTATION: last})

    result = await pipeline.reconcile(NS, "default", deps)

    cr = await get_cr(deps.kube)
    assert cr["status"]["state"] == "Warning"
    assert condition(cr, "Ready")["reason"] == "IstioVersionUpdateNotAllowed"
    assert cr["status"]["description"].startswith("Istio version update is not allowed: target Istio version")
    assert "finalizers" not in cr["metadata"]
    assert result.requeue_after is not None


async def test_a_one_minor_upgrade_proceeds_to_ready(deps: Deps) -> None:
    last = json.dumps({"config": {}, "IstioTag": lines.LINES[-2].tag})  # the line before the default
    await create_cr(deps.kube, "default", {}, annotations={names.LAST_APPLIED_ANNOTATION: last})

    result = await pipeline.reconcile(NS, "default", deps)

    assert result.state is not None and result.state.value == "Ready", result.description
    cr = await get_cr(deps.kube)
    assert (
        json.loads(cr["metadata"]["annotations"][names.LAST_APPLIED_ANNOTATION])["IstioTag"]
        == DEFAULT_LINE.tag
    )


async def test_deletion_is_blocked_by_a_user_virtual_service_then_uninstalls(
    deps: Deps, client: Client, namespace: str
) -> None:
    await create_cr(deps.kube, "default", {})
    assert (await pipeline.reconcile(NS, "default", deps)).state.value == "Ready"  # type: ignore[union-attr]
    vs_kind = kinds.Kind("networking.istio.io", "v1", "VirtualService", "virtualservices")
    await deps.kube.create(
        vs_kind,
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": "shop", "namespace": namespace},
            "spec": {"hosts": ["shop"], "http": [{"route": [{"destination": {"host": "shop"}}]}]},
        },
    )
    await deps.kube.delete(kinds.ISTIO, "default", namespace=NS)

    await pipeline.reconcile(NS, "default", deps)

    cr = await get_cr(deps.kube)
    assert cr["status"]["state"] == "Warning"
    assert condition(cr, "Ready")["reason"] == "IstioCustomResourcesDangling"
    assert f"VirtualService {namespace}/shop" in cr["status"]["description"]
    assert client.get(Deployment, "istiod", namespace="istio-system") is not None

    await deps.kube.delete(vs_kind, "shop", namespace=namespace)
    result = await pipeline.reconcile(NS, "default", deps)

    assert result.state is None
    assert await deps.kube.get(kinds.ISTIO, "default", NS) is None
    crd = await deps.kube.get(kinds.CRD, "virtualservices.networking.istio.io")
    assert crd is None or crd["metadata"].get("deletionTimestamp")  # the API server finishes CRD cleanup
    ns = await deps.kube.get(kinds.NAMESPACE, "istio-system")
    assert ns is None or ns["metadata"].get("deletionTimestamp")

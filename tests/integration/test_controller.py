"""The reconciler against the real control plane and the real istioctl: install to Ready, the rules that
stop a pass (namespace, oldest CR, validation, version), the gateway restart, and uninstall with its
blocking check. Passes are driven directly (``pipeline.reconcile``) so each step is observable; the
kopf-driven operator is covered in ``test_operator_runtime.py``.

Istio CRs that drive the module must live in ``kyma-system``, so these tests share it and clean their
CRs up (finalizer removed) afterwards.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import Client, codecs
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Namespace
from lightkube.resources.scheduling_v1 import PriorityClass

from kyma_istio import pins
from kyma_istio.api import names
from kyma_istio.cluster import kinds
from kyma_istio.cluster.kube import Kube
from kyma_istio.installer import istioctl
from kyma_istio.operator.events import KubeEvents
from kyma_istio.operator.main import IstioctlInstaller
from kyma_istio.reconcile import pipeline
from kyma_istio.reconcile.context import Deps, Settings

pytestmark = pytest.mark.integration

REPO = Path(__file__).parents[2]
CRD_FILE = REPO / "deploy" / "crds" / "operator.kyma-project.io_istios.yaml"
NS = names.OPERATOR_NAMESPACE


@pytest.fixture(scope="module")
def crd_and_namespace(client: Client) -> None:
    client.apply(codecs.from_dict(yaml.safe_load(CRD_FILE.read_text())), field_manager="tests", force=True)
    deadline = time.monotonic() + 30
    while True:
        crd = client.get(CustomResourceDefinition, names.CRD_NAME)
        if any(c.type == "Established" and c.status == "True" for c in (crd.status.conditions or [])):
            break
        assert time.monotonic() < deadline, "CRD not established"
        time.sleep(0.1)
    client.apply(Namespace(metadata=ObjectMeta(name=NS)), field_manager="tests")
    # Shipped by the module manifest (deploy/), not by the operator; Istio's pods refer to it.
    client.apply(
        PriorityClass(metadata=ObjectMeta(name=names.PRIORITY_CLASS), value=names.PRIORITY_CLASS_VALUE),
        field_manager="tests",
    )


@pytest.fixture
async def deps(kubeconfig: Path, crd_and_namespace: None) -> AsyncIterator[Deps]:
    kube = Kube.connect(kubeconfig)
    tool = istioctl.Istioctl(
        istioctl.find_istioctl(), kubeconfig=kubeconfig, log=logging.getLogger("tests.istioctl")
    )
    settings = Settings(readiness_timeout_s=120, restart_wave_timeout_s=30)
    yield Deps(
        kube=kube, installer=IstioctlInstaller(tool, settings), events=KubeEvents(kube), settings=settings
    )
    # Drop every CR in kyma-system so the next test starts from nothing.
    for cr in await kube.list_all(kinds.ISTIO, namespace=NS):
        name = cr["metadata"]["name"]
        await kube.patch(kinds.ISTIO, name, {"metadata": {"finalizers": None}}, namespace=NS)
        await kube.delete(kinds.ISTIO, name, namespace=NS)
    await kube.close()


async def _create(deps: Deps, name: str, spec: dict[str, Any], *, namespace: str = NS, **meta: Any) -> None:
    body = {
        "apiVersion": names.API_VERSION,
        "kind": names.KIND,
        "metadata": {"name": name, "namespace": namespace, **meta},
        "spec": spec,
    }
    from kyma_istio.cluster.kube import register

    register(kinds.ISTIO)
    await deps.kube.create(body)


async def _cr(deps: Deps, name: str = "default", namespace: str = NS) -> dict[str, Any]:
    cr = await deps.kube.get(kinds.ISTIO, name, namespace)
    assert cr is not None
    return cr


def _condition(cr: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in cr["status"]["conditions"] if c["type"] == type_)


async def test_a_fresh_install_reaches_ready_and_a_second_pass_writes_nothing(
    deps: Deps, client: Client
) -> None:
    await _create(deps, "default", {"config": {"gatewayExternalTrafficPolicy": "Local"}})

    result = await pipeline.reconcile(NS, "default", deps)

    assert result.state is not None and result.state.value == "Ready", result.description
    cr = await _cr(deps)
    assert cr["status"]["state"] == "Ready"
    assert _condition(cr, "Ready")["reason"] == "ReconcileSucceeded"
    assert _condition(cr, "ProxySidecarRestartSucceeded")["reason"] == "ProxySidecarRestartSucceeded"
    assert names.FINALIZER in cr["metadata"]["finalizers"]
    applied = json.loads(cr["metadata"]["annotations"][names.LAST_APPLIED_ANNOTATION])
    assert applied["IstioTag"] == pins.ISTIO_TAG
    assert applied["config"] == {"gatewayExternalTrafficPolicy": "Local"}
    for deployment in ("istiod", "istio-ingressgateway"):
        dep = client.get(Deployment, deployment, namespace="istio-system")
        images = [c.image for c in dep.spec.template.spec.containers]
        assert all(image.endswith(f":{pins.ISTIO_TAG}") for image in images), images
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
    await _create(deps, "default", {"config": {"numTrustedProxies": 1}})
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
    await _create(deps, "default", {})
    await asyncio.sleep(1.1)  # creationTimestamp has second precision
    await _create(deps, "newer", {})

    result = await pipeline.reconcile(NS, "newer", deps)

    cr = await _cr(deps, "newer")
    assert cr["status"]["state"] == "Warning"
    assert _condition(cr, "Ready")["reason"] == "OlderCRExists"
    assert cr["status"]["description"] == (
        "Stopped Istio CR reconciliation: only Istio CR default in kyma-system reconciles the module"
    )
    assert result.requeue_after is None
    assert "finalizers" not in cr["metadata"]


async def test_duplicate_authorizer_names_fail_validation(deps: Deps) -> None:
    authorizer = {"name": "ext", "service": "ext.auth.svc.cluster.local", "port": 8080}
    await _create(deps, "default", {"config": {"authorizers": [authorizer, authorizer]}})

    await pipeline.reconcile(NS, "default", deps)

    cr = await _cr(deps)
    assert cr["status"]["state"] == "Warning"
    assert _condition(cr, "Ready")["reason"] == "ValidationFailed"
    assert cr["status"]["description"] == "Authorizer name needs to be unique: ext is duplicated"


async def test_a_cr_outside_kyma_system_is_refused(deps: Deps, namespace: str) -> None:
    await _create(deps, "default", {}, namespace=namespace)

    await pipeline.reconcile(namespace, "default", deps)

    cr = await _cr(deps, "default", namespace)
    assert cr["status"]["state"] == "Error"
    assert _condition(cr, "Ready")["reason"] == "ReconcileFailed"
    assert cr["status"]["description"] == (
        "Stopped Istio CR reconciliation: Istio CR is not in kyma-system namespace"
    )
    await deps.kube.delete(kinds.ISTIO, "default", namespace=namespace)


async def test_a_two_minor_upgrade_is_refused_and_nothing_is_installed(deps: Deps) -> None:
    last = json.dumps({"config": {}, "IstioTag": "1.21.3-distroless"})
    await _create(deps, "default", {}, annotations={names.LAST_APPLIED_ANNOTATION: last})

    result = await pipeline.reconcile(NS, "default", deps)

    cr = await _cr(deps)
    assert cr["status"]["state"] == "Warning"
    assert _condition(cr, "Ready")["reason"] == "IstioVersionUpdateNotAllowed"
    assert cr["status"]["description"].startswith("Istio version update is not allowed: target Istio version")
    assert "finalizers" not in cr["metadata"]
    assert result.requeue_after is not None


async def test_a_one_minor_upgrade_proceeds_to_ready(deps: Deps) -> None:
    last = json.dumps({"config": {}, "IstioTag": "1.22.5-distroless"})
    await _create(deps, "default", {}, annotations={names.LAST_APPLIED_ANNOTATION: last})

    result = await pipeline.reconcile(NS, "default", deps)

    assert result.state is not None and result.state.value == "Ready", result.description
    cr = await _cr(deps)
    assert (
        json.loads(cr["metadata"]["annotations"][names.LAST_APPLIED_ANNOTATION])["IstioTag"] == pins.ISTIO_TAG
    )


async def test_deletion_is_blocked_by_a_user_virtual_service_then_uninstalls(
    deps: Deps, client: Client, namespace: str
) -> None:
    await _create(deps, "default", {})
    assert (await pipeline.reconcile(NS, "default", deps)).state.value == "Ready"  # type: ignore[union-attr]
    vs_kind = kinds.Kind("networking.istio.io", "v1", "VirtualService", "virtualservices")
    from kyma_istio.cluster.kube import register

    register(vs_kind)
    await deps.kube.create(
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": "shop", "namespace": namespace},
            "spec": {"hosts": ["shop"], "http": [{"route": [{"destination": {"host": "shop"}}]}]},
        }
    )
    await deps.kube.delete(kinds.ISTIO, "default", namespace=NS)

    await pipeline.reconcile(NS, "default", deps)

    cr = await _cr(deps)
    assert cr["status"]["state"] == "Warning"
    assert _condition(cr, "Ready")["reason"] == "IstioCustomResourcesDangling"
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

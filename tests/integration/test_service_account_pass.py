"""The chart's least-privilege RBAC is enough for a whole life cycle: with the chart applied in
``kyma-system`` and a token of the operator's ServiceAccount (TokenRequest API, no admin rights, no
impersonation), the reconciler installs Istio to ``Ready``, restarts a workload with an outdated sidecar
in another namespace, uninstalls, installs again into the ``istio-system`` the uninstall kept (its Role
is there) and uninstalls again, and no request is refused along the way."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from istio_fixtures import (
    NS,
    SERVICE_ACCOUNT,
    chart_in_kyma_system,
    crd_and_namespace,
    create_cr,
    drop_all_crs,
    get_cr,
    make_deps,
    token_kubeconfig,
)
from lightkube import Client, codecs
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Pod

from kyma_istio.api import names
from kyma_istio.k8s import kinds
from kyma_istio.reconcile import pipeline
from kyma_istio.reconcile.context import Deps

pytestmark = pytest.mark.integration

__all__ = ["chart_in_kyma_system", "crd_and_namespace"]  # fixtures used by name

OLD_PROXY = "docker.io/istio/proxyv2:1.22.0-distroless"


@pytest.fixture
def service_account_kubeconfig(
    client: Client, kubeconfig: Path, chart_in_kyma_system: list[dict[str, Any]], tmp_path: Path
) -> Path:
    """A kubeconfig that authenticates as the ServiceAccount itself, with a short-lived token."""
    return token_kubeconfig(client, kubeconfig, SERVICE_ACCOUNT, NS, tmp_path / "service-account.kubeconfig")


def _outdated_deployment(namespace: str) -> dict[str, Any]:
    """A Deployment whose pods carry a sidecar of an older Istio: the install pass must restart it."""
    template = {
        "metadata": {"labels": {"app": "old"}, "annotations": {names.SIDECAR_STATUS_ANNOTATION: "{}"}},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {"name": "app", "image": "registry.example/app:1"},
                {"name": names.PROXY_CONTAINER, "image": OLD_PROXY},
            ],
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "old", "namespace": namespace},
        "spec": {"selector": {"matchLabels": {"app": "old"}}, "template": template},
    }


@pytest.fixture
def outdated_workload(client: Client, namespace: str, wait_for: Callable[..., Any]) -> str:
    """The namespace of a running Deployment with an outdated sidecar."""
    client.create(codecs.from_dict(_outdated_deployment(namespace)))
    wait_for("the outdated pod", lambda: list(client.list(Pod, namespace=namespace)))
    return namespace


async def _install_to_ready(deps: Deps) -> None:
    installed = await pipeline.reconcile(NS, "default", deps)
    assert installed.state is not None, installed.description
    assert installed.state.value == "Ready", installed.description
    assert await deps.kube.get(kinds.DEPLOYMENT, "istiod", names.ISTIO_NAMESPACE) is not None


async def _uninstall(admin: Deps, deps: Deps) -> None:
    await admin.kube.delete(kinds.ISTIO, "default", namespace=NS)
    removed = await pipeline.reconcile(NS, "default", deps)
    assert removed.state is None, removed.description
    assert await admin.kube.get(kinds.ISTIO, "default", NS) is None
    # The chart's istio-system stays with the operator's Role in it; Istio's objects are gone.
    assert await admin.kube.get(kinds.NAMESPACE, names.ISTIO_NAMESPACE) is not None
    assert await admin.kube.get(kinds.DEPLOYMENT, "istiod", names.ISTIO_NAMESPACE) is None
    # The purge deletes Istio's CRDs; the API server removes them once its cleanup finalizer has run,
    # which takes a moment on a loaded machine. A reinstall must not race a terminating CRD.
    for _ in range(120):
        if await admin.kube.get(kinds.CRD, "virtualservices.networking.istio.io") is None:
            break
        await asyncio.sleep(0.5)
    assert await admin.kube.get(kinds.CRD, "virtualservices.networking.istio.io") is None


async def test_the_service_account_installs_restarts_uninstalls_and_reinstalls_without_a_refused_request(
    service_account_kubeconfig: Path,
    kubeconfig: Path,
    client: Client,
    outdated_workload: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    admin = make_deps(kubeconfig)
    deps = make_deps(service_account_kubeconfig)
    caplog.set_level(logging.WARNING)
    try:
        await create_cr(admin.kube, "default", {})
        await _install_to_ready(deps)
        restarted = client.get(Deployment, "old", namespace=outdated_workload)
        annotations = restarted.spec.template.metadata.annotations or {}
        assert names.RESTARTED_AT_ANNOTATION in annotations

        await _uninstall(admin, deps)
        await create_cr(admin.kube, "default", {})
        await _install_to_ready(deps)
        await _uninstall(admin, deps)

        refused = [r.getMessage() for r in caplog.records if "forbidden" in r.getMessage().lower()]
        assert refused == []
    finally:
        if await admin.kube.get(kinds.ISTIO, "default", NS) is not None:
            cr = await get_cr(admin.kube)
            pytest.fail(f"CR left behind in state {cr.get('status', {}).get('state')}")
        await drop_all_crs(admin.kube)
        await admin.kube.close()
        await deps.kube.close()

"""The chart's RBAC is enough for a whole life cycle: with the chart applied in ``kyma-system`` and a token
of the operator's ServiceAccount (TokenRequest API, no admin rights, no impersonation), the reconciler
installs Istio to ``Ready`` and uninstalls it again, and no request is refused along the way."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from istio_fixtures import (
    NS,
    chart_in_kyma_system,
    crd_and_namespace,
    create_cr,
    drop_all_crs,
    get_cr,
    istio_system_settled,
    make_deps,
    service_account_token,
)
from lightkube import Client

from kyma_istio.api import names
from kyma_istio.cluster import kinds
from kyma_istio.reconcile import pipeline

pytestmark = pytest.mark.integration

__all__ = ["chart_in_kyma_system", "crd_and_namespace", "istio_system_settled"]  # fixtures used by name


@pytest.fixture
def service_account_kubeconfig(
    client: Client, kubeconfig: Path, chart_in_kyma_system: list[dict[str, Any]], tmp_path: Path
) -> Path:
    """A kubeconfig that authenticates as the ServiceAccount itself, with a short-lived token."""
    token = service_account_token(client)
    config = yaml.safe_load(kubeconfig.read_text())
    config["users"] = [{"name": "operator", "user": {"token": token}}]
    for context in config["contexts"]:
        context["context"]["user"] = "operator"
    path = tmp_path / "service-account.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


async def test_the_service_account_installs_and_uninstalls_istio_without_a_refused_request(
    service_account_kubeconfig: Path,
    kubeconfig: Path,
    istio_system_settled: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    admin = make_deps(kubeconfig)
    deps = make_deps(service_account_kubeconfig)
    caplog.set_level(logging.WARNING)
    try:
        await create_cr(admin.kube, "default", {})

        installed = await pipeline.reconcile(NS, "default", deps)

        assert installed.state is not None, installed.description
        assert installed.state.value == "Ready", installed.description
        assert await deps.kube.get(kinds.DEPLOYMENT, "istiod", names.ISTIO_NAMESPACE) is not None
        await admin.kube.delete(kinds.ISTIO, "default", namespace=NS)

        removed = await pipeline.reconcile(NS, "default", deps)

        assert removed.state is None, removed.description
        assert await admin.kube.get(kinds.ISTIO, "default", NS) is None
        refused = [r.getMessage() for r in caplog.records if "forbidden" in r.getMessage().lower()]
        assert refused == []
    finally:
        if await admin.kube.get(kinds.ISTIO, "default", NS) is not None:
            cr = await get_cr(admin.kube)
            pytest.fail(f"CR left behind in state {cr.get('status', {}).get('state')}")
        await drop_all_crs(admin.kube)
        await admin.kube.close()
        await deps.kube.close()

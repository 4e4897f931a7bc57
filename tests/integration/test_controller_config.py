"""Configuration changes through the reconciler on the local control plane with the real istioctl: the
gateway Service's traffic policy, component resources and autoscaler bounds, deletion blocked by a user's
Gateway API route, and what a periodic resync pass costs when it re-runs ``istioctl install``.

Passes are driven directly (``pipeline.reconcile``), as in ``test_controller.py``; CRs in kyma-system are
dropped after every test by the ``deps`` fixture.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from istio_fixtures import (
    NS,
    condition,
    crd_and_namespace,
    create_cr,
    deps,
    get_cr,
    istio_system_settled,
    wait_established,
)
from lightkube import Client, codecs
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.core_v1 import Event, Service

from kyma_istio.api import names
from kyma_istio.cluster.kinds import resource
from kyma_istio.k8s import kinds
from kyma_istio.reconcile import pipeline
from kyma_istio.reconcile.context import Deps, Installer, InstallOutcome

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("istio_system_settled")]

__all__ = ["crd_and_namespace", "deps", "istio_system_settled"]

HTTPROUTE = kinds.Kind("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes")
HTTPROUTE_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {
        "name": "httproutes.gateway.networking.k8s.io",
        # *.k8s.io groups are protected; the real Gateway API CRDs carry this annotation too.
        "annotations": {
            "api-approved.kubernetes.io": "https://github.com/kubernetes-sigs/gateway-api/pull/2466"
        },
    },
    "spec": {
        "group": "gateway.networking.k8s.io",
        "scope": "Namespaced",
        "names": {
            "plural": "httproutes",
            "singular": "httproute",
            "kind": "HTTPRoute",
            "listKind": "HTTPRouteList",
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
            }
        ],
    },
}


class TimedInstaller:
    """Passes calls through, keeping what each ``install`` reported."""

    def __init__(self, inner: Installer) -> None:
        self.inner = inner
        self.installs: list[InstallOutcome] = []

    async def install(self, iop: Mapping[str, Any]) -> InstallOutcome:
        outcome = await self.inner.install(iop)
        self.installs.append(outcome)
        return outcome

    async def uninstall(self) -> InstallOutcome:
        return await self.inner.uninstall()


async def _ready(deps: Deps) -> None:
    result = await pipeline.reconcile(NS, "default", deps)
    assert result.state is not None and result.state.value == "Ready", result.description


async def _change_spec(deps: Deps, spec: dict[str, Any]) -> None:
    await deps.kube.patch(kinds.ISTIO, "default", {"spec": spec}, namespace=NS)


def _gateway_policy(client: Client) -> str | None:
    policy: str | None = client.get(
        Service, "istio-ingressgateway", namespace="istio-system"
    ).spec.externalTrafficPolicy
    return policy


async def test_changing_the_gateway_traffic_policy_updates_the_gateway_service(
    deps: Deps, client: Client
) -> None:
    await create_cr(deps.kube, "default", {"config": {"gatewayExternalTrafficPolicy": "Cluster"}})
    await _ready(deps)
    assert _gateway_policy(client) == "Cluster"

    await _change_spec(deps, {"config": {"gatewayExternalTrafficPolicy": "Local"}})
    await _ready(deps)

    assert _gateway_policy(client) == "Local"


async def test_component_resources_and_autoscaler_bounds_reach_the_deployment_and_hpa(
    deps: Deps, client: Client
) -> None:
    await create_cr(deps.kube, "default", {})
    await _ready(deps)

    await _change_spec(
        deps,
        {
            "components": {
                "pilot": {"k8s": {"resources": {"requests": {"cpu": "250m", "memory": "768Mi"}}}},
                "ingressGateway": {"k8s": {"hpaSpec": {"minReplicas": 2, "maxReplicas": 6}}},
            }
        },
    )
    await _ready(deps)

    istiod = client.get(Deployment, "istiod", namespace="istio-system")
    discovery = next(c for c in istiod.spec.template.spec.containers if c.name == "discovery")
    assert discovery.resources.requests == {"cpu": "250m", "memory": "768Mi"}
    hpa = client.get(HorizontalPodAutoscaler, "istio-ingressgateway", namespace="istio-system")
    assert (hpa.spec.minReplicas, hpa.spec.maxReplicas) == (2, 6)


@pytest.fixture
def httproute_crd(client: Client) -> Iterator[None]:
    """A minimal Gateway API HTTPRoute CRD (any spec accepted); removed afterwards."""
    client.apply(codecs.from_dict(HTTPROUTE_CRD), field_manager="tests", force=True)
    wait_established(client, HTTPROUTE_CRD["metadata"]["name"])  # type: ignore[index]
    yield
    client.delete(CustomResourceDefinition, HTTPROUTE_CRD["metadata"]["name"])  # type: ignore[index]


@pytest.mark.usefixtures("httproute_crd")
async def test_deletion_is_blocked_by_a_mesh_http_route_until_it_is_deleted(
    deps: Deps, client: Client, namespace: str
) -> None:
    await create_cr(deps.kube, "default", {})
    await _ready(deps)
    route = {
        "apiVersion": HTTPROUTE.api_version,
        "kind": HTTPROUTE.kind,
        "metadata": {"name": "reviews", "namespace": namespace},
        "spec": {
            "parentRefs": [{"group": "", "kind": "Service", "name": "reviews", "port": 9080}],
            "rules": [{"backendRefs": [{"name": "reviews-v2", "port": 9080}]}],
        },
    }
    client.create(resource(HTTPROUTE).from_dict(route))
    await deps.kube.delete(kinds.ISTIO, "default", namespace=NS)

    await pipeline.reconcile(NS, "default", deps)

    cr = await get_cr(deps.kube)
    assert cr["status"]["state"] == "Warning"
    assert condition(cr, "Ready")["reason"] == "IstioCustomResourcesDangling"
    assert f"HTTPRoute {namespace}/reviews" in cr["status"]["description"]
    blocked = [e for e in client.list(Event, namespace=NS) if e.reason == "DeletionBlocked"]
    assert any(f"HTTPRoute {namespace}/reviews" in (e.message or "") for e in blocked)
    assert client.get(Deployment, "istiod", namespace="istio-system") is not None
    assert names.FINALIZER in cr["metadata"]["finalizers"]

    client.delete(resource(HTTPROUTE), "reviews", namespace=namespace)
    result = await pipeline.reconcile(NS, "default", deps)

    assert result.state is None
    assert await deps.kube.get(kinds.ISTIO, "default", NS) is None
    crd = await deps.kube.get(kinds.CRD, "virtualservices.networking.istio.io")
    assert crd is None or crd["metadata"].get("deletionTimestamp")
    assert await deps.kube.get(kinds.DEPLOYMENT, "istiod", "istio-system") is None


async def test_a_periodic_resync_reinstalls_with_istioctl_and_writes_only_its_two_install_events(
    deps: Deps,
) -> None:
    assert deps.settings.reinstall_on_resync
    installer = TimedInstaller(deps.installer)
    deps.installer = installer
    await create_cr(deps.kube, "default", {})
    await _ready(deps)
    await _ready(deps)  # settles whatever the first install's new pods needed (module labels)
    installs_before, writes_before = len(installer.installs), deps.kube.writes
    started = time.monotonic()

    result = await pipeline.reconcile(NS, "default", deps, resync=True)

    elapsed = time.monotonic() - started
    count = deps.kube.writes - writes_before
    writes = list(deps.kube.recent_writes)[-count:] if count else []
    assert result.state is not None and result.state.value == "Ready", result.description
    reinstalls = installer.installs[installs_before:]
    assert len(reinstalls) == 1 and reinstalls[0].ok
    print(
        f"resync pass with reinstall: {elapsed:.2f}s in total, "
        f"istioctl install {reinstalls[0].duration_s:.2f}s, write requests of our client: {count} "
        f"({writes})"
    )
    # InstallStarted and InstallSucceeded Events; nothing on the CR, nothing on Istio's objects. An Event
    # equal to one of the first install's is aggregated (PATCH of its count), a new one created (POST).
    assert len(writes) == 2
    assert all(re.fullmatch(rf"(POST|PATCH) /api/v1/namespaces/{NS}/events(/[^/]+)?", w) for w in writes)

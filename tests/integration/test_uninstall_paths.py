"""The delete half of a pass through the real reconciler, istioctl and API server: an uninstall that the
API server refuses half-way is an Error and keeps the CR; a real uninstall removes the injected sidecars
(the injector is gone, so the restarted pods come up plain); another party's finalizer keeps the CR after
our uninstall, and the next pass finds nothing to do (``IstioInstallNotNeeded``) without reinstalling.

The module shares one install and one CR, and leaves the cluster without Istio (``istio-system`` gone).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from istio_fixtures import (
    NS,
    condition,
    crd_and_namespace,
    create_cr,
    drop_all_crs,
    get_cr,
    make_deps,
    wait_istio_system_settled,
)
from lightkube import Client, codecs
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace, Pod
from refusals import refusing, rule

from kyma_istio.api import names
from kyma_istio.k8s import kinds
from kyma_istio.reconcile import pipeline
from kyma_istio.reconcile.context import Deps

pytestmark = pytest.mark.integration

__all__ = ["crd_and_namespace"]  # fixtures used by name

OTHER_FINALIZER = "example.com/keep-for-audit"
WaitFor = Callable[..., Any]


@pytest.fixture(scope="module")
async def shared(kubeconfig: Path, client: Client, crd_and_namespace: None) -> AsyncIterator[Deps]:
    """Istio installed to Ready for the module's CR ``default``; afterwards no CR and no istio-system."""
    wait_istio_system_settled(client)
    deps = make_deps(kubeconfig)
    await drop_all_crs(deps.kube)
    await create_cr(deps.kube, "default", {})
    result = await pipeline.reconcile(NS, "default", deps)
    assert result.state is not None and result.state.value == "Ready", result.description
    yield deps
    cr = await deps.kube.get(kinds.ISTIO, "default", NS)
    if cr is not None:
        await deps.kube.patch(kinds.ISTIO, "default", {"metadata": {"finalizers": None}}, namespace=NS)
    await drop_all_crs(deps.kube)
    await deps.kube.close()
    wait_istio_system_settled(client)


@pytest.fixture(scope="module")
def wait_for_module() -> WaitFor:
    """``wait_for`` for module-scoped fixtures."""

    def wait(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        while not (result := check()):
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}", pytrace=False)
            time.sleep(0.2)
        return result

    return wait


def _proxies(pod: Pod) -> list[str]:
    assert pod.spec is not None
    return [c.name for c in pod.spec.containers if c.name == names.PROXY_CONTAINER]


@pytest.fixture(scope="module")
def injected_shop(shared: Deps, client: Client, wait_for_module: WaitFor) -> Iterator[str]:
    """A namespace with injection enabled and a Deployment whose two pods got their sidecar from Istio's
    injector (the session's istiod), made while Istio is whole (an uninstall refused half-way has removed
    the injector's Service already); the namespace is deleted afterwards."""
    namespace = f"shop-{secrets.token_hex(3)}"
    labels = {"istio-injection": "enabled", "kyma-istio.test/integration": "true"}
    client.create(Namespace(metadata=ObjectMeta(name=namespace, labels=labels)))
    client.create(
        codecs.from_dict(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "shop", "namespace": namespace},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": {"app": "shop"}},
                    "template": {
                        "metadata": {"labels": {"app": "shop"}},
                        "spec": {
                            "terminationGracePeriodSeconds": 0,
                            "containers": [{"name": "shop", "image": "registry.example/shop:1"}],
                        },
                    },
                },
            }
        )
    )

    def injected_running() -> bool:
        pods = [p for p in client.list(Pod, namespace=namespace) if p.status and p.status.phase == "Running"]
        return len(pods) == 2 and all(_proxies(p) for p in pods)

    wait_for_module("two injected pods running", injected_running, timeout=180)
    yield namespace
    client.delete(Namespace, namespace)


async def test_an_uninstall_the_api_server_refuses_is_an_error_and_keeps_the_cr(
    shared: Deps, client: Client, namespace: str, injected_shop: str
) -> None:
    await shared.kube.patch(
        kinds.ISTIO, "default", {"metadata": {"finalizers": [names.FINALIZER, OTHER_FINALIZER]}}, namespace=NS
    )
    await shared.kube.delete(kinds.ISTIO, "default", namespace=NS)
    allowed = (
        f"oldObject.metadata.namespace != '{names.ISTIO_NAMESPACE}' || oldObject.metadata.name != 'istiod'"
    )
    with refusing(client, namespace, [rule("apps", "deployments", "DELETE")], allowed, "istiod stays"):
        result = await pipeline.reconcile(NS, "default", shared)

    assert result.failed
    cr = await get_cr(shared.kube)
    assert cr["status"]["state"] == "Error", cr["status"]
    assert cr["status"]["description"].startswith("Could not uninstall istio: "), cr["status"]
    assert condition(cr, "Ready")["reason"] == "IstioInstallUninstallFailed"
    assert names.FINALIZER in cr["metadata"]["finalizers"]
    assert client.get(Deployment, "istiod", namespace=names.ISTIO_NAMESPACE) is not None


async def test_uninstall_removes_injected_sidecars_and_another_finalizer_leaves_nothing_to_do(
    shared: Deps, client: Client, injected_shop: str, wait_for: WaitFor
) -> None:
    namespace = injected_shop
    generation = client.get(Deployment, "shop", namespace=namespace).metadata.generation  # type: ignore[union-attr]
    assert (await get_cr(shared.kube))["metadata"].get("deletionTimestamp"), "the previous test deleted it"

    removed = await pipeline.reconcile(NS, "default", shared)

    # Ours is released, the other party's finalizer keeps the CR: Deleting, with nothing left of Istio.
    assert removed.state is not None and removed.state.value == "Deleting", removed.description
    cr = await get_cr(shared.kube)
    assert cr["metadata"]["finalizers"] == [OTHER_FINALIZER]
    assert condition(cr, "Ready")["reason"] == "IstioUninstallSucceeded"
    assert await shared.kube.get(kinds.DEPLOYMENT, "istiod", names.ISTIO_NAMESPACE) is None
    assert await shared.kube.get(kinds.MUTATING_WEBHOOK, "istio-sidecar-injector") is None
    shop = client.get(Deployment, "shop", namespace=namespace)
    assert shop.metadata is not None and shop.metadata.generation == (generation or 0) + 1

    def plain_and_running() -> bool:
        pods = [
            p
            for p in client.list(Pod, namespace=namespace)
            if p.metadata and not p.metadata.deletionTimestamp
        ]
        running = [p for p in pods if p.status and p.status.phase == "Running"]
        return len(running) == 2 and len(pods) == 2 and not any(_proxies(p) for p in pods)

    wait_for("two plain pods and no istio-proxy left", plain_and_running, timeout=180)

    again = await pipeline.reconcile(NS, "default", shared)

    assert again.state is not None and again.state.value == "Deleting"
    cr = await get_cr(shared.kube)
    assert condition(cr, "Ready")["reason"] == "IstioInstallNotNeeded"
    assert await shared.kube.get(kinds.DEPLOYMENT, "istiod", names.ISTIO_NAMESPACE) is None
    shop = client.get(Deployment, "shop", namespace=namespace)
    assert shop.metadata is not None and shop.metadata.generation == (generation or 0) + 1

    await shared.kube.patch(kinds.ISTIO, "default", {"metadata": {"finalizers": None}}, namespace=NS)
    assert await shared.kube.get(kinds.ISTIO, "default", NS) is None

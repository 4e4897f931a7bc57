"""The operator against the real istiod: Istio 1.23.2's own ``pilot-discovery`` injects the sidecars and
validates Istio config, so the restarter is checked against what Istio really injects (image from the
installed hub/tag, resources from the CR, compatibility proxy metadata, per-pod annotations) instead of
our idea of it.

Istio is installed by reconcile passes (``pipeline.reconcile``) from a CR in ``kyma-system``; the session's
``Istiod`` follows the install. Workloads live in the test's namespace, labelled for injection; passes
restart sidecars cluster-wide, so only this namespace's workloads are counted.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from istio_fixtures import NS, crd_and_namespace, create_cr, deps, istio_system_settled
from lightkube import ApiError, Client
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.admissionregistration_v1 import ValidatingWebhookConfiguration
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace, Pod

from kyma_istio import pins
from kyma_istio.api import names
from kyma_istio.cluster import kinds
from kyma_istio.devenv.istiod import Istiod
from kyma_istio.reconcile import pipeline
from kyma_istio.reconcile.context import Deps

pytestmark = pytest.mark.integration

__all__ = ["crd_and_namespace", "deps", "istio_system_settled"]  # fixtures used by name

WaitFor = Callable[..., Any]
VirtualService = create_namespaced_resource("networking.istio.io", "v1", "VirtualService", "virtualservices")

FIRST = {"requests": {"cpu": "15m", "memory": "40Mi"}, "limits": {"cpu": "300m", "memory": "300Mi"}}
SECOND = {"requests": {"cpu": "25m", "memory": "50Mi"}, "limits": {"cpu": "400m", "memory": "400Mi"}}
PER_POD = {
    "sidecar.istio.io/proxyCPU": "35m",
    "sidecar.istio.io/proxyMemory": "70Mi",
    "sidecar.istio.io/proxyCPULimit": "500m",
    "sidecar.istio.io/proxyMemoryLimit": "500Mi",
}
PER_POD_RESOURCES = {
    "requests": {"cpu": "35m", "memory": "70Mi"},
    "limits": {"cpu": "500m", "memory": "500Mi"},
}
COMPATIBILITY_METADATA = {
    "ENABLE_DEFERRED_CLUSTER_CREATION": "false",
    "ENABLE_DELIMITED_STATS_TAG_REGEX": "false",
}


def _with_proxy_resources(resources: dict[str, Any]) -> dict[str, Any]:
    return {"components": {"proxy": {"k8s": {"resources": resources}}}}


async def _pass_to_ready(deps: Deps) -> None:
    result = await pipeline.reconcile(NS, "default", deps)
    assert result.state is not None and result.state.value == "Ready", result.description


def _deployment(
    namespace: str, name: str, *, replicas: int = 2, annotations: dict[str, str] | None = None
) -> Deployment:
    labels = {"app": name}
    return Deployment(
        metadata=ObjectMeta(name=name, namespace=namespace),
        spec=DeploymentSpec(
            replicas=replicas,
            selector=LabelSelector(matchLabels=labels),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels=labels, annotations=annotations),
                spec=PodSpec(containers=[Container(name="app", image="registry.k8s.io/pause:3.10")]),
            ),
        ),
    )


def _proxy(pod: Pod) -> Container:
    assert pod.spec is not None
    return next(
        c for c in [*(pod.spec.initContainers or []), *pod.spec.containers] if c.name == "istio-proxy"
    )


def _resources(container: Container) -> dict[str, Any]:
    assert container.resources is not None
    return {"requests": container.resources.requests, "limits": container.resources.limits}


def _env(container: Container) -> dict[str, str]:
    return {item.name: item.value or "" for item in container.env or []}


def _injected_namespace(client: Client, namespace: str) -> None:
    client.patch(Namespace, namespace, {"metadata": {"labels": {"istio-injection": "enabled"}}})


def _rolled_out(client: Client, namespace: str, name: str, check: Callable[[Pod], bool]) -> list[Pod] | None:
    """The Deployment's pods once exactly ``replicas`` Running ones exist and all pass ``check``."""
    deployment = client.get(Deployment, name, namespace=namespace)
    assert deployment.spec is not None
    pods = [
        p
        for p in client.list(Pod, namespace=namespace, labels={"app": name})
        if p.metadata is not None and p.metadata.deletionTimestamp is None
    ]
    ready = len(pods) == deployment.spec.replicas and all(
        p.status is not None and p.status.phase == "Running" and check(p) for p in pods
    )
    return pods if ready else None


def _generation(client: Client, namespace: str, name: str) -> int:
    metadata = client.get(Deployment, name, namespace=namespace).metadata
    assert metadata is not None and metadata.generation is not None
    return metadata.generation


@pytest.fixture
def served(istiod: Istiod, istio_system_settled: None) -> Istiod:
    """The session's istiod; tests wait for it with ``wait_ready`` after their first pass."""
    return istiod


async def test_a_deployment_in_an_injected_namespace_gets_istiods_sidecar_with_the_crs_proxy_resources(
    deps: Deps, served: Istiod, client: Client, namespace: str, wait_for: WaitFor
) -> None:
    await create_cr(deps.kube, "default", _with_proxy_resources(FIRST))
    await _pass_to_ready(deps)
    served.wait_ready()
    _injected_namespace(client, namespace)

    client.create(_deployment(namespace, "app"))

    pods = wait_for("app's pods Running with a sidecar", lambda: _rolled_out(client, namespace, "app", bool))
    for pod in pods:
        proxy = _proxy(pod)
        assert proxy.image == f"{pins.DEFAULT_HUB}/proxyv2:{pins.ISTIO_TAG}"
        assert _resources(proxy) == FIRST
        assert pod.metadata is not None and pod.metadata.annotations is not None
        assert names.SIDECAR_STATUS_ANNOTATION in pod.metadata.annotations


async def test_changing_proxy_resources_rolls_each_affected_workload_once_and_spares_per_pod_resources(
    deps: Deps, served: Istiod, client: Client, namespace: str, wait_for: WaitFor
) -> None:
    await create_cr(deps.kube, "default", _with_proxy_resources(FIRST))
    await _pass_to_ready(deps)
    served.wait_ready()
    _injected_namespace(client, namespace)
    for name in ("first", "second"):
        client.create(_deployment(namespace, name))
    client.create(_deployment(namespace, "pinned", replicas=1, annotations=PER_POD))
    for name in ("first", "second"):
        wait_for(f"{name} injected", lambda n=name: _rolled_out(client, namespace, n, bool))
    pinned = wait_for("pinned injected", lambda: _rolled_out(client, namespace, "pinned", bool))
    assert [_resources(_proxy(pod)) for pod in pinned] == [PER_POD_RESOURCES]
    before = {name: _generation(client, namespace, name) for name in ("first", "second", "pinned")}

    await deps.kube.patch(kinds.ISTIO, "default", {"spec": _with_proxy_resources(SECOND)}, namespace=NS)
    await _pass_to_ready(deps)

    after = {name: _generation(client, namespace, name) for name in before}
    assert after == {"first": before["first"] + 1, "second": before["second"] + 1, "pinned": before["pinned"]}
    for name in ("first", "second"):
        wait_for(
            f"{name} rolled out with the new resources",
            lambda n=name: _rolled_out(client, namespace, n, lambda p: _resources(_proxy(p)) == SECOND),
        )

    await _pass_to_ready(deps)

    assert {name: _generation(client, namespace, name) for name in before} == after


async def test_toggling_compatibility_mode_restarts_each_workload_once_with_the_compatibility_metadata(
    deps: Deps, served: Istiod, client: Client, namespace: str, wait_for: WaitFor
) -> None:
    await create_cr(deps.kube, "default", {})
    await _pass_to_ready(deps)
    served.wait_ready()
    _injected_namespace(client, namespace)
    for name in ("first", "second"):
        client.create(_deployment(namespace, name))
    for name in ("first", "second"):
        pods = wait_for(f"{name} injected", lambda n=name: _rolled_out(client, namespace, n, bool))
        assert not COMPATIBILITY_METADATA.items() <= _env(_proxy(pods[0])).items()
    before = {name: _generation(client, namespace, name) for name in ("first", "second")}

    await deps.kube.patch(kinds.ISTIO, "default", {"spec": {"compatibilityMode": True}}, namespace=NS)
    await _pass_to_ready(deps)

    after = {name: _generation(client, namespace, name) for name in before}
    assert after == {name: generation + 1 for name, generation in before.items()}
    for name in ("first", "second"):
        wait_for(
            f"{name} rolled out with the compatibility proxy metadata",
            lambda n=name: _rolled_out(
                client, namespace, n, lambda p: COMPATIBILITY_METADATA.items() <= _env(_proxy(p)).items()
            ),
        )

    await _pass_to_ready(deps)

    assert {name: _generation(client, namespace, name) for name in before} == after


async def test_an_invalid_virtual_service_is_refused_by_istiods_validating_webhook(
    deps: Deps, served: Istiod, client: Client, namespace: str, wait_for: WaitFor
) -> None:
    await create_cr(deps.kube, "default", {})
    await _pass_to_ready(deps)
    served.wait_ready()
    bundle = base64.b64encode(served.ca_cert).decode()

    def taken_over() -> bool:
        # istiod patches its CA in and turns the webhook to Fail once a dry run proves it answers.
        hooks = [
            h
            for v in client.list(ValidatingWebhookConfiguration, labels={"app": "istiod"})
            for h in v.webhooks or []
        ]
        return bool(hooks) and all(
            h.failurePolicy == "Fail" and h.clientConfig.caBundle == bundle for h in hooks
        )

    wait_for("istiod to own its validating webhook", taken_over)
    invalid = VirtualService(
        metadata=ObjectMeta(name="everything", namespace=namespace),
        spec={"hosts": ["*"], "http": [{"route": [{"destination": {"host": "reviews"}}]}]},
    )

    with pytest.raises(ApiError) as refused:
        client.create(invalid)

    assert refused.value.status.message == (
        'admission webhook "validation.istio.io" denied the request: configuration is invalid: '
        "wildcard host * is not allowed for virtual services bound to the mesh gateway"
    )

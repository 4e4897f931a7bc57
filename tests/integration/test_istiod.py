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
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from istio_fixtures import NS, crd_and_namespace, create_cr, deps, istio_system_settled
from lightkube import ApiError, Client
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.core_v1 import Container
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.admissionregistration_v1 import ValidatingWebhookConfiguration
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace, Pod
from workloads import pause_deployment

from kyma_istio import pins
from kyma_istio.api import names
from kyma_istio.devenv import tools
from kyma_istio.devenv.istiod import Istiod
from kyma_istio.k8s import kinds
from kyma_istio.k8s.kinds import Kind
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
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


async def _install(deps: Deps, istiod: Istiod, spec: dict[str, Any]) -> None:
    """The CR created and reconciled to Ready, and istiod serving that install."""
    await create_cr(deps.kube, "default", spec)
    await _pass_to_ready(deps)
    istiod.wait_ready()


def _proxy(pod: Pod) -> Container:
    assert pod.spec is not None
    containers = [*(pod.spec.initContainers or []), *pod.spec.containers]
    return next(c for c in containers if c.name == "istio-proxy")


def _resources(container: Container) -> dict[str, Any]:
    assert container.resources is not None
    return {"requests": container.resources.requests, "limits": container.resources.limits}


def _has_compatibility_metadata(pod: Pod) -> bool:
    env = {item.name: item.value for item in _proxy(pod).env or []}
    return COMPATIBILITY_METADATA.items() <= env.items()


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


def _run_injected(
    client: Client, namespace: str, wait_for: WaitFor, workloads: dict[str, dict[str, str] | None]
) -> dict[str, list[Pod]]:
    """Label the namespace for injection, create a Deployment per entry (the value: pod-template
    annotations; one replica with annotations, two without) and return each one's Running pods."""
    client.patch(Namespace, namespace, {"metadata": {"labels": {"istio-injection": "enabled"}}})
    for name, template_annotations in workloads.items():
        replicas = 1 if template_annotations else 2
        client.create(pause_deployment(name, namespace, replicas, annotations=template_annotations))
    return {
        name: wait_for(f"{name}'s pods injected", lambda n=name: _rolled_out(client, namespace, n, bool))
        for name in workloads
    }


def _generations(client: Client, namespace: str, workloads: list[str]) -> dict[str, int]:
    """Each Deployment's generation: the operator's restart patches the pod template, adding one."""
    generations: dict[str, int] = {}
    for name in workloads:
        metadata = client.get(Deployment, name, namespace=namespace).metadata
        assert metadata is not None and metadata.generation is not None
        generations[name] = metadata.generation
    return generations


async def _change_and_roll(
    deps: Deps, client: Client, namespace: str, spec: dict[str, Any], expected: dict[str, int]
) -> dict[str, int]:
    """Patch the CR's spec, run a pass and return the generations, which must be ``expected``."""
    await deps.kube.patch(kinds.ISTIO, "default", {"spec": spec}, namespace=NS)
    await _pass_to_ready(deps)
    after = _generations(client, namespace, list(expected))
    assert after == expected
    return after


@pytest.fixture(scope="module", autouse=True)
def purged_afterwards(istioctl_env: dict[str, str]) -> Iterator[None]:
    """Istio is removed after this module (its passes leave it installed, with istiod's webhooks set to
    Fail), so later modules start from a cluster without Istio."""
    yield
    istioctl = str(tools.find_tool("istioctl"))
    purged = subprocess.run(
        [istioctl, "uninstall", "-y", "--purge"],
        env=istioctl_env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert purged.returncode == 0, purged.stderr


@pytest.fixture
def served(istiod: Istiod, istio_system_settled: None) -> Istiod:
    """The session's istiod; tests wait for it with ``wait_ready`` after their first pass."""
    return istiod


async def test_a_deployment_in_an_injected_namespace_gets_istiods_sidecar_with_the_crs_proxy_resources(
    deps: Deps, served: Istiod, client: Client, namespace: str, wait_for: WaitFor
) -> None:
    await _install(deps, served, _with_proxy_resources(FIRST))

    pods = _run_injected(client, namespace, wait_for, {"app": None})

    for pod in pods["app"]:
        proxy = _proxy(pod)
        assert proxy.image == f"{pins.DEFAULT_HUB}/proxyv2:{DEFAULT_LINE.tag}"
        assert _resources(proxy) == FIRST
        assert pod.metadata is not None and pod.metadata.annotations is not None
        assert names.SIDECAR_STATUS_ANNOTATION in pod.metadata.annotations


async def test_changing_proxy_resources_rolls_each_affected_workload_once_and_spares_per_pod_resources(
    deps: Deps, served: Istiod, client: Client, namespace: str, wait_for: WaitFor
) -> None:
    await _install(deps, served, _with_proxy_resources(FIRST))
    pods = _run_injected(client, namespace, wait_for, {"first": None, "second": None, "pinned": PER_POD})
    assert [_resources(_proxy(pod)) for pod in pods["pinned"]] == [PER_POD_RESOURCES]
    before = _generations(client, namespace, ["first", "second", "pinned"])

    after = await _change_and_roll(
        deps,
        client,
        namespace,
        _with_proxy_resources(SECOND),
        {"first": before["first"] + 1, "second": before["second"] + 1, "pinned": before["pinned"]},
    )

    for name in ("first", "second"):
        wait_for(
            f"{name} rolled out with the new resources",
            lambda n=name: _rolled_out(client, namespace, n, lambda p: _resources(_proxy(p)) == SECOND),
        )
    await _pass_to_ready(deps)
    assert _generations(client, namespace, list(before)) == after


async def test_toggling_compatibility_mode_restarts_each_workload_once_with_the_compatibility_metadata(
    deps: Deps, served: Istiod, client: Client, namespace: str, wait_for: WaitFor
) -> None:
    await _install(deps, served, {})
    pods = _run_injected(client, namespace, wait_for, {"first": None, "second": None})
    assert not any(_has_compatibility_metadata(pod) for pod in pods["first"] + pods["second"])
    before = _generations(client, namespace, ["first", "second"])

    after = await _change_and_roll(
        deps, client, namespace, {"compatibilityMode": True}, {name: g + 1 for name, g in before.items()}
    )

    for name in ("first", "second"):
        wait_for(
            f"{name} rolled out with the compatibility proxy metadata",
            lambda n=name: _rolled_out(client, namespace, n, _has_compatibility_metadata),
        )
    await _pass_to_ready(deps)
    assert _generations(client, namespace, list(before)) == after


DNS_CAPTURE = "ISTIO_META_DNS_CAPTURE"


def _dns_capture(pod: Pod) -> str | None:
    """The proxy's ``ISTIO_META_DNS_CAPTURE``, which the injector copies from the mesh's proxy metadata."""
    env = {item.name: item.value for item in _proxy(pod).env or []}
    return env.get(DNS_CAPTURE)


def _captures(value: str) -> Callable[[Pod], bool]:
    return lambda pod: _dns_capture(pod) == value


def _record_patches(deps: Deps) -> list[tuple[str, str, str | None]]:
    """Every patch the pass sends from now on, in order, as (plural, name, namespace)."""
    sent: list[tuple[str, str, str | None]] = []
    original = deps.kube.patch

    async def patch(kind: Kind, name: str, body: Any, *, namespace: str | None = None, **kw: Any) -> Any:
        sent.append((kind.plural, name, namespace))
        return await original(kind, name, body, namespace=namespace, **kw)

    deps.kube.patch = patch  # type: ignore[method-assign]
    return sent


async def test_toggling_dns_proxying_restarts_each_injected_owner_once_kyma_module_workloads_first(
    deps: Deps, served: Istiod, client: Client, namespace: str, wait_for: WaitFor
) -> None:
    await _install(deps, served, {})
    client.patch(Namespace, namespace, {"metadata": {"labels": {"istio-injection": "enabled"}}})
    # By name the module's workload would come last; its label puts it first.
    labels: dict[str, dict[str, str] | None] = {
        "alpha": None,
        "beta": None,
        "zz-module": {names.MODULE_LABEL: "telemetry"},
    }
    for name, extra in labels.items():
        client.create(pause_deployment(name, namespace, 1, labels=extra))
    workloads = list(labels)
    for name in workloads:
        pods = wait_for(f"{name}'s pods injected", lambda n=name: _rolled_out(client, namespace, n, bool))
        assert [_dns_capture(pod) for pod in pods] == [None]
    sent = _record_patches(deps)

    for value in (True, False):
        before = _generations(client, namespace, workloads)
        sent.clear()

        after = await _change_and_roll(
            deps,
            client,
            namespace,
            {"config": {"enableDNSProxying": value}},
            {name: generation + 1 for name, generation in before.items()},
        )

        restarted = [name for plural, name, ns in sent if plural == "deployments" and ns == namespace]
        assert restarted == ["zz-module", "alpha", "beta"]
        captured = _captures(str(value).lower())
        for name in workloads:
            wait_for(
                f"{name} rolled out with {DNS_CAPTURE}={value}",
                lambda n=name, c=captured: _rolled_out(client, namespace, n, c),
            )
        await _pass_to_ready(deps)
        assert _generations(client, namespace, workloads) == after


async def test_an_invalid_virtual_service_is_refused_by_istiods_validating_webhook(
    deps: Deps, served: Istiod, client: Client, namespace: str, wait_for: WaitFor
) -> None:
    await _install(deps, served, {})
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


def test_istiod_dials_nothing_outside_the_private_namespace(served: Istiod) -> None:
    # Only lo exists here, so any dial of an address that is not on it fails at once with "network is
    # unreachable", which Go's dialers log; istiod must have needed none (no cloud metadata, no JWKS).
    log = served.log.read_text(errors="replace")

    assert served.starts >= 1
    assert "network is unreachable" not in log

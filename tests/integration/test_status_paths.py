"""Every status path of an install pass through the real reconciler, the real istioctl and the real API
server. Failures are the API server's own: a ValidatingAdmissionPolicy refuses one write
(``refusals.refusing``), or a ServiceAccount lacks one right. One Istio install is shared by the module;
each test breaks one thing, runs a pass, reads the CR as the server stores it, and leaves the install
Ready again with a clean pass.
"""

from __future__ import annotations

import asyncio
import threading
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
    token_kubeconfig,
    wait_istio_system_settled,
)
from lightkube import Client, codecs
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Event, Namespace, Pod, ServiceAccount
from lightkube.types import PatchType
from refusals import refusing, rule

from kyma_istio.api import names
from kyma_istio.k8s import kinds
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.operator import rbac
from kyma_istio.reconcile import pipeline
from kyma_istio.reconcile.context import Deps, Settings

pytestmark = pytest.mark.integration

__all__ = ["crd_and_namespace"]  # fixtures used by name

IstioCR = create_namespaced_resource(names.GROUP, names.VERSION, names.KIND, names.PLURAL)
PEER_AUTHENTICATION = kinds.Kind("security.istio.io", "v1", "PeerAuthentication", "peerauthentications")
OLD_PROXY = "docker.io/istio/proxyv2:1.22.0-distroless"
WaitFor = Callable[..., Any]


@pytest.fixture(scope="module")
async def shared(kubeconfig: Path, client: Client, crd_and_namespace: None) -> AsyncIterator[Deps]:
    """One reconciler and one Istio CR, installed to Ready, for the whole module."""
    wait_istio_system_settled(client)  # an earlier module may have just deleted it
    deps = make_deps(kubeconfig)
    await drop_all_crs(deps.kube)
    await create_cr(deps.kube, "default", {})
    await _pass_to_ready(deps)
    yield deps
    await drop_all_crs(deps.kube)
    await deps.kube.close()


async def _pass(deps: Deps) -> pipeline.PassResult:
    return await pipeline.reconcile(NS, "default", deps)


async def _pass_to_ready(deps: Deps) -> None:
    result = await _pass(deps)
    assert result.state is not None and result.state.value == "Ready", result.description


async def _failed_with(deps: Deps, state: str, prefix: str, reason: str | None) -> dict[str, Any]:
    """Run a pass that must stop at ``prefix``; the CR as stored (its Ready reason checked unless None)."""
    await _pass(deps)
    cr = await get_cr(deps.kube)
    assert cr["status"]["state"] == state, cr["status"]
    assert cr["status"]["description"].startswith(prefix), cr["status"]
    if reason is not None:
        assert condition(cr, "Ready")["reason"] == reason, cr["status"]
    return cr


async def _refused_pass(
    deps: Deps,
    client: Client,
    namespace: str,
    refusal: tuple[list[dict[str, Any]], str],
    expected: tuple[str, str],
) -> dict[str, Any]:
    """A pass while the API server refuses ``refusal`` (match rules, CEL for what stays allowed): an Error
    whose description starts with the ``expected`` prefix and quotes the refusal, with the expected Ready
    reason."""
    prefix, reason = expected
    rules, allowed = refusal
    message = f"refused by the test {namespace}"
    with refusing(client, namespace, rules, allowed, message):
        cr = await _failed_with(deps, "Error", prefix, reason)
    assert message in cr["status"]["description"], cr["status"]
    return cr


def _without_label(name: str, label: str) -> str:
    """CEL: the object is not ``name``, or it has no ``label`` (what stays allowed)."""
    return (
        f"object.metadata.name != '{name}' || !has(object.metadata.labels) "
        f"|| !('{label}' in object.metadata.labels)"
    )


# --- the status the server stores -------------------------------------------------------------------


@pytest.fixture
def stored_statuses(client: Client) -> Iterator[list[dict[str, Any]]]:
    """Every status of the CR the API server stores while the test runs, in order (a watch)."""
    seen: list[dict[str, Any]] = []
    start = client.get(IstioCR, "default", namespace=NS).metadata.resourceVersion
    stop = threading.Event()

    def watch() -> None:
        for _, obj in client.watch(IstioCR, namespace=NS, resource_version=start):
            seen.append(obj.to_dict().get("status") or {})
            if stop.is_set():
                return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    yield seen
    stop.set()


async def test_a_spec_change_stores_processing_with_reconcile_unknown_then_the_experimental_warning(
    shared: Deps, stored_statuses: list[dict[str, Any]], wait_for: WaitFor
) -> None:
    experimental = {"pilot": {"enableAlphaGatewayAPI": True}}
    await shared.kube.patch(kinds.ISTIO, "default", {"spec": {"experimental": experimental}}, namespace=NS)

    result = await _pass(shared)

    cr = await get_cr(shared.kube)
    wait_for("the final status in the watch", lambda: stored_statuses and stored_statuses[-1] == cr["status"])
    processing = next(s for s in stored_statuses if s.get("state") == "Processing")
    assert processing["description"] == "Reconciling Istio"
    ready = next(c for c in processing["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("Unknown", "ReconcileUnknown")
    assert ready["message"].startswith("Module readiness is unknown.")
    # Experimental fields on a non-experimental operator: a Warning, but Istio itself is fine.
    assert cr["status"]["state"] == "Warning"
    assert cr["status"]["description"] == (
        "Experimental features are not supported in this image flavour: "
        "istio CR contains experimental feature"
    )
    assert (condition(cr, "Ready")["status"], condition(cr, "Ready")["reason"]) == (
        "True",
        "ReconcileSucceeded",
    )
    assert result.requeue_after is None

    await shared.kube.patch(kinds.ISTIO, "default", {"spec": {"experimental": None}}, namespace=NS)
    await _pass_to_ready(shared)


# --- install steps ------------------------------------------------------------------------------------


async def test_a_refused_finalizer_patch_is_an_error(shared: Deps, client: Client, namespace: str) -> None:
    await shared.kube.patch(kinds.ISTIO, "default", {"metadata": {"finalizers": None}}, namespace=NS)
    allowed = "has(oldObject.metadata.finalizers) || !has(object.metadata.finalizers)"
    refusal = ([rule(names.GROUP, names.PLURAL, "UPDATE")], allowed)

    cr = await _refused_pass(
        shared, client, namespace, refusal, ("Could not add finalizer: ", "IstioInstallUninstallFailed")
    )

    assert "finalizers" not in cr["metadata"]
    await _pass_to_ready(shared)
    assert names.FINALIZER in (await get_cr(shared.kube))["metadata"]["finalizers"]


def _namespace_meta(client: Client) -> ObjectMeta:
    meta = client.get(Namespace, names.ISTIO_NAMESPACE).metadata
    assert meta is not None
    return meta


async def test_istio_system_carries_the_warden_label_and_disclaimer_and_a_refused_label_is_an_error(
    shared: Deps, client: Client, namespace: str
) -> None:
    meta = _namespace_meta(client)
    assert (meta.labels or {})[names.WARDEN_LABEL] == "enabled"
    assert (meta.annotations or {})[names.DISCLAIMER_ANNOTATION] == (
        "DO NOT EDIT - This resource is managed by Kyma.\n"
        "Any modifications are discarded and the resource is reverted to the original state.\n"
    )
    client.patch(
        Namespace,
        names.ISTIO_NAMESPACE,
        {"metadata": {"labels": {names.WARDEN_LABEL: None}}},
        patch_type=PatchType.MERGE,
    )
    refusal = ([rule("", "namespaces", "UPDATE")], _without_label(names.ISTIO_NAMESPACE, names.WARDEN_LABEL))

    expected = ("Could not add warden validation label: ", "IstioInstallUninstallFailed")
    await _refused_pass(shared, client, namespace, refusal, expected)

    await _pass_to_ready(shared)
    assert (_namespace_meta(client).labels or {})[names.WARDEN_LABEL] == "enabled"


async def test_a_refused_module_label_on_istios_objects_is_an_error(
    shared: Deps, client: Client, namespace: str
) -> None:
    client.patch(
        Deployment,
        "istiod",
        {"metadata": {"labels": {names.MODULE_LABEL: None}}},
        namespace=names.ISTIO_NAMESPACE,
        patch_type=PatchType.MERGE,
    )
    refusal = ([rule("apps", "deployments", "UPDATE")], _without_label("istiod", names.MODULE_LABEL))

    expected = ("could not update managed metadata: ", "IstioInstallUninstallFailed")
    await _refused_pass(shared, client, namespace, refusal, expected)

    await _pass_to_ready(shared)
    istiod = client.get(Deployment, "istiod", namespace=names.ISTIO_NAMESPACE)
    assert istiod.metadata is not None and istiod.metadata.labels is not None
    assert istiod.metadata.labels[names.MODULE_LABEL] == names.MODULE_LABEL_VALUE


async def test_a_refused_managed_resource_is_an_error_of_its_own_reason(
    shared: Deps, client: Client, namespace: str
) -> None:
    await shared.kube.delete(PEER_AUTHENTICATION, "default", namespace=names.ISTIO_NAMESPACE)
    refusal = ([rule("security.istio.io", "peerauthentications", "CREATE", "UPDATE")], "false")

    expected = (
        "Could not reconcile Istio resource PeerAuthentication/default: ",
        "CustomResourcesReconcileFailed",
    )
    await _refused_pass(shared, client, namespace, refusal, expected)

    await _pass_to_ready(shared)
    assert await shared.kube.get(PEER_AUTHENTICATION, "default", names.ISTIO_NAMESPACE) is not None


async def test_pods_of_another_version_after_install_fail_verification(
    shared: Deps, client: Client, wait_for: WaitFor
) -> None:
    pod = next(iter(client.list(Pod, namespace=names.ISTIO_NAMESPACE, labels={"app": "istiod"})))
    assert pod.metadata is not None and pod.spec is not None
    old = pod.spec.containers[0].image.rsplit(":", 1)[0] + ":1.22.1-distroless"
    client.patch(
        Pod,
        pod.metadata.name,
        {"spec": {"containers": [{"name": "discovery", "image": old}]}},
        namespace=names.ISTIO_NAMESPACE,
        patch_type=PatchType.STRATEGIC,
    )

    cr = await _failed_with(
        shared,
        "Error",
        "Verifying Pod versions in istio-system namespace failed: ",
        "IstioInstallUninstallFailed",
    )

    assert "1.22.1" in cr["status"]["description"]
    client.delete(Pod, pod.metadata.name, namespace=names.ISTIO_NAMESPACE)
    wait_for(
        "a new istiod pod",
        lambda: [
            p
            for p in client.list(Pod, namespace=names.ISTIO_NAMESPACE, labels={"app": "istiod"})
            if p.metadata and p.metadata.name != pod.metadata.name and not p.metadata.deletionTimestamp
        ],
        timeout=120,
    )
    await _pass_to_ready(shared)


def _tagged_default_webhook(name: str) -> dict[str, Any]:
    """A revision-tag injector config (``istio.io/tag=default``) that a half-done move between the two
    injector wirings leaves behind; its webhook matches no namespace, so it is inert here."""
    never = {"matchLabels": {"kyma-istio.test/never": "match"}}
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": name, "labels": {"istio.io/rev": "default", "istio.io/tag": "default"}},
        "webhooks": [
            {
                "name": "rev.namespace.sidecar-injector.istio.io",
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "failurePolicy": "Ignore",
                "clientConfig": {"url": "https://127.0.0.1:9/inject"},
                "namespaceSelector": never,
                "objectSelector": never,
                "rules": [
                    {
                        "operations": ["CREATE"],
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "resources": ["pods"],
                    }
                ],
            }
        ],
    }


async def test_an_install_that_times_out_on_readiness_is_an_error_and_tagged_webhooks_are_cleaned(
    shared: Deps, client: Client, kubeconfig: Path, namespace: str
) -> None:
    tagged = f"kyma-istio-test-tag-{namespace}"[:63]
    client.create(codecs.from_dict(_tagged_default_webhook(tagged)))
    pilot = {"pilot": {"k8s": {"resources": {"requests": {"cpu": "150m"}}}}}
    await shared.kube.patch(kinds.ISTIO, "default", {"spec": {"components": pilot}}, namespace=NS)
    impatient = make_deps(kubeconfig, Settings(readiness_timeout_s=15))
    # istiod's new ReplicaSet may not create its pod, so the rollout can never become ready.
    allowed = (
        "!has(object.metadata.labels) || !('app' in object.metadata.labels) "
        "|| object.metadata.labels['app'] != 'istiod'"
    )
    try:
        with refusing(client, namespace, [rule("", "pods", "CREATE")], allowed, "no istiod pods"):
            await pipeline.reconcile(NS, "default", impatient)
    finally:
        await impatient.kube.close()

    cr = await get_cr(shared.kube)
    assert cr["status"]["state"] == "Error", cr["status"]
    assert cr["status"]["description"].startswith("Could not install Istio: "), cr["status"]
    assert "Istiod not ready" in cr["status"]["description"], cr["status"]
    assert condition(cr, "Ready")["reason"] == "IstioInstallUninstallFailed"
    assert await shared.kube.get(kinds.MUTATING_WEBHOOK, tagged) is None
    assert await shared.kube.get(kinds.MUTATING_WEBHOOK, "istio-sidecar-injector") is not None
    await shared.kube.patch(kinds.ISTIO, "default", {"spec": {"components": None}}, namespace=NS)
    await _pass_to_ready(shared)


# --- restarts -----------------------------------------------------------------------------------------


def _outdated_template(app: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": app}, "annotations": {names.SIDECAR_STATUS_ANNOTATION: "{}"}},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {"name": "app", "image": "registry.example/app:1"},
                {"name": names.PROXY_CONTAINER, "image": OLD_PROXY},
            ],
        },
    }


def outdated_deployment(client: Client, namespace: str, name: str, *, min_ready_s: int = 0) -> None:
    """A Deployment whose pod runs the sidecar of an older Istio. With ``min_ready_s`` a new pod counts
    as available only that long after it is ready, so a rollout stays unhealthy that long."""
    client.create(
        codecs.from_dict(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {
                    "selector": {"matchLabels": {"app": name}},
                    "template": _outdated_template(name),
                    "minReadySeconds": min_ready_s,
                    # The API server wants the progress deadline beyond the minimum ready time.
                    "progressDeadlineSeconds": min_ready_s + 600,
                },
            }
        )
    )


def outdated_bare_pod(client: Client, namespace: str, name: str) -> None:
    """A Pod without an owner running an older sidecar: nobody but its user can restart it."""
    client.create(
        codecs.from_dict(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                **_outdated_template(name),
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "annotations": {names.SIDECAR_STATUS_ANNOTATION: "{}"},
                },
            }
        )
    )


def running_pods(client: Client, namespace: str, count: int) -> Callable[[], bool]:
    def check() -> bool:
        pods = [p for p in client.list(Pod, namespace=namespace) if p.status and p.status.phase == "Running"]
        return len(pods) >= count

    return check


async def test_a_refused_gateway_restart_is_an_error_and_the_next_pass_restarts_it(
    shared: Deps, client: Client, namespace: str
) -> None:
    await shared.kube.patch(
        kinds.ISTIO, "default", {"spec": {"config": {"numTrustedProxies": 2}}}, namespace=NS
    )
    stamp = f"'{names.RESTARTED_AT_ANNOTATION}'"

    def restarted_at(template: str) -> str:
        annotations = f"{template}.annotations"
        return f"(has({annotations}) && {stamp} in {annotations} ? {annotations}[{stamp}] : '')"

    allowed = (
        "object.metadata.name != 'istio-ingressgateway' || "
        f"{restarted_at('object.spec.template.metadata')} "
        f"== {restarted_at('oldObject.spec.template.metadata')}"
    )
    refusal = ([rule("apps", "deployments", "UPDATE")], allowed)

    expected = ("Failed to restart Ingress Gateway: ", "IngressGatewayRestartFailed")
    await _refused_pass(shared, client, namespace, refusal, expected)

    await asyncio.sleep(1.1)  # restartedAt has second precision
    await _pass_to_ready(shared)
    gateway = client.get(Deployment, "istio-ingressgateway", namespace=names.ISTIO_NAMESPACE)
    assert gateway.spec is not None and gateway.spec.template.metadata is not None
    assert names.RESTARTED_AT_ANNOTATION in (gateway.spec.template.metadata.annotations or {})
    await shared.kube.patch(kinds.ISTIO, "default", {"spec": {"config": None}}, namespace=NS)
    await _pass_to_ready(shared)


async def test_a_restart_limit_below_the_work_is_processing_requeued_at_once_when_healthy_then_ready(
    shared: Deps, client: Client, kubeconfig: Path, namespace: str, wait_for: WaitFor
) -> None:
    for name in ("first", "second"):
        outdated_deployment(client, namespace, name)
    wait_for("both outdated pods running", running_pods(client, namespace, 2), timeout=120)
    capped = make_deps(kubeconfig, Settings(restart_limit=1, restart_wave_timeout_s=60))
    try:
        result = await pipeline.reconcile(NS, "default", capped)

        assert result.state is not None and result.state.value == "Processing"
        # The chunk's rollout became healthy within the pass, so the next chunk follows at once (ADR 15).
        assert result.requeue_after == capped.settings.chunk_requeue_s == 1.0
        cr = await get_cr(capped.kube)
        assert cr["status"]["state"] == "Processing"
        assert (condition(cr, "Ready")["status"], condition(cr, "Ready")["reason"]) == (
            "False",
            "ReconcileRequeued",
        )
        assert (
            condition(cr, "ProxySidecarRestartSucceeded")["reason"] == "ProxySidecarRestartPartiallySucceeded"
        )

        again = await pipeline.reconcile(NS, "default", capped)

        assert again.state is not None and again.state.value == "Ready", again.description
        stamped = [
            d
            for d in client.list(Deployment, namespace=namespace)
            if names.RESTART_TARGET_ANNOTATION
            in ((d.spec.template.metadata.annotations or {}) if d.spec and d.spec.template.metadata else {})
        ]
        assert len(stamped) == 2
    finally:
        await capped.kube.close()


async def test_a_chunk_whose_rollout_stays_unhealthy_is_requeued_after_60_seconds(
    shared: Deps, client: Client, kubeconfig: Path, namespace: str, wait_for: WaitFor
) -> None:
    for name in ("first", "second"):
        outdated_deployment(client, namespace, name, min_ready_s=3600)
    wait_for("both outdated pods running", running_pods(client, namespace, 2), timeout=120)
    capped = make_deps(kubeconfig, Settings(restart_limit=1, restart_wave_timeout_s=3))
    try:
        result = await pipeline.reconcile(NS, "default", capped)

        assert result.state is not None and result.state.value == "Processing"
        assert result.requeue_after == capped.settings.partial_requeue_s == 60
        cr = await get_cr(capped.kube)
        assert condition(cr, "Ready")["reason"] == "ReconcileRequeued"
        slow = [
            e
            for e in client.list(Event, namespace=NS)
            if e.reason == "RolloutSlow" and e.message and namespace in e.message
        ]
        assert slow, "the unhealthy rollout is reported"
    finally:
        await capped.kube.close()


async def test_six_pods_without_an_owner_are_a_warning_naming_five(
    shared: Deps, client: Client, namespace: str, wait_for: WaitFor
) -> None:
    pods = [f"bare-{index}" for index in range(6)]
    for name in pods:
        outdated_bare_pod(client, namespace, name)
    wait_for("six bare pods running", running_pods(client, namespace, 6), timeout=120)

    cr = await _failed_with(
        shared,
        "Warning",
        "Not all pods with Istio injection could be restarted.",
        None,  # Ready carries the gateway restarter's reason, as in the reference
    )

    sidecars = condition(cr, "ProxySidecarRestartSucceeded")
    assert sidecars["reason"] == "ProxySidecarManualRestartRequired"
    message = sidecars["message"]
    prefix = "The sidecars of the following workloads could not be restarted: "
    assert message.startswith(prefix), message
    assert message.endswith(" and 1 additional workload(s)"), message
    listed = message.removeprefix(prefix).removesuffix(" and 1 additional workload(s)").split(", ")
    assert len(listed) == 5
    assert set(listed) <= {f"{namespace}/{name}" for name in pods}

    for name in pods:
        client.delete(Pod, name, namespace=namespace, grace_period=0)
    wait_for("bare pods gone", lambda: not list(client.list(Pod, namespace=namespace)), timeout=120)
    await _pass_to_ready(shared)


# --- a listing the operator may not make --------------------------------------------------------------


RBAC = "rbac.authorization.k8s.io"


def _rbac_objects(name: str, cluster_rules: list[dict[str, Any]], account: str, namespace: str) -> list[Any]:
    """The operator's roles (cluster, istio-system, kyma-system) named ``name``, bound to the account."""
    subjects = [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]
    roles = [
        ("ClusterRole", None, cluster_rules),
        ("Role", names.ISTIO_NAMESPACE, rbac.istio_namespace_rules()),
        ("Role", NS, rbac.namespace_rules()),
    ]
    objects = []
    for kind, role_namespace, rules in roles:
        meta = {"name": name, **({"namespace": role_namespace} if role_namespace else {})}
        objects.append({"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": meta, "rules": rules})
        binding = {"apiGroup": RBAC, "kind": kind, "name": name}
        objects.append(
            {
                "apiVersion": f"{RBAC}/v1",
                "kind": f"{kind}Binding",
                "metadata": meta,
                "roleRef": binding,
                "subjects": subjects,
            }
        )
    return [codecs.from_dict(obj) for obj in objects]


@pytest.fixture
def operator_that_may_not_list(
    client: Client, kubeconfig: Path, namespace: str, tmp_path: Path
) -> Iterator[Callable[[str], Path]]:
    """``(resource) -> kubeconfig`` of a ServiceAccount holding the operator's rules (docs/security.md)
    except listing ``resource`` cluster-wide; its roles are removed afterwards."""
    created: list[Any] = []

    def make(resource: str) -> Path:
        cluster_rules = []
        for entry in rbac.cluster_rules():
            kept = entry
            if resource in entry["resources"] and "list" in entry["verbs"]:
                kept = {**entry, "resources": [r for r in entry["resources"] if r != resource]}
            if kept["resources"]:
                cluster_rules.append(kept)
        account = f"no-{resource}-list"
        client.create(ServiceAccount(metadata=ObjectMeta(name=account, namespace=namespace)))
        for obj in _rbac_objects(f"{account}-{namespace}"[:63], cluster_rules, account, namespace):
            created.append(client.create(obj))
        return token_kubeconfig(client, kubeconfig, account, namespace, tmp_path / f"{account}.kubeconfig")

    yield make
    for obj in created:
        client.delete(type(obj), obj.metadata.name, namespace=obj.metadata.namespace)


async def _pass_as(kubeconfig: Path) -> None:
    limited = make_deps(kubeconfig)
    try:
        await pipeline.reconcile(NS, "default", limited)
    finally:
        await limited.kube.close()


async def test_a_refused_node_listing_reads_as_the_flavour_evaluation_failing(
    shared: Deps, operator_that_may_not_list: Callable[[str], Path]
) -> None:
    await _pass_as(operator_that_may_not_list("nodes"))

    cr = await get_cr(shared.kube)
    assert cr["status"]["state"] == "Error"
    assert cr["status"]["description"].startswith("Could not evaluate cluster flavour: "), cr["status"]
    assert condition(cr, "Ready")["reason"] == "IstioInstallUninstallFailed"
    await _pass_to_ready(shared)


async def test_a_refused_sidecar_listing_is_a_restart_error(
    shared: Deps, operator_that_may_not_list: Callable[[str], Path]
) -> None:
    await _pass_as(operator_that_may_not_list("pods"))

    cr = await get_cr(shared.kube)
    assert cr["status"]["state"] == "Error"
    assert cr["status"]["description"].startswith("Error occurred during reconciliation of Istio Sidecars: ")
    assert condition(cr, "ProxySidecarRestartSucceeded")["reason"] == "ProxySidecarRestartFailed"
    await _pass_to_ready(shared)


# --- version rule -------------------------------------------------------------------------------------

_MAJOR, _MINOR, _ = DEFAULT_LINE.version.split(".")
NEXT_MINOR = f"{_MAJOR}.{int(_MINOR) + 1}.0-distroless"
"""A release of the minor after the default line's: a downgrade for it."""


@pytest.mark.parametrize(
    ("last_tag", "why"),
    [
        # A later minor than the default line (a later patch of its own minor would be kept, ADR 19).
        (NEXT_MINOR, f"is lower than current version ({NEXT_MINOR}) - downgrade not supported"),
        (
            "0.23.2-distroless",
            "is different than current Istio version (0.23.2-distroless) "
            "- major version upgrade is not supported",
        ),
    ],
)
async def test_a_downgrade_or_a_major_change_is_refused_and_istio_is_left_alone(
    shared: Deps, client: Client, last_tag: str, why: str
) -> None:
    cr = await get_cr(shared.kube)
    applied = cr["metadata"]["annotations"][names.LAST_APPLIED_ANNOTATION]
    changed = applied.replace(DEFAULT_LINE.tag, last_tag)
    assert changed != applied
    await shared.kube.patch(
        kinds.ISTIO,
        "default",
        {"metadata": {"annotations": {names.LAST_APPLIED_ANNOTATION: changed}}},
        namespace=NS,
    )
    before = client.get(Deployment, "istiod", namespace=names.ISTIO_NAMESPACE).metadata
    assert before is not None

    refused = await _failed_with(
        shared, "Warning", "Istio version update is not allowed: ", "IstioVersionUpdateNotAllowed"
    )

    assert refused["status"]["description"] == (
        f"Istio version update is not allowed: target Istio version ({DEFAULT_LINE.tag}) {why}"
    )
    after = client.get(Deployment, "istiod", namespace=names.ISTIO_NAMESPACE).metadata
    assert after is not None and after.generation == before.generation
    await shared.kube.patch(
        kinds.ISTIO,
        "default",
        {"metadata": {"annotations": {names.LAST_APPLIED_ANNOTATION: applied}}},
        namespace=NS,
    )
    await _pass_to_ready(shared)

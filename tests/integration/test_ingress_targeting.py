"""User EnvoyFilters on the ingress gateway against the real API server, istioctl and istiod: a filter
that selects the gateway turns the Ready CR into a Warning naming it (with an Event), removing it returns
the CR to Ready, and filters that are not a user's patch of the gateway never warn. One Istio install is
shared by the module; each test leaves the CR Ready again."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
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
    no_istio_left,
    token_kubeconfig,
    wait_istio_system_settled,
)
from lightkube import Client, codecs
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Event, ServiceAccount

from kyma_istio.api import names
from kyma_istio.k8s import errors
from kyma_istio.operator import rbac
from kyma_istio.reconcile import pipeline
from kyma_istio.reconcile.context import Deps
from kyma_istio.resources.user_targeting import ENVOY_FILTER

pytestmark = pytest.mark.integration

__all__ = ["crd_and_namespace", "no_istio_left"]  # fixtures used by name

TARGETING = "IngressTargetingUserResourceFound"
PREFIX = "misconfigured EnvoyFilter can potentially break Istio Ingress Gateway: "


@pytest.fixture(scope="module")
async def shared(
    kubeconfig: Path, client: Client, crd_and_namespace: None, no_istio_left: None
) -> AsyncIterator[Deps]:
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


async def _pass_to_ready(deps: Deps) -> dict[str, Any]:
    result = await _pass(deps)
    assert result.state is not None and result.state.value == "Ready", result.description
    return await get_cr(deps.kube)


def _envoy_filter(
    name: str, *, namespace: str = names.ISTIO_NAMESPACE, selector: dict[str, str], **meta: Any
) -> dict[str, Any]:
    """A valid EnvoyFilter (istiod's webhook validates it) that renames the gateway's HTTP server."""
    hcm = "envoy.filters.network.http_connection_manager"
    return {
        "apiVersion": ENVOY_FILTER.api_version,
        "kind": ENVOY_FILTER.kind,
        "metadata": {"name": name, "namespace": namespace, **meta},
        "spec": {
            "workloadSelector": {"labels": selector},
            "configPatches": [
                {
                    "applyTo": "NETWORK_FILTER",
                    "match": {"context": "GATEWAY", "listener": {"filterChain": {"filter": {"name": hcm}}}},
                    "patch": {
                        "operation": "MERGE",
                        "value": {
                            "typed_config": {
                                "@type": "type.googleapis.com/envoy.extensions.filters.network."
                                "http_connection_manager.v3.HttpConnectionManager",
                                "server_name": "test",
                            }
                        },
                    },
                }
            ],
        },
    }


@contextlib.asynccontextmanager
async def _filters(deps: Deps, *filters: dict[str, Any]) -> AsyncIterator[None]:
    """The EnvoyFilters exist inside the block and are deleted after it."""
    for obj in filters:
        await deps.kube.create(ENVOY_FILTER, obj)
    try:
        yield
    finally:
        for obj in filters:
            with contextlib.suppress(errors.NotFound):
                await deps.kube.delete(
                    ENVOY_FILTER, obj["metadata"]["name"], namespace=obj["metadata"]["namespace"]
                )


def _found_events(client: Client, name: str) -> list[Event]:
    return [
        event
        for event in client.list(Event, namespace=NS)
        if event.reason == TARGETING and event.message and name in event.message
    ]


async def test_a_ready_install_without_user_filters_reports_none_found(shared: Deps) -> None:
    cr = await _pass_to_ready(shared)

    found = condition(cr, TARGETING)
    assert (found["status"], found["reason"]) == ("False", "IngressTargetingUserResourceNotFound")
    assert cr["status"]["description"] == ""


async def test_a_user_filter_on_the_gateway_warns_and_removing_it_clears_the_warning(
    shared: Deps, client: Client
) -> None:
    name = "user-lua-on-ingress"
    async with _filters(shared, _envoy_filter(name, selector={"istio": "ingressgateway"})):
        result = await _pass(shared)

        cr = await get_cr(shared.kube)
        assert cr["status"]["state"] == "Warning", cr["status"]
        assert cr["status"]["description"] == (
            f"{PREFIX}user-created EnvoyFilter istio-system/{name} targeting Ingress Gateway found"
        )
        found = condition(cr, TARGETING)
        assert (found["status"], found["reason"], found["message"]) == (
            "True",
            "IngressTargetingUserResourceFound",
            "Resource targeting Istio Ingress Gateway found",
        )
        assert (condition(cr, "Ready")["status"], condition(cr, "Ready")["reason"]) == (
            "True",
            "ReconcileSucceeded",
        )
        assert result.warning and not result.failed
        assert result.requeue_after == pipeline.WARNING_REQUEUE_S
        [event] = _found_events(client, f"istio-system/{name}")
        assert event.type == "Warning"

        # The retry finds the same filter: nothing is written, no second Event.
        version = cr["metadata"]["resourceVersion"]
        again = await _pass(shared)
        assert again.warning
        assert (await get_cr(shared.kube))["metadata"]["resourceVersion"] == version
        assert len(_found_events(client, f"istio-system/{name}")) == 1
        assert (_found_events(client, f"istio-system/{name}")[0].count or 1) == 1

    cr = await _pass_to_ready(shared)

    assert cr["status"]["description"] == ""
    found = condition(cr, TARGETING)
    assert (found["status"], found["reason"]) == ("False", "IngressTargetingUserResourceNotFound")


async def test_filters_that_are_not_a_users_patch_of_the_gateway_do_not_warn(
    shared: Deps, namespace: str
) -> None:
    rate_limit_owner = {
        "apiVersion": "gateway.kyma-project.io/v1alpha1",
        "kind": "RateLimit",
        "name": "limit",
        "uid": "7f2c3a1e-0000-4000-8000-000000000001",
    }
    filters = (
        _envoy_filter(
            "module-own", selector={"app": "istio-ingressgateway"}, labels={names.MODULE_LABEL: "x"}
        ),
        _envoy_filter("rate-limit", selector={"istio": "ingressgateway"}, ownerReferences=[rate_limit_owner]),
        _envoy_filter("on-istiod", selector={"app": "istiod"}),
        _envoy_filter("elsewhere", namespace=namespace, selector={"istio": "ingressgateway"}),
    )
    async with _filters(shared, *filters):
        cr = await _pass_to_ready(shared)

    assert condition(cr, TARGETING)["reason"] == "IngressTargetingUserResourceNotFound"


# --- with the operator's own rights -------------------------------------------------------------------

RBAC = "rbac.authorization.k8s.io"


@pytest.fixture
def operator_account(client: Client, kubeconfig: Path, namespace: str, tmp_path: Path) -> Iterator[Path]:
    """A kubeconfig of a ServiceAccount holding exactly the operator's rules (cluster, istio-system,
    release namespace), as the chart renders them; its roles are removed afterwards."""
    account = "operator-rules"
    client.create(ServiceAccount(metadata=ObjectMeta(name=account, namespace=namespace)))
    subjects = [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]
    name = f"{account}-{namespace}"[:63]
    created = []
    for kind, role_namespace, rules in (
        ("ClusterRole", None, rbac.cluster_rules()),
        ("Role", names.ISTIO_NAMESPACE, rbac.istio_namespace_rules()),
        ("Role", NS, rbac.namespace_rules()),
    ):
        meta = {"name": name, **({"namespace": role_namespace} if role_namespace else {})}
        for obj in (
            {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": meta, "rules": rules},
            {
                "apiVersion": f"{RBAC}/v1",
                "kind": f"{kind}Binding",
                "metadata": meta,
                "roleRef": {"apiGroup": RBAC, "kind": kind, "name": name},
                "subjects": subjects,
            },
        ):
            created.append(client.create(codecs.from_dict(obj)))
    yield token_kubeconfig(client, kubeconfig, account, namespace, tmp_path / f"{account}.kubeconfig")
    for obj in created:
        client.delete(type(obj), obj.metadata.name, namespace=obj.metadata.namespace)


async def test_the_operators_own_rights_suffice_to_find_a_user_filter(
    shared: Deps, operator_account: Path
) -> None:
    name = "user-filter-seen-by-the-operator"
    limited = make_deps(operator_account)
    try:
        async with _filters(shared, _envoy_filter(name, selector={"app": "istio-ingressgateway"})):
            result = await pipeline.reconcile(NS, "default", limited)

            assert result.warning, result.description
            cr = await get_cr(shared.kube)
            assert condition(cr, TARGETING)["reason"] == "IngressTargetingUserResourceFound"
            assert f"istio-system/{name}" in cr["status"]["description"]
    finally:
        await limited.kube.close()
    await _pass_to_ready(shared)

"""Crash safety of the real operator process: SIGKILL in the middle of ``istioctl install`` and in the
middle of the uninstall, start again, and the CR converges to the same end state as without the crash.

The operator runs as ``kyma-istio run`` in its own process group; its istioctl child, which has a session
of its own, is killed with it, as in a Pod whose container dies. The kopf watch, our work queue, the
start-up and the status writes are exercised end to end. Every process started here is killed at
teardown, whatever happened in the test.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from istio_fixtures import NS, cleanup_crs, crd_and_namespace, istio_cr, istio_system_settled
from lightkube import Client
from lightkube.resources.admissionregistration_v1 import MutatingWebhookConfiguration
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.core_v1 import Namespace
from operator_process import OperatorProcess, StartOperator, operator, wait_for_operator

from kyma_istio.api import names
from kyma_istio.cluster.kinds import resource
from kyma_istio.k8s import kinds
from kyma_istio.resources import webhooks

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("crd_and_namespace", "istio_system_settled")]

__all__ = ["cleanup_crs", "crd_and_namespace", "istio_system_settled", "operator"]

ISTIO = resource(kinds.ISTIO)


def _cr(client: Client) -> Any | None:
    found = [cr for cr in client.list(ISTIO, namespace=NS) if cr.metadata.name == "default"]
    return found[0] if found else None


def _state(cr: Any | None) -> str | None:
    return None if cr is None or not cr.get("status") else cr["status"].get("state")


def _install_to_ready(client: Client, process: OperatorProcess) -> Any:
    wait_for_operator("Ready", lambda: _state(_cr(client)) == "Ready", process)
    return _cr(client)


def _assert_no_webhook_conflict(client: Client) -> None:
    configs = [config.to_dict() for config in client.list(MutatingWebhookConfiguration)]
    injectors = [c["metadata"]["name"] for c in configs if "istio" in c["metadata"]["name"]]
    assert injectors, "no Istio sidecar-injector webhook configuration"
    assert webhooks.conflicting_tag_webhooks(configs) == [], injectors


@pytest.mark.usefixtures("cleanup_crs")
def test_an_operator_killed_during_istioctl_install_converges_to_ready_after_a_restart(
    client: Client, operator: StartOperator
) -> None:
    first = operator()
    client.create(ISTIO.from_dict(istio_cr("default", {"config": {"numTrustedProxies": 2}})))
    wait_for_operator("istioctl install to start", first.istioctl_running, first)

    first.kill()

    killed = _cr(client)
    assert killed is not None
    assert _state(killed) == "Processing"
    assert names.LAST_APPLIED_ANNOTATION not in (killed.metadata.annotations or {})
    second = operator()
    cr = _install_to_ready(client, second)
    assert cr.metadata.finalizers == [names.FINALIZER]
    assert not [key for key in (cr.metadata.annotations or {}) if "kopf" in key]
    assert "kopf" not in cr["status"]
    assert names.LAST_APPLIED_ANNOTATION in cr.metadata.annotations
    _assert_no_webhook_conflict(client)

    # A periodic pass is 10h away and nothing changed: the operator leaves the CR alone.
    version = cr.metadata.resourceVersion
    time.sleep(5)
    assert _cr(client).metadata.resourceVersion == version, second.log_tail()


@pytest.mark.usefixtures("cleanup_crs")
def test_an_operator_killed_during_the_uninstall_removes_istio_and_the_cr_after_a_restart(
    client: Client, operator: StartOperator
) -> None:
    first = operator()
    client.create(ISTIO.from_dict(istio_cr("default", {})))
    _install_to_ready(client, first)

    client.delete(ISTIO, "default", namespace=NS)
    wait_for_operator("the uninstall to start", first.istioctl_running, first)
    first.kill()

    killed = _cr(client)
    assert killed is not None, "the CR went away before the kill"
    assert _state(killed) == "Deleting"
    assert killed.metadata.finalizers == [names.FINALIZER]
    second = operator()
    wait_for_operator("the CR to be gone", lambda: _cr(client) is None, second)
    crds = [
        crd.metadata
        for crd in client.list(CustomResourceDefinition)
        if crd.metadata.name.endswith(".istio.io")
    ]
    assert all(meta.deletionTimestamp is not None for meta in crds), [m.name for m in crds]
    gone = [ns for ns in client.list(Namespace) if ns.metadata.name == names.ISTIO_NAMESPACE]
    assert all(ns.metadata.deletionTimestamp is not None for ns in gone)

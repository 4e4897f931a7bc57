"""The uninstall step waits for Istio's foreground-deleted workloads (istioctl 1.24+) before it goes on."""

from __future__ import annotations

import asyncio
import logging

import pytest
from reconcile_fakes import FakeEvents, FakeInstaller, FakeKube

from kyma_istio.api import names
from kyma_istio.k8s import kinds
from kyma_istio.reconcile import uninstall
from kyma_istio.reconcile.context import Deps


def _deps(kube: FakeKube) -> Deps:
    return Deps(kube=kube, installer=FakeInstaller(), events=FakeEvents())


def _terminating_istiod(kube: FakeKube) -> None:
    kube.put(
        kinds.DEPLOYMENT,
        {
            "metadata": {
                "name": "istiod",
                "namespace": names.ISTIO_NAMESPACE,
                "labels": {names.ISTIO_COMPONENT_LABEL: "Pilot"},
                "deletionTimestamp": "2026-12-07T00:00:00Z",
            }
        },
    )


@pytest.fixture(autouse=True)
def fast_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uninstall, "_POLL_S", 0.01)


async def test_the_step_returns_once_the_terminating_workloads_are_gone() -> None:
    kube = FakeKube()
    _terminating_istiod(kube)
    # A Deployment without Istio's label is not waited for.
    kube.put(kinds.DEPLOYMENT, {"metadata": {"name": "app", "namespace": names.ISTIO_NAMESPACE}})

    async def garbage_collector() -> None:
        await asyncio.sleep(0.05)
        await kube.delete(kinds.DEPLOYMENT, "istiod", namespace=names.ISTIO_NAMESPACE)

    collector = asyncio.create_task(garbage_collector())
    await uninstall._wait_workloads_gone(_deps(kube), timeout_s=5)

    assert collector.done()
    assert kube.stored(kinds.DEPLOYMENT, "istiod", names.ISTIO_NAMESPACE) is None


async def test_past_the_bound_the_step_goes_on_and_says_what_is_left(
    caplog: pytest.LogCaptureFixture,
) -> None:
    kube = FakeKube()
    _terminating_istiod(kube)

    with caplog.at_level(logging.WARNING):
        await uninstall._wait_workloads_gone(_deps(kube), timeout_s=0.05)

    assert "Deployment/istiod still terminating" in caplog.text

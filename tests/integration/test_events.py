"""Events are aggregated as client-go's recorder does, against the real API server (issue 12)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from kyma_istio.cluster.kube import Kube
from kyma_istio.k8s import kinds
from kyma_istio.operator.events import KubeEvents

pytestmark = pytest.mark.integration


@pytest.fixture
def cr(namespace: str) -> dict[str, Any]:
    """The object the Events are about (a ConfigMap stands in for the Istio CR: same Event shape)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "subject", "namespace": namespace, "uid": "0000-subject"},
    }


async def _events(kube: Kube, namespace: str) -> list[dict[str, Any]]:
    return await kube.list_all(kinds.EVENT, namespace=namespace)


def test_the_same_event_twice_is_one_event_with_count_two(
    kubeconfig: Path, namespace: str, cr: dict[str, Any]
) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        kube = Kube.connect(kubeconfig)
        try:
            events = KubeEvents(kube)
            await events.post(cr, type_="Warning", reason="InstallFailed", message="istioctl: timeout")
            await events.post(cr, type_="Warning", reason="InstallFailed", message="istioctl: timeout")
            await events.post(cr, type_="Warning", reason="InstallFailed", message="another message")
            after_three = await _events(kube, namespace)
            # Gone (TTL or deleted): the next repeat creates a new Event instead of failing.
            for event in after_three:
                await kube.delete(kinds.EVENT, event["metadata"]["name"], namespace=namespace)
            await events.post(cr, type_="Warning", reason="InstallFailed", message="istioctl: timeout")
            return after_three, await _events(kube, namespace)
        finally:
            await kube.close()

    after_three, after_gone = asyncio.run(scenario())

    counts = sorted((e["message"], e["count"]) for e in after_three)
    assert counts == [("another message", 1), ("istioctl: timeout", 2)]
    repeated = next(e for e in after_three if e["count"] == 2)
    assert repeated["lastTimestamp"] >= repeated["firstTimestamp"]
    assert [(e["message"], e["count"]) for e in after_gone] == [("istioctl: timeout", 1)]

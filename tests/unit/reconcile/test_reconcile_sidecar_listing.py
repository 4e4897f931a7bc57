"""The sidecar restarter's pod listing: an expired continue token restarts it without double counting,
and the pass reports outdated proxies by the rule that found them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from reconcile_fakes import FakeKube

from kyma_istio.api import names
from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.kinds import Kind
from kyma_istio.restart import gather, outcomes
from kyma_istio.restart.plan import PlanBuilder
from kyma_istio.restart.podview import reduce_pod
from kyma_istio.restart.predicates import Expectation
from kyma_istio.restart.predicates.expectation import ProxyResources

EXPECTED = Expectation(
    image="docker.io/istio/proxyv2:1.23.2-distroless",
    resources=ProxyResources("10m", "192Mi", "1000m", "1024Mi"),
)


def _bare_outdated_pod(kube: FakeKube, name: str) -> None:
    kube.put(
        kinds.POD,
        {
            "metadata": {
                "name": name,
                "namespace": "app",
                "annotations": {names.SIDECAR_STATUS_ANNOTATION: "{}"},
            },
            "spec": {"containers": [{"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.22.0"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        },
    )


async def test_an_expired_continue_token_restarts_the_listing_and_counts_each_pod_once() -> None:
    kube = FakeKube()
    for name in ("a", "b", "c"):
        _bare_outdated_pod(kube, name)
    original = kube.stream
    calls = 0

    async def expiring(kind: Kind, **kw: Any) -> AsyncIterator[dict[str, Any]]:
        nonlocal calls
        if kind.plural == "pods":
            calls += 1
        served = 0
        async for obj in original(kind, **kw):
            if kind.plural == "pods" and calls == 1 and served == 2:
                raise errors.Expired("list pods: 410 continue token expired")
            served += 1
            yield obj

    kube.stream = expiring  # type: ignore[method-assign]

    plan = await gather.build_plan(kube, PlanBuilder.for_restart(EXPECTED), running_only=True, limit=None)

    assert calls == 2
    assert plan.summary().manual == 3


async def test_a_listing_that_keeps_expiring_is_reported_not_looped() -> None:
    kube = FakeKube()
    _bare_outdated_pod(kube, "a")

    async def always_expired(kind: Kind, **kw: Any) -> AsyncIterator[dict[str, Any]]:
        raise errors.Expired("list pods: 410")
        yield {}  # pragma: no cover - makes this an async generator

    kube.stream = always_expired  # type: ignore[method-assign]

    with pytest.raises(errors.Expired, match="410"):
        await gather.build_plan(kube, PlanBuilder.for_restart(EXPECTED), running_only=True, limit=None)


def test_outdated_proxies_are_counted_by_the_rule_that_found_them() -> None:
    builder = PlanBuilder.for_restart(EXPECTED)

    builder.add(
        reduce_pod(
            {
                "metadata": {
                    "name": "p",
                    "namespace": "app",
                    "annotations": {names.SIDECAR_STATUS_ANNOTATION: "{}"},
                },
                "spec": {"containers": [{"name": "istio-proxy", "image": "old"}]},
                "status": {"phase": "Running", "conditions": []},
            }
        )
    )

    counts = outcomes.summary_counts(builder.build())

    assert counts["outdated"] == 1
    assert counts["outdated_ImageOutdated"] == 1

"""The read half of the takeover rule: istiod's Deployment is read only when no hub is configured."""

import pytest
from reconcile_fakes import FakeKube

from kyma_istio import pins
from kyma_istio.api import names
from kyma_istio.k8s import errors, kinds
from kyma_istio.reconcile.takeover import resolve_hub


def with_istiod(image: str) -> FakeKube:
    kube = FakeKube()
    kube.put(
        kinds.DEPLOYMENT,
        {
            "metadata": {"name": "istiod", "namespace": names.ISTIO_NAMESPACE},
            "spec": {"template": {"spec": {"containers": [{"name": "discovery", "image": image}]}}},
        },
    )
    return kube


async def test_the_installed_istiods_hub_is_kept() -> None:
    kube = with_istiod(f"{pins.KYMA_HUB}/pilot:1.23.2-distroless")

    assert await resolve_hub(kube, None) == pins.KYMA_HUB


async def test_a_configured_hub_is_used_without_reading_the_cluster() -> None:
    kube = with_istiod(f"{pins.KYMA_HUB}/pilot:1.23.2-distroless")

    assert await resolve_hub(kube, "mirror.example/istio") == "mirror.example/istio"
    assert kube.requests["GET"] == 0


async def test_an_empty_cluster_gets_the_default_hub() -> None:
    assert await resolve_hub(FakeKube(), None) == pins.DEFAULT_HUB


async def test_a_failed_read_is_raised_not_guessed() -> None:
    kube = with_istiod(f"{pins.KYMA_HUB}/pilot:1.23.2")
    kube.fail[("get", "deployments")] = errors.Transient("timeout")

    with pytest.raises(errors.ClusterError):
        await resolve_hub(kube, None)

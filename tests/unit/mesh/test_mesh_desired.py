"""One builder of the desired IstioOperator: Nodes -> cluster facts -> merge, with its hash."""

from typing import Any

import pytest

from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.mesh.desired import ClusterFacts, cluster_facts, desired_istio
from kyma_istio.mesh.merge import merge
from kyma_istio.mesh.profile import CloudProvider, Flavour, Profile


def node(cpu: str, memory: str, provider_id: str = "") -> dict[str, Any]:
    return {
        "metadata": {"name": "n"},
        "spec": {"providerID": provider_id},
        "status": {"capacity": {"cpu": cpu, "memory": memory}},
    }


def test_a_small_cluster_gets_the_evaluation_profile() -> None:
    assert cluster_facts([node("2", "4Gi")]).profile is Profile.EVALUATION


def test_an_aws_node_makes_an_aws_cluster() -> None:
    facts = cluster_facts([node("8", "32Gi", "aws:///eu-central-1a/i-1")])

    assert facts.profile is Profile.PRODUCTION
    assert facts.provider is CloudProvider.AWS


def test_a_malformed_capacity_is_refused() -> None:
    with pytest.raises(ValueError, match="quantity"):
        cluster_facts([node("lots", "4Gi")])


def test_the_desired_istio_is_the_merge_for_the_cluster_with_a_stable_hash() -> None:
    spec = IstioSpec.model_validate({"config": {"numTrustedProxies": 2}})
    cluster = ClusterFacts(Profile.PRODUCTION, Flavour.UNKNOWN, CloudProvider.OTHER)

    first = desired_istio(spec, cluster, hub="my.registry/istio", experimental=False, line=DEFAULT_LINE)
    again = desired_istio(spec, cluster, hub="my.registry/istio", experimental=False, line=DEFAULT_LINE)

    assert first.iop == merge(spec, profile=Profile.PRODUCTION, hub="my.registry/istio", line=DEFAULT_LINE)
    assert first.iop_hash == again.iop_hash
    assert (
        desired_istio(spec, cluster, hub="other/istio", experimental=False, line=DEFAULT_LINE).iop_hash
        != first.iop_hash
    )

"""Cluster size, flavour and cloud provider, decided from Node facts (spec 5.3, 5.6)."""

import dataclasses
from typing import Any

import pytest

from kyma_istio.mesh.profile import (
    CloudProvider,
    Flavour,
    NodeFacts,
    Profile,
    choose_profile,
    detect_flavour,
    detect_provider,
    flavour_overrides,
    node_facts,
)

BIG_MEMORY = 64_000_000_000


def node(*, cpu_millis: int = 8000, memory_bytes: int = BIG_MEMORY, **facts: str) -> NodeFacts:
    return NodeFacts(cpu_millis=cpu_millis, memory_bytes=memory_bytes, **facts)


def node_object(cpu: Any, memory: Any, **info: str) -> dict[str, Any]:
    return {"status": {"capacity": {"cpu": cpu, "memory": memory, "pods": "110"}, "nodeInfo": info}}


# --- node_facts ----------------------------------------------------------------------------------


def test_node_facts_reads_capacity_as_quantities_and_the_identifying_strings() -> None:
    obj = node_object(
        "4", "16302084Ki", kubeProxyVersion="v1.30.0", osImage="Ubuntu", kubeletVersion="v1.30.1"
    )
    obj["spec"] = {"providerID": "aws:///eu-west-1a/i-0abc"}

    facts = node_facts(obj)

    assert facts == NodeFacts(
        cpu_millis=4000,
        memory_bytes=16302084 * 1024,
        kube_proxy_version="v1.30.0",
        os_image="Ubuntu",
        provider_id="aws:///eu-west-1a/i-0abc",
        kubelet_version="v1.30.1",
    )


def test_node_facts_accepts_millicores_and_numbers_given_as_ints() -> None:
    facts = node_facts(node_object("3500m", 1024))

    assert (facts.cpu_millis, facts.memory_bytes) == (3500, 1024)


def test_a_node_without_status_counts_as_empty() -> None:
    assert node_facts({}) == NodeFacts(cpu_millis=0, memory_bytes=0)


def test_a_malformed_capacity_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="quantity"):
        node_facts(node_object("four", "1Gi"))


def test_node_facts_does_not_modify_the_node() -> None:
    obj = node_object("4", "8Gi", osImage="x")
    before = repr(obj)

    node_facts(obj)

    assert repr(obj) == before


# --- choose_profile ------------------------------------------------------------------------------


def test_a_cluster_without_nodes_is_evaluation() -> None:
    assert choose_profile([]) is Profile.EVALUATION


def test_just_under_five_cores_is_evaluation() -> None:
    assert choose_profile([node(cpu_millis=4999)]) is Profile.EVALUATION


def test_exactly_five_cores_is_production() -> None:
    assert choose_profile([node(cpu_millis=5000)]) is Profile.PRODUCTION


def test_cpu_is_summed_over_all_nodes() -> None:
    assert choose_profile([node(cpu_millis=2500), node(cpu_millis=2500)]) is Profile.PRODUCTION


def test_one_byte_under_ten_decimal_gigabytes_is_evaluation() -> None:
    assert choose_profile([node(memory_bytes=9_999_999_999)]) is Profile.EVALUATION


def test_exactly_ten_decimal_gigabytes_is_production() -> None:
    assert choose_profile([node(memory_bytes=10_000_000_000)]) is Profile.PRODUCTION


def test_the_memory_threshold_is_decimal_10g_not_binary_10gi() -> None:
    just_over_10g = node_facts(node_object("8", "9766Mi"))  # 10,240,393,216 bytes: over 10G, under 10Gi
    ten_g = node_facts(node_object("8", "10G"))

    assert choose_profile([just_over_10g]) is Profile.PRODUCTION
    assert choose_profile([ten_g]) is Profile.PRODUCTION
    assert choose_profile([node_facts(node_object("8", "9999999999"))]) is Profile.EVALUATION


def test_memory_is_summed_over_all_nodes() -> None:
    halves = [node(memory_bytes=5_000_000_000), node(memory_bytes=5_000_000_000)]

    assert choose_profile(halves) is Profile.PRODUCTION


def test_plenty_of_cpu_does_not_make_up_for_too_little_memory() -> None:
    assert choose_profile([node(cpu_millis=64_000, memory_bytes=8_000_000_000)]) is Profile.EVALUATION


def test_fractional_cores_from_quantities_are_compared_exactly() -> None:
    assert choose_profile([node_facts(node_object("4.999", "64G"))]) is Profile.EVALUATION
    assert choose_profile([node_facts(node_object("5", "64G"))]) is Profile.PRODUCTION


# --- detect_flavour ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "flavour"),
    [
        ({"kube_proxy_version": "v1.29.6-gke.1038001"}, Flavour.GKE),
        ({"kube_proxy_version": "v1.30.4+k3s1"}, Flavour.K3D),
        ({"os_image": "Garden Linux 1443.10"}, Flavour.GARDENER),
        ({"kube_proxy_version": "v1.30.2", "os_image": "Ubuntu 22.04.4 LTS"}, Flavour.UNKNOWN),
        ({}, Flavour.UNKNOWN),
    ],
)
def test_each_flavour_is_recognised_from_kube_proxy_version_or_os_image(
    facts: dict[str, Any], flavour: Flavour
) -> None:
    assert detect_flavour([dataclasses.replace(node(), **facts)]) is flavour


@pytest.mark.parametrize(
    ("kubelet", "flavour"),
    [("v1.31.1-gke.1146000", Flavour.GKE), ("v1.31.1+k3s1", Flavour.K3D), ("v1.31.1", Flavour.UNKNOWN)],
)
def test_an_empty_kube_proxy_version_falls_back_to_the_kubelet_version(
    kubelet: str, flavour: Flavour
) -> None:
    assert detect_flavour([node(kube_proxy_version="", kubelet_version=kubelet)]) is flavour


@pytest.mark.parametrize(
    "version",
    [
        "xv1.29.6-gke.1",
        "v1.29.6-gke.1x",
        "v1.29.6-gke.1\n",
        "v1.29-gke.1",
        "v1.29.6-gke.",
        "v1.30.4+k3s",
        "v1.30.4-k3s1",
        "v1.30.4+k3s1 ",
    ],
)
def test_versions_only_resembling_gke_or_k3s_are_not_recognised(version: str) -> None:
    assert detect_flavour([node(kube_proxy_version=version, kubelet_version=version)]) is Flavour.UNKNOWN


@pytest.mark.parametrize(
    "os_image", ["Garden Linux 1443", "Garden Linux 1443.1 (beta)", "My Garden Linux 1.2"]
)
def test_os_images_only_resembling_garden_linux_are_not_recognised(os_image: str) -> None:
    assert detect_flavour([node(os_image=os_image)]) is Flavour.UNKNOWN


def test_gke_is_checked_before_k3s_and_gardener_on_the_same_node() -> None:
    mixed = node(
        kube_proxy_version="v1.30.4+k3s1", kubelet_version="v1.30.4-gke.1", os_image="Garden Linux 1.2"
    )

    assert detect_flavour([mixed]) is Flavour.GKE


def test_k3s_is_checked_before_gardener_on_the_same_node() -> None:
    assert (
        detect_flavour([node(kube_proxy_version="v1.30.4+k3s1", os_image="Garden Linux 1.2")]) is Flavour.K3D
    )


def test_the_first_node_in_list_order_with_a_flavour_decides() -> None:
    nodes = [node(), node(os_image="Garden Linux 1443.10"), node(kube_proxy_version="v1.29.6-gke.1")]

    assert detect_flavour(nodes) is Flavour.GARDENER


def test_no_nodes_is_an_unknown_flavour() -> None:
    assert detect_flavour([]) is Flavour.UNKNOWN


# --- flavour_overrides ---------------------------------------------------------------------------


def test_k3d_moves_the_cni_paths_to_where_k3s_keeps_them() -> None:
    assert flavour_overrides(Flavour.K3D) == {
        "spec": {
            "values": {"cni": {"cniBinDir": "/bin", "cniConfDir": "/var/lib/rancher/k3s/agent/etc/cni/net.d"}}
        }
    }


def test_gke_moves_the_cni_binaries_and_enables_resource_quotas() -> None:
    assert flavour_overrides(Flavour.GKE) == {
        "spec": {
            "values": {"cni": {"cniBinDir": "/home/kubernetes/bin", "resourceQuotas": {"enabled": True}}}
        }
    }


@pytest.mark.parametrize("flavour", [Flavour.GARDENER, Flavour.UNKNOWN])
def test_gardener_and_unknown_flavours_override_nothing(flavour: Flavour) -> None:
    assert flavour_overrides(flavour) == {}


def test_flavour_overrides_are_fresh_values_each_time() -> None:
    first = flavour_overrides(Flavour.GKE)
    first["spec"]["values"]["cni"]["cniBinDir"] = "/changed"

    assert flavour_overrides(Flavour.GKE)["spec"]["values"]["cni"]["cniBinDir"] == "/home/kubernetes/bin"


# --- detect_provider -----------------------------------------------------------------------------


def test_an_aws_provider_id_on_the_first_node_means_aws() -> None:
    assert detect_provider([node(provider_id="aws:///eu-central-1a/i-0123")]) is CloudProvider.AWS


def test_only_the_first_node_decides_the_provider() -> None:
    nodes = [node(provider_id="gce://project/zone/vm"), node(provider_id="aws:///x/i-1")]

    assert detect_provider(nodes) is CloudProvider.OTHER


def test_no_nodes_or_another_provider_means_other() -> None:
    assert detect_provider([]) is CloudProvider.OTHER
    assert detect_provider([node(provider_id="azure:///subscriptions/x")]) is CloudProvider.OTHER
    assert detect_provider([node(provider_id="")]) is CloudProvider.OTHER

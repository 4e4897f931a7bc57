"""Post-install verification of the Istio pods' versions (spec 4, "Post-install verification")."""

from typing import Any

import pytest

from kyma_istio.mesh.podversions import verify_pod_versions

TARGET = "1.23.2"
HUB = "docker.io/istio"


def pod(name: str, *containers: tuple[str, str], terminating: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "istio-system"}
    if terminating:
        meta["deletionTimestamp"] = "2024-05-01T12:00:00Z"
    return {
        "metadata": meta,
        "spec": {"containers": [{"name": n, "image": image} for n, image in containers]},
    }


def istiod(name: str = "istiod-1", tag: str = "1.23.2-distroless") -> dict[str, Any]:
    return pod(name, ("discovery", f"{HUB}/pilot:{tag}"))


def gateway(name: str = "istio-ingressgateway-1", tag: str = "1.23.2-distroless") -> dict[str, Any]:
    return pod(name, ("istio-proxy", f"{HUB}/proxyv2:{tag}"))


def cni(name: str = "istio-cni-node-1", tag: str = "1.23.2-distroless") -> dict[str, Any]:
    return pod(name, ("install-cni", f"{HUB}/install-cni:{tag}"))


def test_pods_that_all_run_the_target_version_pass() -> None:
    assert verify_pod_versions([istiod(), gateway(), cni()], TARGET) is None


def test_the_flavour_of_the_tag_is_ignored() -> None:
    pods = [istiod(tag="1.23.2-distroless"), gateway(tag="1.23.2-debug"), cni(tag="1.23.2")]

    assert verify_pod_versions(pods, TARGET) is None


def test_a_pod_on_another_version_than_the_others_is_named() -> None:
    pods = [istiod(), gateway(name="istio-ingressgateway-2", tag="1.22.5-distroless"), cni()]

    assert verify_pod_versions(pods, TARGET) == (
        "Image version of Pod istio-ingressgateway-2 1.22.5 do not match other Pods version 1.23.2"
    )


def test_a_mismatch_is_reported_against_the_first_pods_version() -> None:
    pods = [istiod(tag="1.22.5"), gateway(name="gw", tag="1.23.2")]

    assert verify_pod_versions(pods, TARGET) == (
        "Image version of Pod gw 1.23.2 do not match other Pods version 1.22.5"
    )


def test_containers_of_one_pod_must_agree_too() -> None:
    mixed = pod("istiod-1", ("discovery", f"{HUB}/pilot:1.23.2"), ("istio-proxy", f"{HUB}/proxyv2:1.22.5"))

    assert verify_pod_versions([mixed], TARGET) == (
        "Image version of Pod istiod-1 1.22.5 do not match other Pods version 1.23.2"
    )


def test_pods_that_all_run_another_version_do_not_match_the_operator() -> None:
    pods = [istiod(tag="1.22.5-distroless"), gateway(tag="1.22.5-distroless")]

    assert verify_pod_versions(pods, TARGET) == (
        "istio-system Pods version 1.22.5 do not match istio operator version 1.23.2"
    )


def test_no_pods_means_no_installed_version() -> None:
    assert verify_pod_versions([], TARGET) == "Unable to obtain installed Istio image version"


def test_pods_without_istio_containers_mean_no_installed_version() -> None:
    pods = [pod("coredns", ("coredns", "registry.k8s.io/coredns:v1.11.1")), {"metadata": {"name": "bare"}}]

    assert verify_pod_versions(pods, TARGET) == "Unable to obtain installed Istio image version"


def test_other_containers_are_ignored_whatever_their_image() -> None:
    sidecar_app = pod(
        "istiod-1",
        ("discovery", f"{HUB}/pilot:1.23.2-distroless"),
        ("helper", "busybox"),
        ("old-tool", f"{HUB}/pilot:1.20.0"),
    )

    assert verify_pod_versions([sidecar_app], TARGET) is None


def test_terminating_pods_are_ignored() -> None:
    old = istiod(name="istiod-old", tag="1.22.5-distroless")
    old["metadata"]["deletionTimestamp"] = "2024-05-01T12:00:00Z"

    assert verify_pod_versions([old, istiod(), gateway()], TARGET) is None


def test_only_terminating_pods_mean_no_installed_version() -> None:
    old = pod("istiod-old", ("discovery", f"{HUB}/pilot:1.23.2"), terminating=True)

    assert verify_pod_versions([old], TARGET) == "Unable to obtain installed Istio image version"


@pytest.mark.parametrize(
    "image",
    [
        f"{HUB}/proxyv2",
        f"{HUB}/proxyv2:latest",
        f"{HUB}/proxyv2:",
        "localhost:5000/istio/proxyv2",
        f"{HUB}/proxyv2@sha256:{'a' * 64}",
        "",
    ],
)
def test_an_image_without_a_version_tag_cannot_be_parsed(image: str) -> None:
    pods = [pod("istio-ingressgateway-1", ("istio-proxy", image))]

    assert verify_pod_versions(pods, TARGET) == f"Unable to parse container image reference: {image}"


def test_an_unparseable_image_is_reported_even_after_good_pods() -> None:
    pods = [istiod(), pod("gw", ("istio-proxy", "proxyv2:nightly"))]

    assert verify_pod_versions(pods, TARGET) == "Unable to parse container image reference: proxyv2:nightly"


@pytest.mark.parametrize(
    "image",
    [
        "localhost:5000/istio/proxyv2:1.23.2-distroless",
        "registry.example.com:443/mirror/istio/proxyv2:1.23.2",
        f"{HUB}/proxyv2:1.23.2-distroless@sha256:{'b' * 64}",
        f"localhost:5000/istio/proxyv2:1.23.2@sha256:{'c' * 64}",
        "proxyv2:1.23.2",
    ],
)
def test_registry_ports_and_digests_do_not_hide_the_tag(image: str) -> None:
    pods = [istiod(), pod("gw", ("istio-proxy", image))]

    assert verify_pod_versions(pods, TARGET) is None


def test_a_port_is_not_mistaken_for_a_version() -> None:
    pods = [pod("gw", ("istio-proxy", "localhost:1/istio/proxyv2:1.22.5"))]

    assert verify_pod_versions(pods, TARGET) == (
        "istio-system Pods version 1.22.5 do not match istio operator version 1.23.2"
    )


def test_pods_can_be_given_as_any_iterable() -> None:
    assert verify_pod_versions(iter([istiod(), gateway()]), TARGET) is None

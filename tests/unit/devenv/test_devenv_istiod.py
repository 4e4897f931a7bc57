"""Which pilot-discovery serves the installed Istio: the installed release's own binary when the tool
directory has it, else the fallback ``pilot-discovery``; and when a change of the install restarts it."""

import pytest

from kyma_istio.devenv.istiod import Install, image_release, pilot_discovery_for

BUILT = frozenset({"pilot-discovery", "pilot-discovery-1.29.1", "pilot-discovery-1.28.3"})
"""A tool directory with the default binary and two release lines built."""


@pytest.mark.parametrize(
    ("image", "release"),
    [
        ("docker.io/istio/pilot:1.29.1-distroless", "1.29.1"),
        ("europe-docker.pkg.dev/kyma-project/prod/external/istio/pilot:1.23.2-distroless", "1.23.2"),
        ("localhost:5000/istio/pilot:1.28.3", "1.28.3"),
        ("docker.io/istio/pilot:1.29.1-distroless@sha256:" + "a" * 64, "1.29.1"),
        ("pilot:v1.27.0", "1.27.0"),
        ("docker.io/istio/pilot@sha256:" + "a" * 64, None),
        ("localhost:5000/istio/pilot", None),
        ("docker.io/istio/pilot:latest", None),
        ("docker.io/istio/pilot:1.29-dev", None),
        ("docker.io/istio/pilot", None),
        ("", None),
        (None, None),
    ],
)
def test_the_release_is_the_image_tags_version(image: str | None, release: str | None) -> None:
    assert image_release(image) == release


def test_the_installed_releases_own_binary_serves_it_when_built() -> None:
    assert pilot_discovery_for("docker.io/istio/pilot:1.29.1-distroless", BUILT) == "pilot-discovery-1.29.1"
    assert pilot_discovery_for("docker.io/istio/pilot:1.28.3-distroless", BUILT) == "pilot-discovery-1.28.3"


@pytest.mark.parametrize(
    "image",
    [
        "docker.io/istio/pilot:1.23.2-distroless",  # a release whose line is not built
        "docker.io/istio/pilot:1.29.2-distroless",  # another patch of a built line: not its binary
        "docker.io/istio/pilot:1.22.3-distroless",  # the upgrade tests' previous release
        "docker.io/istio/pilot:latest",
        None,  # no Deployment (yet)
    ],
)
def test_anything_else_falls_back_to_pilot_discovery(image: str | None) -> None:
    assert pilot_discovery_for(image, BUILT) == "pilot-discovery"


def test_without_release_lines_built_it_is_always_the_fallback() -> None:
    assert pilot_discovery_for("docker.io/istio/pilot:1.29.1-distroless", {"pilot-discovery"}) == (
        "pilot-discovery"
    )


def _install(image: str) -> Install:
    return Install(
        service_uid="s",
        address="10.96.0.10",
        injector_uid="c",
        binary=pilot_discovery_for(image, BUILT),
        image=image,
    )


def test_an_upgrade_in_place_to_a_release_another_binary_serves_is_a_new_install() -> None:
    before = _install("docker.io/istio/pilot:1.23.2-distroless")
    after = _install("docker.io/istio/pilot:1.29.1-distroless")

    assert before != after
    assert (before.binary, after.binary) == ("pilot-discovery", "pilot-discovery-1.29.1")


def test_an_image_change_the_same_binary_serves_restarts_nothing() -> None:
    # 1.22.3 -> 1.23.2 with no 1.23 line built: the fallback serves both.
    assert _install("docker.io/istio/pilot:1.22.3-distroless") == _install(
        "docker.io/istio/pilot:1.23.2-distroless"
    )
    assert _install("docker.io/istio/pilot:1.29.1-distroless") == _install(
        "mirror.example/istio/pilot:1.29.1-distroless"
    )

"""The takeover rule: a configured hub wins, else the running istiod's, else the default (ADR 12)."""

from typing import Any

import pytest

from kyma_istio import pins
from kyma_istio.mesh.takeover import ImageRef, choose_hub, running_istiod_image, split_image


def istiod(*containers: tuple[str, str]) -> dict[str, Any]:
    listed = [{"name": name, "image": image} for name, image in containers]
    return {"spec": {"template": {"spec": {"containers": listed}}}}


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (f"{pins.KYMA_HUB}/pilot:1.23.2-distroless", ImageRef(pins.KYMA_HUB, "pilot", "1.23.2-distroless")),
        ("docker.io/istio/pilot:1.22.3", ImageRef("docker.io/istio", "pilot", "1.22.3")),
        ("localhost:5000/istio/pilot:1.23.2@sha256:ab", ImageRef("localhost:5000/istio", "pilot", "1.23.2")),
        ("pilot:1.23.2", None),
        ("docker.io/istio/pilot", None),
        ("localhost:5000/pilot", None),
    ],
)
def test_an_image_splits_into_hub_name_and_tag(image: str, expected: ImageRef | None) -> None:
    assert split_image(image) == expected


def test_the_running_image_is_the_discovery_containers() -> None:
    deployment = istiod(("sidecar", "other.io/x/helper:1"), ("discovery", f"{pins.KYMA_HUB}/pilot:1.22.3"))

    assert running_istiod_image(deployment) == ImageRef(pins.KYMA_HUB, "pilot", "1.22.3")


@pytest.mark.parametrize("deployment", [None, {}, {"spec": {}}, istiod(("other", "a/b:c"))])
def test_without_an_istiod_discovery_container_nothing_runs(deployment: dict[str, Any] | None) -> None:
    assert running_istiod_image(deployment) is None


def test_a_configured_hub_wins_over_the_running_one() -> None:
    running = ImageRef(pins.KYMA_HUB, "pilot", "1.23.2-distroless")

    assert choose_hub("mirror.example/istio", running) == "mirror.example/istio"


def test_a_takeover_keeps_the_running_hub() -> None:
    assert choose_hub(None, ImageRef(pins.KYMA_HUB, "pilot", "1.22.3-distroless")) == pins.KYMA_HUB


def test_a_fresh_cluster_gets_the_default_hub() -> None:
    assert choose_hub(None, None) == pins.DEFAULT_HUB
    assert choose_hub("", None) == pins.DEFAULT_HUB

"""Each selection rule on its own, and the order in which they are applied."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from restart_builders import EXPECTATION, OLD_IMAGE, current_pod, outdated_pod, proxy

from kyma_istio.restart._quantity import canonical_quantity, quantity_value, same_quantity
from kyma_istio.restart.podview import ProxyOverrides
from kyma_istio.restart.predicates import (
    OutdatedReason,
    ProxyResources,
    compatibility_changed,
    expected_resources,
    has_custom_image,
    image_outdated,
    is_candidate,
    outdated_reason,
    resources_outdated,
    sidecar_present,
)

COMPAT = replace(EXPECTATION, compatibility_changed=True)


class TestCandidate:
    def test_a_running_ready_injected_pod_is_a_candidate(self) -> None:
        assert is_candidate(current_pod())

    def test_a_pod_with_one_false_condition_is_not_a_candidate(self) -> None:
        assert not is_candidate(current_pod(all_conditions_true=False))

    def test_a_terminating_pod_is_not_a_candidate(self) -> None:
        assert not is_candidate(current_pod(terminating=True))

    @pytest.mark.parametrize("phase", ["Pending", "Succeeded", "Failed", "Unknown", ""])
    def test_a_pod_that_is_not_running_is_not_a_candidate(self, phase: str) -> None:
        assert not is_candidate(current_pod(phase=phase))

    def test_a_pod_without_the_sidecar_status_annotation_is_not_a_candidate(self) -> None:
        assert not is_candidate(current_pod(has_sidecar_status=False))

    def test_an_outdated_pod_that_is_not_a_candidate_has_no_reason(self) -> None:
        assert outdated_reason(outdated_pod(phase="Pending"), COMPAT) is None


class TestCompatibility:
    def test_a_mode_change_selects_a_current_pod(self) -> None:
        assert compatibility_changed(current_pod(), COMPAT) is OutdatedReason.COMPATIBILITY_MODE_CHANGED

    def test_without_a_mode_change_nothing_is_selected(self) -> None:
        assert compatibility_changed(current_pod(), EXPECTATION) is None

    def test_a_mode_change_selects_a_pod_with_a_custom_image(self) -> None:
        pod = current_pod(has_custom_proxy_image=True, proxies=(proxy("registry.local/proxy:mine"),))

        assert outdated_reason(pod, COMPAT) is OutdatedReason.COMPATIBILITY_MODE_CHANGED


class TestCustomImage:
    def test_a_pod_with_a_custom_image_is_exempt(self) -> None:
        assert has_custom_image(current_pod(has_custom_proxy_image=True))

    def test_a_pod_without_a_custom_image_is_not_exempt(self) -> None:
        assert not has_custom_image(current_pod())

    def test_a_custom_image_pod_is_never_restarted_for_image_or_resources(self) -> None:
        pod = outdated_pod(has_custom_proxy_image=True, proxies=(proxy(OLD_IMAGE, cpu_limit="3"),))

        assert outdated_reason(pod, EXPECTATION) is None


class TestImage:
    def test_the_expected_image_is_current(self) -> None:
        assert image_outdated(current_pod(), EXPECTATION) is None

    def test_another_tag_is_outdated(self) -> None:
        assert image_outdated(outdated_pod(), EXPECTATION) is OutdatedReason.IMAGE_OUTDATED

    def test_the_image_is_compared_verbatim(self) -> None:
        pod = current_pod(proxies=(proxy("istio/proxyv2:1.23.2-distroless"),))

        assert image_outdated(pod, EXPECTATION) is OutdatedReason.IMAGE_OUTDATED

    def test_an_outdated_native_sidecar_is_inspected(self) -> None:
        pod = current_pod(proxies=(proxy(OLD_IMAGE, native=True),), container_count=1)

        assert outdated_reason(pod, EXPECTATION) is OutdatedReason.IMAGE_OUTDATED

    def test_any_outdated_proxy_of_several_makes_the_pod_outdated(self) -> None:
        pod = current_pod(proxies=(proxy(), proxy(OLD_IMAGE, native=True)))

        assert image_outdated(pod, EXPECTATION) is OutdatedReason.IMAGE_OUTDATED

    def test_a_pod_without_an_istio_proxy_container_is_not_outdated(self) -> None:
        assert outdated_reason(current_pod(proxies=()), EXPECTATION) is None


class TestResources:
    def test_identical_resources_are_current(self) -> None:
        assert resources_outdated(current_pod(), EXPECTATION) is None

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("cpu_limit", "1000m"),
            ("memory_limit", "1024Mi"),
            ("memory_request", "33554432"),
            ("cpu_request", "0.01"),
        ],
    )
    def test_equal_quantities_spelled_differently_are_current(self, field: str, value: str) -> None:
        changes: dict[str, Any] = {field: value}
        pod = current_pod(proxies=(replace(proxy(), **changes),))

        assert resources_outdated(pod, EXPECTATION) is None

    @pytest.mark.parametrize("field", ["cpu_request", "memory_request", "cpu_limit", "memory_limit"])
    def test_a_different_value_in_any_of_the_four_is_outdated(self, field: str) -> None:
        changes: dict[str, Any] = {field: "3"}
        pod = current_pod(proxies=(replace(proxy(), **changes),))

        assert resources_outdated(pod, EXPECTATION) is OutdatedReason.RESOURCES_OUTDATED

    def test_a_missing_value_is_outdated(self) -> None:
        pod = current_pod(proxies=(proxy(memory_limit=None),))

        assert resources_outdated(pod, EXPECTATION) is OutdatedReason.RESOURCES_OUTDATED

    def test_a_pod_with_resource_annotations_matching_its_proxy_is_not_restarted(self) -> None:
        overrides = ProxyOverrides(cpu_request="200m", memory_limit="2Gi")
        pod = current_pod(overrides=overrides, proxies=(proxy(cpu_request="0.2", memory_limit="2048Mi"),))

        assert outdated_reason(pod, EXPECTATION) is None

    def test_a_pod_whose_proxy_differs_from_its_own_annotation_is_outdated(self) -> None:
        pod = current_pod(overrides=ProxyOverrides(cpu_request="200m"), proxies=(proxy(cpu_request="100m"),))

        assert resources_outdated(pod, EXPECTATION) is OutdatedReason.RESOURCES_OUTDATED

    def test_an_annotation_only_overrides_its_own_key(self) -> None:
        wanted = expected_resources(current_pod(overrides=ProxyOverrides(memory_request="64Mi")), EXPECTATION)

        assert wanted == ProxyResources(
            cpu_request="10m", memory_request="64Mi", cpu_limit="1", memory_limit="1Gi"
        )

    def test_an_outdated_native_sidecar_resource_is_inspected(self) -> None:
        pod = current_pod(proxies=(proxy(native=True, cpu_limit="2"),), container_count=1)

        assert outdated_reason(pod, EXPECTATION) is OutdatedReason.RESOURCES_OUTDATED


class TestOrder:
    def test_compatibility_wins_over_image(self) -> None:
        assert outdated_reason(outdated_pod(), COMPAT) is OutdatedReason.COMPATIBILITY_MODE_CHANGED

    def test_image_wins_over_resources(self) -> None:
        pod = current_pod(proxies=(proxy(OLD_IMAGE, cpu_limit="2"),))

        assert outdated_reason(pod, EXPECTATION) is OutdatedReason.IMAGE_OUTDATED

    def test_resources_alone_are_reported_as_resources(self) -> None:
        pod = current_pod(proxies=(proxy(cpu_limit="2"),))

        assert outdated_reason(pod, EXPECTATION) is OutdatedReason.RESOURCES_OUTDATED

    def test_a_current_pod_has_no_reason(self) -> None:
        assert outdated_reason(current_pod(), EXPECTATION) is None


class TestSidecarPresent:
    def test_a_classic_sidecar_next_to_an_app_is_present(self) -> None:
        assert sidecar_present(current_pod()) is OutdatedReason.SIDECAR_REMOVAL

    def test_a_single_container_proxy_is_a_gateway_not_a_sidecar(self) -> None:
        assert sidecar_present(current_pod(container_count=1)) is None

    def test_a_native_sidecar_is_present_even_with_one_container(self) -> None:
        assert sidecar_present(current_pod(container_count=1, proxies=(proxy(native=True),))) is not None

    def test_image_and_readiness_do_not_matter_for_removal(self) -> None:
        pod = outdated_pod(all_conditions_true=False, phase="Pending", has_sidecar_status=False)

        assert sidecar_present(pod) is OutdatedReason.SIDECAR_REMOVAL

    def test_a_terminating_pod_is_left_alone(self) -> None:
        assert sidecar_present(current_pod(terminating=True)) is None

    def test_a_pod_without_a_proxy_has_nothing_to_remove(self) -> None:
        assert sidecar_present(current_pod(proxies=())) is None


class TestQuantities:
    @pytest.mark.parametrize(
        ("left", "right"),
        [("1", "1000m"), ("1Gi", "1024Mi"), ("1k", "1000"), ("1e3", "1k"), ("0.5", "500m"), ("1M", "1000k")],
    )
    def test_equal_values_in_different_units_are_the_same(self, left: str, right: str) -> None:
        assert same_quantity(left, right)

    @pytest.mark.parametrize(("left", "right"), [("1", "1001m"), ("1Gi", "1G"), ("1", None), (None, "1")])
    def test_different_or_missing_values_differ(self, left: str | None, right: str | None) -> None:
        assert not same_quantity(left, right)

    def test_two_missing_values_are_the_same(self) -> None:
        assert same_quantity(None, None)

    def test_unparseable_text_is_compared_verbatim(self) -> None:
        assert quantity_value("lots") is None
        assert same_quantity("lots", "lots")
        assert not same_quantity("lots", "1")

    def test_absurd_exponents_are_refused(self) -> None:
        assert quantity_value("1e999999") is None

    def test_the_canonical_spelling_is_shared_by_equal_values(self) -> None:
        assert canonical_quantity("1000m") == canonical_quantity("1") == "1"
        assert canonical_quantity("?") == "?"

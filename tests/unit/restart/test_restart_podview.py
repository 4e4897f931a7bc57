"""Reducing raw pods to the facts the restart decision needs."""

from __future__ import annotations

import copy
from typing import Any

from restart_builders import IMAGE, raw_pod

from kyma_istio.restart.podview import OwnerRef, ProxyOverrides, ProxyView, ScrapeAnnotations, reduce_pod


def test_a_typical_injected_pod_is_reduced_to_its_proxy_and_owner() -> None:
    view = reduce_pod(raw_pod())

    assert view.namespace == "shop"
    assert view.name == "web-7d9c-x2x4k"
    assert view.phase == "Running"
    assert not view.terminating
    assert view.all_conditions_true
    assert view.has_sidecar_status
    assert not view.has_custom_proxy_image
    assert view.container_count == 2
    assert view.proxies == (
        ProxyView(
            image=IMAGE,
            cpu_request="10m",
            memory_request="32Mi",
            cpu_limit="1",
            memory_limit="1Gi",
            native=False,
        ),
    )
    assert view.owner == OwnerRef(
        kind="ReplicaSet", name="web-7d9c", api_version="apps/v1", uid="7a0e6f6e-0000-4000-8000-000000000002"
    )
    assert view.overrides == ProxyOverrides()
    assert not view.opted_out
    assert view.restart_target is None


def test_a_native_sidecar_is_read_from_the_init_containers() -> None:
    view = reduce_pod(raw_pod(native=True))

    assert view.container_count == 1
    assert len(view.proxies) == 1
    assert view.proxies[0].native


def test_an_init_container_named_istio_proxy_without_restart_policy_always_is_not_a_sidecar() -> None:
    pod = raw_pod()
    pod["spec"]["initContainers"].append({"name": "istio-proxy", "image": IMAGE})

    assert [proxy.native for proxy in reduce_pod(pod).proxies] == [False]


def test_the_controller_owner_is_preferred_over_the_first_one() -> None:
    references: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "anchor", "uid": "u1"},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "uid": "u2", "controller": True},
    ]

    owner = reduce_pod(raw_pod(owner_references=references)).owner

    assert owner is not None
    assert (owner.kind, owner.name, owner.group) == ("StatefulSet", "db", "apps")


def test_without_a_controller_the_first_owner_is_taken() -> None:
    references = [
        {"apiVersion": "batch/v1", "kind": "Job", "name": "backup-2891", "uid": "u1"},
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "anchor", "uid": "u2"},
    ]

    owner = reduce_pod(raw_pod(owner_references=references)).owner

    assert owner is not None
    assert (owner.kind, owner.group) == ("Job", "batch")


def test_a_pod_without_owner_references_has_no_owner() -> None:
    assert reduce_pod(raw_pod(owner_references=[])).owner is None


def test_deletion_timestamp_marks_the_pod_terminating() -> None:
    pod = raw_pod()
    pod["metadata"]["deletionTimestamp"] = "2024-05-01T10:00:00Z"

    assert reduce_pod(pod).terminating


def test_one_false_condition_is_enough_to_clear_all_conditions_true() -> None:
    pod = raw_pod()
    pod["status"]["conditions"][2]["status"] = "False"

    assert not reduce_pod(pod).all_conditions_true


def test_per_pod_proxy_resource_annotations_are_kept_as_overrides() -> None:
    annotations = {
        "sidecar.istio.io/proxyCPU": "200m",
        "sidecar.istio.io/proxyCPULimit": "2",
        "sidecar.istio.io/proxyMemory": "128Mi",
        "sidecar.istio.io/proxyMemoryLimit": "2Gi",
    }

    overrides = reduce_pod(raw_pod(annotations=annotations)).overrides

    assert overrides == ProxyOverrides(
        cpu_request="200m", memory_request="128Mi", cpu_limit="2", memory_limit="2Gi"
    )


def test_opt_out_custom_image_and_restart_target_annotations_are_read() -> None:
    annotations = {
        "sidecar.istio.io/proxyImage": "registry.local/proxy:mine",
        "istio-operator.kyma-project.io/restart": "disabled",
        "istio-operator.kyma-project.io/restartTarget": "abc123",
    }

    view = reduce_pod(raw_pod(annotations=annotations))

    assert view.has_custom_proxy_image
    assert view.opted_out
    assert view.restart_target == "abc123"


def test_an_opt_out_annotation_with_another_value_does_not_opt_out() -> None:
    view = reduce_pod(raw_pod(annotations={"istio-operator.kyma-project.io/restart": "enabled"}))

    assert not view.opted_out


def test_a_pod_without_injection_has_no_status_and_no_proxy() -> None:
    pod = raw_pod()
    del pod["metadata"]["annotations"]
    pod["spec"]["containers"] = [pod["spec"]["containers"][0]]

    view = reduce_pod(pod)

    assert not view.has_sidecar_status
    assert view.proxies == ()


def test_a_nearly_empty_object_reduces_without_errors() -> None:
    view = reduce_pod({"metadata": {"name": "x"}})

    assert view.name == "x"
    assert view.phase == ""
    assert view.proxies == ()
    assert view.owner is None
    assert view.container_count == 0


def test_numeric_quantities_from_hand_written_objects_are_read_as_text() -> None:
    pod = raw_pod()
    pod["spec"]["containers"][1]["resources"] = {"limits": {"cpu": 1}}

    assert reduce_pod(pod).proxies[0].cpu_limit == "1"


def test_reducing_does_not_change_the_raw_pod() -> None:
    pod = raw_pod(native=True)
    before = copy.deepcopy(pod)

    reduce_pod(pod)

    assert pod == before


def test_a_pod_in_kyma_system_belongs_to_a_module() -> None:
    assert reduce_pod(raw_pod(namespace="kyma-system")).module
    assert not reduce_pod(raw_pod(namespace="shop")).module


def test_a_pod_labelled_with_any_module_belongs_to_a_module_an_empty_label_does_not() -> None:
    labelled = raw_pod()
    labelled["metadata"]["labels"]["kyma-project.io/module"] = "api-gateway"
    empty = raw_pod()
    empty["metadata"]["labels"]["kyma-project.io/module"] = ""
    unlabelled = raw_pod()
    del unlabelled["metadata"]["labels"]

    assert reduce_pod(labelled).module
    assert not reduce_pod(empty).module
    assert not reduce_pod(unlabelled).module


def test_the_scrape_annotations_and_the_merge_switch_are_read_as_written() -> None:
    pod = raw_pod(
        annotations={
            "prometheus.io/path": "/stats/prometheus",
            "prometheus.io/port": "15020",
            "prometheus.io/scrape": "true",
            "prometheus.istio.io/merge-metrics": "false",
        }
    )

    assert reduce_pod(pod).scrape == ScrapeAnnotations(
        path="/stats/prometheus", port="15020", scrape="true", merge_metrics="false"
    )
    assert reduce_pod(raw_pod()).scrape == ScrapeAnnotations()

"""Module-labelling of Istio's own objects writes only what is missing."""

from __future__ import annotations

import copy
from typing import Any

from kyma_istio.api import names
from kyma_istio.resources import labelling

LABEL = {names.MODULE_LABEL: names.MODULE_LABEL_VALUE}


def workload(kind: str, *, labels: dict[str, str], template_labels: dict[str, str]) -> dict[str, Any]:
    return {
        "kind": kind,
        "metadata": {"name": "istiod", "labels": labels},
        "spec": {"template": {"metadata": {"labels": template_labels}}},
    }


def test_an_unlabelled_config_map_gets_the_module_label() -> None:
    config_map = {"kind": "ConfigMap", "metadata": {"name": "istio", "labels": {"app": "istiod"}}}

    assert labelling.module_label_patch(config_map) == {"metadata": {"labels": LABEL}}


def test_an_object_without_labels_gets_the_module_label() -> None:
    assert labelling.module_label_patch({"kind": "Secret", "metadata": {}}) == {"metadata": {"labels": LABEL}}


def test_a_labelled_object_needs_no_patch() -> None:
    assert labelling.module_label_patch({"kind": "ConfigMap", "metadata": {"labels": LABEL}}) is None


def test_a_deployment_gets_the_label_on_its_pod_template_too() -> None:
    deployment = workload("Deployment", labels={}, template_labels={"app": "istiod"})

    assert labelling.module_label_patch(deployment, pod_template=True) == {
        "metadata": {"labels": LABEL},
        "spec": {"template": {"metadata": {"labels": LABEL}}},
    }


def test_a_daemon_set_labelled_only_on_top_gets_only_its_template_patched() -> None:
    daemon_set = workload("DaemonSet", labels=dict(LABEL), template_labels={})

    assert labelling.module_label_patch(daemon_set, pod_template=True) == {
        "spec": {"template": {"metadata": {"labels": LABEL}}}
    }


def test_a_fully_labelled_deployment_needs_no_patch() -> None:
    deployment = workload("Deployment", labels=dict(LABEL), template_labels=dict(LABEL))

    assert labelling.module_label_patch(deployment, pod_template=True) is None


def test_a_deployment_as_a_list_returns_it_without_a_kind_gets_its_template_labelled() -> None:
    listed = workload("Deployment", labels=dict(LABEL), template_labels={"app": "istiod"})
    del listed["kind"]  # LIST items carry no kind; the caller knows it (it listed that kind)

    assert labelling.module_label_patch(listed, pod_template=True) == {
        "spec": {"template": {"metadata": {"labels": LABEL}}}
    }


def test_a_kind_without_a_pod_template_never_gets_one_patched() -> None:
    config_map = {"metadata": {"labels": dict(LABEL)}, "spec": {"template": {"metadata": {}}}}

    assert labelling.module_label_patch(config_map) is None


def test_a_wrong_label_value_is_corrected() -> None:
    config_map = {"kind": "ConfigMap", "metadata": {"labels": {names.MODULE_LABEL: "other"}}}

    assert labelling.module_label_patch(config_map) == {"metadata": {"labels": LABEL}}


def test_patching_leaves_the_object_unchanged_and_patches_are_independent() -> None:
    deployment = workload("Deployment", labels={}, template_labels={})
    snapshot = copy.deepcopy(deployment)

    patch = labelling.module_label_patch(deployment, pod_template=True)
    assert patch is not None
    patch["metadata"]["labels"]["x"] = "y"

    assert deployment == snapshot
    assert labelling.module_label_patch(deployment, pod_template=True) == {
        "metadata": {"labels": LABEL},
        "spec": {"template": {"metadata": {"labels": LABEL}}},
    }


def test_the_kinds_of_the_reference_are_labelled() -> None:
    kinds = {kind.kind: kind for kind in labelling.LABELLED_KINDS}

    assert set(kinds) == {
        "Pod",
        "Secret",
        "ConfigMap",
        "ServiceAccount",
        "CustomResourceDefinition",
        "Deployment",
        "DaemonSet",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "EnvoyFilter",
    }
    assert kinds["Pod"].api_version == "v1"
    assert kinds["HorizontalPodAutoscaler"].api_version == "autoscaling/v2"
    assert not kinds["ClusterRole"].namespaced
    assert {kind.kind for kind in labelling.LABELLED_KINDS if kind.pod_template} == {
        "Deployment",
        "DaemonSet",
    }

"""Module-labelling of the objects istioctl installs (spec 5.9).

Kyma's tooling finds a module's objects by ``kyma-project.io/module``; istioctl does not set it, so after
each install the operator adds it to everything labelled ``operator.istio.io/component``, and to the pod
templates of Deployments and DaemonSets so the pods they create carry it too. The patch is computed here
and is None when nothing is missing, so a no-change reconcile writes nothing (and never restarts istiod
by touching its pod template again).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from kyma_istio.api import names
from kyma_istio.k8s.kinds import Kind


@dataclass(frozen=True)
class LabelledKind(Kind):
    """A kind whose Istio-installed objects (those labelled ``names.ISTIO_COMPONENT_LABEL``) get the
    module label."""

    pod_template: bool = False
    """Whether ``spec.template`` is a pod template that should carry the label too."""


_RBAC = "rbac.authorization.k8s.io"
_ADMISSION = "admissionregistration.k8s.io"

LABELLED_KINDS: Final = (
    LabelledKind("", "v1", "Pod", "pods"),
    LabelledKind("", "v1", "Secret", "secrets"),
    LabelledKind("", "v1", "ConfigMap", "configmaps"),
    LabelledKind("", "v1", "ServiceAccount", "serviceaccounts"),
    LabelledKind(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        namespaced=False,
    ),
    LabelledKind("apps", "v1", "Deployment", "deployments", pod_template=True),
    LabelledKind("apps", "v1", "DaemonSet", "daemonsets", pod_template=True),
    LabelledKind("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets"),
    LabelledKind("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
    LabelledKind(_RBAC, "v1", "Role", "roles"),
    LabelledKind(_RBAC, "v1", "RoleBinding", "rolebindings"),
    LabelledKind(_RBAC, "v1", "ClusterRole", "clusterroles", namespaced=False),
    LabelledKind(_RBAC, "v1", "ClusterRoleBinding", "clusterrolebindings", namespaced=False),
    LabelledKind(
        _ADMISSION,
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        namespaced=False,
    ),
    LabelledKind(
        _ADMISSION, "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", namespaced=False
    ),
    LabelledKind("networking.istio.io", "v1alpha3", "EnvoyFilter", "envoyfilters"),
)
"""The kinds of spec 5.9; a kind whose listing is NotFound is skipped by the shell."""

_LABEL: Final = {names.MODULE_LABEL: names.MODULE_LABEL_VALUE}


def _has_label(metadata: Mapping[str, Any] | None) -> bool:
    labels = (metadata or {}).get("labels") or {}
    return bool(labels.get(names.MODULE_LABEL) == names.MODULE_LABEL_VALUE)


def module_label_patch(obj: Mapping[str, Any], *, pod_template: bool = False) -> dict[str, Any] | None:
    """A JSON merge patch adding the module label where ``obj`` lacks it, or None if nothing is missing;
    with ``pod_template`` (``LabelledKind.pod_template``) on ``spec.template`` too. The kind comes from
    the caller: the items of a LIST carry no ``kind`` of their own."""
    patch: dict[str, Any] = {}
    if not _has_label(obj.get("metadata")):
        patch["metadata"] = {"labels": dict(_LABEL)}
    if pod_template:
        template = (obj.get("spec") or {}).get("template") or {}
        if not _has_label(template.get("metadata")):
            patch["spec"] = {"template": {"metadata": {"labels": dict(_LABEL)}}}
    return patch or None

"""The operator's Kubernetes permissions, as data: what its own code calls, and what istioctl needs.

The Helm chart's ClusterRole and Role are rendered from these tables (``python -m
kyma_istio.operator.rbac`` rewrites ``deploy/chart/files/``), and unit tests check both directions: every
kind the code's tables name is granted the verbs the code uses on it, and the chart's rules are exactly
these. The permissions come in three blocks:

- :data:`OPERATOR_RULES`: the requests of the operator's own code (``cluster/kinds.py``, the kind tables
  of ``resources/`` and ``reconcile/sidecars.py``). Each rule says where it comes from.
- :data:`ISTIOCTL_RULES`: what ``istioctl install`` and ``istioctl uninstall --purge`` do with the same
  credentials. They create, update, prune and delete every kind of Istio's charts, so these rules mirror
  the reference ClusterRole (spec 11.3) for those kinds. Left out on purpose: ``pods/proxy``,
  ``persistentvolumeclaims`` and ``endpoints`` (no install or uninstall step uses them),
  ``servicemonitors`` (the operator creates none) and ``deployments/finalizers`` (only relevant to
  controller-runtime's owner references, which this operator does not set). RBAC's escalation check
  decides the rest: the operator must hold what istiod's Role in ``istio-system`` grants (leases), which
  the chart's integration test found by running istioctl install and uninstall as the ServiceAccount.
- :data:`NAMESPACE_RULES`: the Role in the operator's own namespace: the leader-election Lease and the
  Events posted on the Istio CR (the CR lives in ``kyma-system``, the chart's namespace).

``clusterroles`` carries ``*`` as in the reference: istiod's ClusterRole grants ``*`` on
``ingresses/status`` and many read rights, and Kubernetes lets a subject create a role only with rights
it holds itself or with the ``escalate``/``bind`` verbs, which ``*`` includes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

ALL: Final = ("*",)
"""Every verb, including ``escalate`` and ``bind``."""

CRUD: Final = ("get", "list", "watch", "create", "update", "patch", "delete")
"""Every verb of the ordinary object lifecycle (``deletecollection`` is not used by anyone)."""


@dataclass(frozen=True)
class Rule:
    """One (apiGroup, resources, verbs) grant and why it is needed."""

    group: str
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    why: str

    def grants(self, group: str, resource: str, verb: str) -> bool:
        return (
            self.group == group
            and (resource in self.resources or "*" in self.resources)
            and (verb in self.verbs or "*" in self.verbs)
        )


_OP = "operator.kyma-project.io"
_APPS = "apps"
_RBAC = "rbac.authorization.k8s.io"
_ADMISSION = "admissionregistration.k8s.io"
_CRDS = "apiextensions.k8s.io"
_GATEWAY_API = "gateway.networking.k8s.io"

OPERATOR_RULES: Final[tuple[Rule, ...]] = (
    Rule(_OP, ("istios",), ("get", "list", "watch", "patch"), "kopf watches the CR; finalizer, annotations"),
    Rule(_OP, ("istios/status",), ("get", "patch"), "state, conditions and description"),
    Rule("", ("nodes",), ("list",), "cluster size for the resource profile"),
    Rule("", ("namespaces",), ("get", "list", "patch", "delete"), "warden label, injection scan, uninstall"),
    Rule("", ("pods",), ("get", "list", "patch"), "sidecar scan, pod versions, module label"),
    Rule("", ("pods/eviction",), ("create",), "restart pods of owners without a rollout"),
    Rule("", ("replicationcontrollers",), ("get", "patch"), "restart target of sidecar restarts"),
    Rule(_APPS, ("deployments", "daemonsets"), ("get", "list", "patch"), "restarts, module label"),
    Rule(_APPS, ("statefulsets", "replicasets"), ("get", "patch"), "restart owners"),
    Rule("", ("secrets", "configmaps", "serviceaccounts"), ("list", "patch"), "module label"),
    Rule("policy", ("poddisruptionbudgets",), ("list", "patch"), "module label"),
    Rule("autoscaling", ("horizontalpodautoscalers",), ("list", "patch"), "module label"),
    Rule(
        _RBAC,
        ("roles", "rolebindings", "clusterrolebindings"),
        ("list", "patch"),
        "module label",
    ),
    Rule(_RBAC, ("clusterroles",), ("list", "patch"), "module label"),
    Rule(_CRDS, ("customresourcedefinitions",), ("get", "list", "patch"), "kind checks, module label"),
    Rule(_ADMISSION, ("mutatingwebhookconfigurations",), ("list", "patch", "delete"), "label, conflicts"),
    Rule(_ADMISSION, ("validatingwebhookconfigurations",), ("list", "patch"), "module label"),
    Rule(
        "security.istio.io",
        ("peerauthentications",),
        ("get", "list", "create", "patch", "delete"),
        "managed resources (server-side apply creates), dangling check",
    ),
    Rule(
        "networking.istio.io",
        ("envoyfilters",),
        ("get", "list", "create", "patch", "delete"),
        "managed resources, module label, dangling check",
    ),
    Rule(
        "security.istio.io",
        ("authorizationpolicies", "requestauthentications"),
        ("list",),
        "dangling check",
    ),
    Rule(
        "networking.istio.io",
        (
            "destinationrules",
            "gateways",
            "proxyconfigs",
            "serviceentries",
            "sidecars",
            "virtualservices",
            "workloadentries",
            "workloadgroups",
        ),
        ("list",),
        "dangling check",
    ),
    Rule("telemetry.istio.io", ("telemetries",), ("list",), "dangling check"),
    Rule("extensions.istio.io", ("wasmplugins",), ("list",), "dangling check"),
    Rule(
        _GATEWAY_API,
        ("gatewayclasses", "gateways", "httproutes", "grpcroutes", "tlsroutes", "tcproutes", "udproutes"),
        ("list",),
        "dangling check of Gateway API objects that Istio implements",
    ),
)
"""The operator's own API requests."""

ISTIO_GROUPS: Final = (
    "authentication.istio.io",
    "config.istio.io",
    "install.istio.io",
    "networking.istio.io",
    "security.istio.io",
    "telemetry.istio.io",
    "extensions.istio.io",
)

ISTIOCTL_RULES: Final[tuple[Rule, ...]] = (
    *(
        Rule(group, ("*",), ALL, "Istio's own kinds: istioctl installs and purges them")
        for group in ISTIO_GROUPS
    ),
    Rule(_CRDS, ("customresourcedefinitions",), CRUD, "Istio's CRDs"),
    Rule(
        _ADMISSION,
        ("mutatingwebhookconfigurations", "validatingwebhookconfigurations"),
        CRUD,
        "sidecar injector and validation webhooks",
    ),
    Rule(
        _APPS,
        ("deployments", "daemonsets", "replicasets", "statefulsets"),
        CRUD,
        "istiod, gateways, istio-cni; readiness waits read replicasets",
    ),
    Rule("autoscaling", ("horizontalpodautoscalers",), CRUD, "istiod and gateway autoscalers"),
    Rule("policy", ("poddisruptionbudgets",), CRUD, "istiod and gateway disruption budgets"),
    Rule(_RBAC, ("roles", "rolebindings", "clusterrolebindings"), CRUD, "RBAC of istiod, gateways, CNI"),
    Rule(_RBAC, ("clusterroles",), ALL, "istiod's ClusterRole holds rights the operator does not"),
    Rule(
        "",
        ("pods/portforward",),
        ("create",),
        "uninstall --purge asks istiod, through a port-forward, which proxies are still connected",
    ),
    Rule(
        "coordination.k8s.io",
        ("leases",),
        ("get", "create", "update", "patch"),
        "istiod's Role in istio-system grants these; RBAC lets only a holder create that Role",
    ),
    Rule(
        "",
        (
            "configmaps",
            "events",
            "namespaces",
            "pods",
            "resourcequotas",
            "secrets",
            "serviceaccounts",
            "services",
        ),
        CRUD,
        "namespaced objects of Istio's charts; istio-cni may add a ResourceQuota",
    ),
)
"""What istioctl install/uninstall --purge needs, mirroring spec 11.3 for those kinds."""

NAMESPACE_RULES: Final[tuple[Rule, ...]] = (
    Rule("coordination.k8s.io", ("leases",), ("get", "create", "patch"), "leader election"),
    Rule("", ("events",), ("create",), "events on the Istio CR"),
)
"""The Role in the operator's namespace."""

CHART_FILES: Final = Path(__file__).resolve().parents[3] / "deploy" / "chart" / "files"
"""Where the chart's rule files live in a source checkout."""


def merged(rules: Iterable[Rule]) -> list[dict[str, Any]]:
    """Kubernetes PolicyRules: one per (group, verbs), resources sorted; ``*`` absorbs narrower grants."""
    by_key: dict[tuple[str, str], set[str]] = {}
    for rule in rules:
        for resource in rule.resources:
            by_key.setdefault((rule.group, resource), set()).update(rule.verbs)
    # A group granted everything on "*" needs no narrower rule.
    whole = {group for (group, resource), verbs in by_key.items() if resource == "*" and "*" in verbs}
    by_key = {key: verbs for key, verbs in by_key.items() if key[0] not in whole or key[1] == "*"}
    grouped: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for (group, resource), verbs in sorted(by_key.items()):
        key = (group, ALL if "*" in verbs else tuple(sorted(verbs)))
        grouped.setdefault(key, []).append(resource)
    return [
        {"apiGroups": [group], "resources": sorted(resources), "verbs": list(verbs)}
        for (group, verbs), resources in sorted(grouped.items())
    ]


def cluster_rules() -> list[dict[str, Any]]:
    """The ClusterRole's rules: the operator's own needs and istioctl's, merged."""
    return merged((*OPERATOR_RULES, *ISTIOCTL_RULES))


def namespace_rules() -> list[dict[str, Any]]:
    """The Role's rules in the operator's namespace."""
    return merged(NAMESPACE_RULES)


def granted(rules: Sequence[Rule], group: str, resource: str, verb: str) -> bool:
    """Whether any of ``rules`` allows ``verb`` on ``group``/``resource``."""
    return any(rule.grants(group, resource, verb) for rule in rules)


HEADER: Final = "# Generated by `python -m kyma_istio.operator.rbac` from src/kyma_istio/operator/rbac.py.\n"


def render(rules: list[dict[str, Any]]) -> str:
    """The YAML the chart includes as a rules list."""
    return HEADER + yaml.safe_dump(rules, sort_keys=False, default_flow_style=None, width=200)


def write(directory: Path = CHART_FILES) -> None:
    """Rewrite the chart's rule files."""
    (directory / "clusterrole-rules.yaml").write_text(render(cluster_rules()))
    (directory / "role-rules.yaml").write_text(render(namespace_rules()))


if __name__ == "__main__":  # pragma: no cover
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else CHART_FILES)

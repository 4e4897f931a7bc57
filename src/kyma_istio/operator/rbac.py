"""The operator's Kubernetes permissions, as data: what its own code calls, and what istioctl needs, each
granted in the narrowest scope that works.

The Helm chart's ClusterRole and Roles are rendered from these tables (``python -m
kyma_istio.operator.rbac`` rewrites ``deploy/chart/files/`` and the table of ``docs/security.md``), and
unit tests check both directions: every request the code's kind tables imply is granted, and nothing
else. The rules come in four blocks:

- :data:`OPERATOR_RULES` (ClusterRole): the cluster-wide requests of the operator's own code: the CR,
  node sizes, the sidecar scan and restarts of workloads in any namespace, the module label on Istio's
  cluster-scoped objects, the uninstall blocker check.
- :data:`ISTIOCTL_RULES` (ClusterRole): what ``istioctl install`` and ``uninstall --purge`` do outside a
  namespace: Istio's CRDs, webhooks, ClusterRoles and ClusterRoleBindings, by name wherever Kubernetes
  checks names, plus the label-selected listings of its prune step.
- :data:`ISTIO_NAMESPACE_RULES` (Role in ``istio-system``): every create and delete of a namespaced
  object of Istio's install, the module's own Istio resources, and ``escalate``/``bind`` of Istio's Roles.
- :data:`NAMESPACE_RULES` (Role in the release namespace): the leader-election Lease and the Events
  posted on the Istio CR.

Names come from ``resources/istio-inventory.yaml``, which is generated from ``istioctl manifest
generate``. ``create``, ``list``, ``watch`` and ``deletecollection`` cannot be limited by name in
Kubernetes (the name is not known when they are authorized); docs/security.md says what that leaves open.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from kyma_istio.api import names
from kyma_istio.installer import istioctl
from kyma_istio.operator import inventory as generator
from kyma_istio.resources import dangling, desired, inventory

CRUD: Final = ("get", "list", "watch", "create", "update", "patch", "delete")
"""Every verb of the ordinary object lifecycle (``deletecollection`` is not used by anyone)."""

UNNAMED_VERBS: Final = frozenset({"create", "list", "watch", "deletecollection"})
"""Verbs Kubernetes authorizes without an object name, so ``resourceNames`` cannot limit them."""

BY_NAME: Final = ("get", "update", "patch", "delete")
"""The object verbs that ``resourceNames`` can limit."""


@dataclass(frozen=True)
class Rule:
    """One (apiGroup, resources, verbs[, resourceNames]) grant and why it is needed."""

    group: str
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    why: str
    names: tuple[str, ...] = ()
    """``resourceNames``: when set, the rule allows only requests for these objects."""

    def grants(self, group: str, resource: str, verb: str, name: str | None = None) -> bool:
        """Whether this rule allows the request; an unnamed request never matches a named rule."""
        if self.group != group or resource not in self.resources or verb not in self.verbs:
            return False
        return not self.names or name in self.names


def named(
    group: str, resources: tuple[str, ...], verbs: tuple[str, ...], why: str, *objects: str
) -> tuple[Rule, ...]:
    """A rule limited to ``objects``, or no rule when there are none: an empty ``resourceNames`` would
    allow every object, the opposite of what a rule by name means."""
    return (Rule(group, resources, verbs, why, tuple(objects)),) if objects else ()


_OP = names.GROUP
_APPS = "apps"
_RBAC = "rbac.authorization.k8s.io"
_ADMISSION = "admissionregistration.k8s.io"
_CRDS = "apiextensions.k8s.io"
_ISTIO_NS = (names.ISTIO_NAMESPACE,)


def _istio_kinds() -> dict[str, tuple[str, ...]]:
    """Istio's own kinds by API group, read from the names of the CRDs it installs."""
    by_group: dict[str, set[str]] = {}
    for crd in inventory.names_of(_CRDS, "customresourcedefinitions"):
        plural, _, group = crd.partition(".")
        by_group.setdefault(group, set()).add(plural)
    return {group: tuple(sorted(plurals)) for group, plurals in sorted(by_group.items())}


ISTIO_KINDS: Final = _istio_kinds()
ISTIO_CRDS: Final = inventory.names_of(_CRDS, "customresourcedefinitions")
ISTIO_CLUSTER_ROLES: Final = inventory.names_of(_RBAC, "clusterroles")
ISTIO_CLUSTER_ROLE_BINDINGS: Final = inventory.names_of(_RBAC, "clusterrolebindings")
ISTIO_ROLES: Final = inventory.names_of(_RBAC, "roles")
ISTIO_MUTATING_WEBHOOKS: Final = inventory.names_of(_ADMISSION, "mutatingwebhookconfigurations")
ISTIO_VALIDATING_WEBHOOKS: Final = inventory.names_of(_ADMISSION, "validatingwebhookconfigurations")
REVISION_TAG_WEBHOOKS: Final = tuple(
    n for n in ISTIO_MUTATING_WEBHOOKS if n.startswith("istio-revision-tag-")
)
"""The webhooks the conflict cleanup may delete after a failed install (spec 5.7)."""
CHECKED_CRDS: Final = tuple(sorted({kind.crd_name for kind in dangling.CONTROLLED_KINDS} | {names.CRD_NAME}))
"""CRDs the operator reads by name: its own, and those of the kinds that block an uninstall."""

WORKLOADS: Final = ("daemonsets", "deployments", "replicasets", "statefulsets")


def _listed_by_the_operator() -> dict[str, tuple[str, ...]]:
    """Istio and Gateway API kinds the operator lists everywhere: uninstall blockers, its own resources."""
    by_group: dict[str, set[str]] = {}
    for kind in (*dangling.CONTROLLED_KINDS, *desired.MANAGED_KINDS):
        by_group.setdefault(kind.group, set()).add(kind.plural)
    return {group: tuple(sorted(plurals)) for group, plurals in sorted(by_group.items())}


OPERATOR_RULES: Final[tuple[Rule, ...]] = (
    Rule(_OP, ("istios",), ("get", "list", "watch", "patch"), "kopf watches the CR in every namespace"),
    Rule(_OP, ("istios/status",), ("get", "patch"), "state, conditions and description"),
    Rule("", ("nodes",), ("list",), "cluster size, flavour and provider"),
    Rule(
        "",
        ("namespaces",),
        ("list", "watch"),
        "sidecar scan: opt-outs, windows, exclusions, injection; a namespace gaining injection (watch)",
    ),
    Rule(
        "",
        ("events",),
        ("create", "patch"),
        "RestartRequired and RestartConfigInvalid on workloads and namespaces; a repeated Event's count",
    ),
    *named("", ("namespaces",), ("get", "patch", "delete"), "warden label; uninstall", *_ISTIO_NS),
    Rule("", ("pods",), ("get", "list"), "sidecar scan in every namespace, replacement waits"),
    Rule("", ("pods/eviction",), ("create",), "restart pods of owners without a rollout"),
    Rule(_APPS, WORKLOADS, ("get", "list", "patch"), "sidecar restarts: owners, rollout annotation"),
    Rule("", ("replicationcontrollers",), ("get", "list", "patch"), "sidecar restarts"),
    Rule(_CRDS, ("customresourcedefinitions",), ("list",), "module label on Istio's CRDs"),
    *named(_CRDS, ("customresourcedefinitions",), ("get",), "which blocking kinds exist", *CHECKED_CRDS),
    *named(_CRDS, ("customresourcedefinitions",), ("patch",), "module label", *ISTIO_CRDS),
    Rule(
        _ADMISSION,
        ("mutatingwebhookconfigurations", "validatingwebhookconfigurations"),
        ("list",),
        "module label; webhook conflicts after a failed install",
    ),
    *named(
        _ADMISSION, ("mutatingwebhookconfigurations",), ("patch",), "module label", *ISTIO_MUTATING_WEBHOOKS
    ),
    *named(
        _ADMISSION,
        ("mutatingwebhookconfigurations",),
        ("delete",),
        "delete a conflicting revision tag after a failed install",
        *REVISION_TAG_WEBHOOKS,
    ),
    *named(
        _ADMISSION,
        ("validatingwebhookconfigurations",),
        ("patch",),
        "module label",
        *ISTIO_VALIDATING_WEBHOOKS,
    ),
    Rule(_RBAC, ("clusterroles", "clusterrolebindings"), ("list",), "module label"),
    *named(_RBAC, ("clusterroles",), ("patch",), "module label", *ISTIO_CLUSTER_ROLES),
    *named(_RBAC, ("clusterrolebindings",), ("patch",), "module label", *ISTIO_CLUSTER_ROLE_BINDINGS),
    *(
        Rule(group, plurals, ("list",), "uninstall blockers; the module's own Istio resources")
        for group, plurals in _listed_by_the_operator().items()
    ),
)
"""The operator's own cluster-wide requests."""

PRUNE_LISTED: Final = (
    ("", ("configmaps", "secrets", "serviceaccounts", "services")),
    (_APPS, ("daemonsets", "deployments")),
    (_RBAC, ("rolebindings", "roles")),
    ("policy", ("poddisruptionbudgets",)),
    ("autoscaling", ("horizontalpodautoscalers",)),
)
"""What istioctl's prune lists in every namespace by label (``uninstall.NamespacedResources``; pods and
EnvoyFilters are granted elsewhere). Secrets are among them: istioctl 1.23 skipped a refused listing, but
from 1.24 a refused one fails the install, and RBAC cannot limit a listing to the labels istioctl selects
by, so the operator may list Secrets in every namespace (docs/security.md says what that exposes)."""

ISTIOCTL_RULES: Final[tuple[Rule, ...]] = (
    Rule(_CRDS, ("customresourcedefinitions",), ("create", "list", "watch"), "Istio's CRDs"),
    *named(_CRDS, ("customresourcedefinitions",), BY_NAME, "Istio's CRDs, by name", *ISTIO_CRDS),
    Rule(
        _ADMISSION,
        ("mutatingwebhookconfigurations", "validatingwebhookconfigurations"),
        ("create", "list", "watch"),
        "sidecar injector, validation and revision-tag webhooks",
    ),
    *named(
        _ADMISSION, ("mutatingwebhookconfigurations",), BY_NAME, "Istio's webhooks", *ISTIO_MUTATING_WEBHOOKS
    ),
    *named(
        _ADMISSION,
        ("validatingwebhookconfigurations",),
        BY_NAME,
        "Istio's webhooks",
        *ISTIO_VALIDATING_WEBHOOKS,
    ),
    Rule(
        _RBAC,
        ("clusterroles", "clusterrolebindings"),
        ("create", "list", "watch"),
        "Istio's ClusterRoles and bindings (create cannot be limited by name)",
    ),
    *named(
        _RBAC,
        ("clusterroles",),
        (*BY_NAME, "escalate", "bind"),
        "Istio's ClusterRoles grant rights the operator lacks: escalate and bind them by name only",
        *ISTIO_CLUSTER_ROLES,
    ),
    *named(
        _RBAC, ("clusterrolebindings",), BY_NAME, "Istio's ClusterRoleBindings", *ISTIO_CLUSTER_ROLE_BINDINGS
    ),
    Rule("", ("namespaces",), ("create",), "istioctl creates istio-system when it is missing"),
    *named("", ("namespaces",), ("update",), "istioctl updates istio-system", *_ISTIO_NS),
    *(
        Rule(group, plurals, ("get", "list", "watch"), "istioctl reads Istio config in every namespace")
        for group, plurals in ISTIO_KINDS.items()
    ),
    Rule(
        "install.istio.io", ("istiooperators",), ("list",), "purge looks for an older install's IstioOperator"
    ),
    Rule(
        "k8s.cni.cncf.io",
        ("networkattachmentdefinitions",),
        ("list",),
        "purge (from Istio 1.24) looks for Istio's Multus attachments; refused, it fails even without Multus",
    ),
    *(
        Rule(group, plurals, ("list",), "istioctl's prune lists Istio's objects by label in every namespace")
        for group, plurals in PRUNE_LISTED
    ),
)
"""What istioctl needs outside ``istio-system``."""


def _install_rules() -> tuple[Rule, ...]:
    """CRUD on every namespaced kind of Istio's install (the inventory), grouped by API group."""
    by_group: dict[str, set[str]] = {}
    for group, plural in inventory.namespaced_resources():
        by_group.setdefault(group, set()).add(plural)
    return tuple(
        Rule(group, tuple(sorted(plurals)), CRUD, "the namespaced objects of Istio's install")
        for group, plurals in sorted(by_group.items())
    )


ISTIO_NAMESPACE_RULES: Final[tuple[Rule, ...]] = (
    *_install_rules(),
    *named(_RBAC, ("roles",), ("escalate", "bind"), "Istio's Roles, by name only", *ISTIO_ROLES),
    Rule(_APPS, ("replicasets",), ("get", "list", "watch"), "istioctl's readiness wait"),
    Rule("", ("pods",), ("get", "list", "watch", "patch", "delete"), "readiness, versions, label; purge"),
    Rule("", ("pods/portforward",), ("create",), "uninstall --purge asks istiod which proxies remain"),
    Rule(
        "",
        ("secrets", "configmaps", "serviceaccounts"),
        ("list", "patch"),
        "module label on Istio's objects (istiod creates some)",
    ),
    Rule(_APPS, ("deployments", "daemonsets"), ("list", "patch"), "module label"),
    Rule("policy", ("poddisruptionbudgets",), ("list", "patch"), "module label"),
    Rule("autoscaling", ("horizontalpodautoscalers",), ("list", "patch"), "module label"),
    Rule(_RBAC, ("roles", "rolebindings"), ("list", "patch"), "module label"),
    Rule("install.istio.io", ("istiooperators",), ("get", "delete"), "istioctl drops an old installed state"),
    Rule(
        "security.istio.io",
        ("peerauthentications",),
        ("get", "list", "create", "patch", "delete"),
        "the module's mesh-wide mTLS (server-side apply creates)",
    ),
    Rule(
        "networking.istio.io",
        ("envoyfilters",),
        ("get", "list", "create", "patch", "delete"),
        "the module's EnvoyFilters; module label; users' EnvoyFilters on the ingress gateway (a warning)",
    ),
)
"""The Role in ``istio-system``."""

NAMESPACE_RULES: Final[tuple[Rule, ...]] = (
    Rule("coordination.k8s.io", ("leases",), ("get", "create", "patch"), "leader election"),
    Rule("", ("events",), ("create",), "events on the Istio CR"),
)
"""The Role in the operator's namespace."""

CHART_FILES: Final = Path(__file__).resolve().parents[3] / "deploy" / "chart" / "files"
"""Where the chart's rule files live in a source checkout."""

FILES: Final = {
    "clusterrole-rules.yaml": (*OPERATOR_RULES, *ISTIOCTL_RULES),
    "istio-system-role-rules.yaml": ISTIO_NAMESPACE_RULES,
    "role-rules.yaml": NAMESPACE_RULES,
}
"""The chart's rule files and the blocks each renders."""


def merged(rules: Iterable[Rule]) -> list[dict[str, Any]]:
    """Kubernetes PolicyRules: one per (group, verbs, names), resources sorted."""
    by_key: dict[tuple[str, str, tuple[str, ...]], set[str]] = {}
    for rule in rules:
        for resource in rule.resources:
            by_key.setdefault((rule.group, resource, rule.names), set()).update(rule.verbs)
    grouped: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[str]] = {}
    for (group, resource, names_), verb_set in sorted(by_key.items()):
        grouped.setdefault((group, tuple(sorted(verb_set)), names_), []).append(resource)
    policy: list[dict[str, Any]] = []
    for (group, verbs, names_), resources in sorted(grouped.items()):
        entry: dict[str, Any] = {"apiGroups": [group], "resources": sorted(resources), "verbs": list(verbs)}
        if names_:
            entry["resourceNames"] = list(names_)
        policy.append(entry)
    return policy


def cluster_rules() -> list[dict[str, Any]]:
    """The ClusterRole's rules: the operator's own needs and istioctl's, merged."""
    return merged(FILES["clusterrole-rules.yaml"])


def istio_namespace_rules() -> list[dict[str, Any]]:
    """The Role's rules in ``istio-system``."""
    return merged(ISTIO_NAMESPACE_RULES)


def namespace_rules() -> list[dict[str, Any]]:
    """The Role's rules in the operator's namespace."""
    return merged(NAMESPACE_RULES)


def granted(rules: Sequence[Rule], group: str, resource: str, verb: str, name: str | None = None) -> bool:
    """Whether any of ``rules`` allows ``verb`` on ``group``/``resource`` (and the object ``name``)."""
    return any(rule.grants(group, resource, verb, name) for rule in rules)


HEADER: Final = "# Generated by `python -m kyma_istio.operator.rbac` from src/kyma_istio/operator/rbac.py.\n"


def render(rules: list[dict[str, Any]]) -> str:
    """The YAML the chart includes as a rules list."""
    return HEADER + yaml.safe_dump(rules, sort_keys=False, default_flow_style=None, width=200)


def write(directory: Path = CHART_FILES) -> None:
    """Rewrite the chart's rule files."""
    for name, rules in FILES.items():
        (directory / name).write_text(render(merged(rules)))


SECURITY_DOC: Final = CHART_FILES.parents[2] / "docs" / "security.md"
TABLE_BEGIN: Final = "<!-- rbac-table: generated by `python -m kyma_istio.operator.rbac`, do not edit -->"
TABLE_END: Final = "<!-- rbac-table end -->"
SCOPES: Final = (
    ("cluster", OPERATOR_RULES),
    ("cluster (istioctl)", ISTIOCTL_RULES),
    (names.ISTIO_NAMESPACE, ISTIO_NAMESPACE_RULES),
    ("release namespace", NAMESPACE_RULES),
)


def _names_cell(objects: tuple[str, ...]) -> str:
    if not objects:
        return "any"
    if len(objects) <= 3:
        return ", ".join(objects)
    return f"{len(objects)} names (the chart's rule files list them)"


def markdown_table() -> str:
    """Every rule with its scope and reason, as a Markdown table for docs/security.md."""
    lines = [
        "| scope | API group | resources | verbs | only these names | why |",
        "|---|---|---|---|---|---|",
    ]
    for scope, rules in SCOPES:
        for rule in rules:
            cells = (
                scope,
                f"`{rule.group or 'core'}`",
                ", ".join(rule.resources),
                ", ".join(rule.verbs),
                _names_cell(rule.names),
                rule.why,
            )
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def with_table(document: str) -> str:
    """``document`` with the text between the table markers replaced by :func:`markdown_table`."""
    head, begin, rest = document.partition(TABLE_BEGIN)
    _, end, tail = rest.partition(TABLE_END)
    if not (begin and end):
        raise ValueError(f"docs/security.md lacks the markers {TABLE_BEGIN!r} and {TABLE_END!r}")
    return f"{head}{TABLE_BEGIN}\n{markdown_table()}\n{TABLE_END}{tail}"


def main(argv: Sequence[str]) -> None:
    """Rewrite the chart's rule files and the docs table; with ``--inventory``, first regenerate the
    inventory from ``istioctl manifest generate`` (needs istioctl, see testenv/build)."""
    if "--inventory" in argv:
        tool = istioctl.Istioctl(istioctl.find_istioctl(), kubeconfig=None, log=logging.getLogger("rbac"))
        objects = asyncio.run(generator.generate(tool))
        inventory.INVENTORY_FILE.write_text(inventory.render(objects))
        print("inventory rewritten; run again without --inventory to render the new names")
        return
    write()
    SECURITY_DOC.write_text(with_table(SECURITY_DOC.read_text()))


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])

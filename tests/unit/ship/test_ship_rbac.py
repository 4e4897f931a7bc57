"""The operator's permissions: derived from the code's kind tables, rendered into the chart unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kyma_istio.k8s import kinds
from kyma_istio.operator import rbac
from kyma_istio.resources import dangling, desired, labelling
from kyma_istio.restart import owners

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "deploy" / "chart"

# The verbs the code uses on each kind of k8s/kinds.py (read from the call sites in reconcile/,
# operator/ and the kopf watch). A kind added there without an entry here fails the completeness test.
KIND_VERBS: dict[str, tuple[str, ...]] = {
    "istios": ("get", "list", "watch", "patch"),
    "nodes": ("list",),
    "namespaces": ("get", "list", "patch", "delete"),
    "pods": ("get", "list"),
    "events": ("create",),
    "deployments": ("get", "patch"),
    "daemonsets": ("get", "patch"),
    "statefulsets": ("get", "patch"),
    "replicasets": ("get", "patch"),
    "customresourcedefinitions": ("get",),
    "mutatingwebhookconfigurations": ("list", "delete"),
    "leases": ("get", "create", "patch"),
}

# The verbs the code uses on every kind of each table.
TABLE_VERBS: dict[str, tuple[tuple[Any, ...], tuple[str, ...]]] = {
    "resources.desired.MANAGED_KINDS": (desired.MANAGED_KINDS, ("get", "list", "create", "patch", "delete")),
    "resources.dangling.CONTROLLED_KINDS": (dangling.CONTROLLED_KINDS, ("list",)),
    "resources.labelling.LABELLED_KINDS": (labelling.LABELLED_KINDS, ("list", "patch")),
    "restart.owners.WORKLOAD_KINDS": (tuple(owners.WORKLOAD_KINDS.values()), ("get", "patch")),
}

SUBRESOURCES: tuple[tuple[str, str, str], ...] = (
    ("operator.kyma-project.io", "istios/status", "get"),
    ("operator.kyma-project.io", "istios/status", "patch"),
    ("", "pods/eviction", "create"),
)
"""Subresource requests: status writes and evictions (``Kube.patch(status=True)``, ``Kube.evict``)."""

NAMESPACED_ONLY = {"leases", "events"}
"""Kinds the code touches only in its own namespace: granted by the Role."""


def _module_kinds() -> list[kinds.Kind]:
    return [value for value in vars(kinds).values() if isinstance(value, kinds.Kind)]


def _needs() -> list[tuple[str, str, str, str]]:
    """(where, group, resource, verb) for every request the code's tables imply."""
    needs = [
        ("k8s/kinds.py", kind.group, kind.plural, verb)
        for kind in _module_kinds()
        for verb in KIND_VERBS.get(kind.plural, ())
    ]
    for where, (table, verbs) in TABLE_VERBS.items():
        needs += [(where, kind.group, kind.plural, verb) for kind in table for verb in verbs]
    needs += [("subresource", group, resource, verb) for group, resource, verb in SUBRESOURCES]
    return needs


def test_every_kind_of_the_kinds_module_has_its_verbs_listed_here() -> None:
    listed = {kind.plural for kind in _module_kinds()}
    assert listed == set(KIND_VERBS)


def test_every_request_the_code_makes_is_granted_to_the_operator() -> None:
    cluster_wide = rbac.OPERATOR_RULES
    missing = [
        need
        for need in _needs()
        if not (
            rbac.granted(rbac.NAMESPACE_RULES, *need[1:])
            if need[2] in NAMESPACED_ONLY
            else rbac.granted(cluster_wide, *need[1:])
        )
    ]
    assert missing == []


def test_the_operator_rules_grant_nothing_the_code_does_not_use() -> None:
    needed = {need[1:] for need in _needs() if need[2] not in NAMESPACED_ONLY}
    granted = {
        (rule.group, resource, verb)
        for rule in rbac.OPERATOR_RULES
        for resource in rule.resources
        for verb in rule.verbs
    }
    assert granted - needed == set()


def test_the_role_grants_only_what_leader_election_and_events_use() -> None:
    needed = {need[1:] for need in _needs() if need[2] in NAMESPACED_ONLY}
    granted = {
        (rule.group, resource, verb)
        for rule in rbac.NAMESPACE_RULES
        for resource in rule.resources
        for verb in rule.verbs
    }
    assert granted == needed


def test_istioctl_can_manage_every_kind_istios_charts_install() -> None:
    for group, resource in [
        ("apiextensions.k8s.io", "customresourcedefinitions"),
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
        ("apps", "deployments"),
        ("apps", "daemonsets"),
        ("", "services"),
        ("", "serviceaccounts"),
        ("", "configmaps"),
        ("", "namespaces"),
        ("rbac.authorization.k8s.io", "clusterrolebindings"),
        ("install.istio.io", "istiooperators"),
    ]:
        for verb in ("create", "get", "list", "update", "patch", "delete"):
            assert rbac.granted(rbac.ISTIOCTL_RULES, group, resource, verb), (group, resource, verb)


def test_clusterroles_carry_every_verb_so_istiods_role_can_be_created() -> None:
    for verb in ("create", "escalate", "bind"):
        assert rbac.granted(rbac.ISTIOCTL_RULES, "rbac.authorization.k8s.io", "clusterroles", verb)


def test_the_operator_may_not_touch_nodes_beyond_listing_them() -> None:
    rules = (*rbac.OPERATOR_RULES, *rbac.ISTIOCTL_RULES, *rbac.NAMESPACE_RULES)
    assert rbac.granted(rules, "", "nodes", "list")
    for verb in ("get", "patch", "update", "delete"):
        assert not rbac.granted(rules, "", "nodes", verb)


def test_merging_drops_grants_a_wildcard_rule_of_the_same_group_already_covers() -> None:
    rules = rbac.merged(
        [
            rbac.Rule("g", ("*",), ("*",), "all"),
            rbac.Rule("g", ("things",), ("list",), "narrow"),
            rbac.Rule("h", ("a",), ("get",), "x"),
            rbac.Rule("h", ("b",), ("get",), "y"),
        ]
    )
    assert rules == [
        {"apiGroups": ["g"], "resources": ["*"], "verbs": ["*"]},
        {"apiGroups": ["h"], "resources": ["a", "b"], "verbs": ["get"]},
    ]


@pytest.mark.parametrize(
    ("name", "rules"),
    [("clusterrole-rules.yaml", rbac.cluster_rules()), ("role-rules.yaml", rbac.namespace_rules())],
)
def test_the_charts_rule_files_are_the_rendering_of_the_rbac_tables(
    name: str, rules: list[dict[str, Any]]
) -> None:
    text = (CHART / "files" / name).read_text()
    assert text == rbac.render(rules), "run `python -m kyma_istio.operator.rbac` to regenerate"
    assert yaml.safe_load(text) == rules


def test_the_rendering_writes_both_rule_files(tmp_path: Path) -> None:
    rbac.write(tmp_path)
    assert yaml.safe_load((tmp_path / "clusterrole-rules.yaml").read_text()) == rbac.cluster_rules()
    assert yaml.safe_load((tmp_path / "role-rules.yaml").read_text()) == rbac.namespace_rules()


def test_the_charts_crd_is_the_crd_of_deploy_crds() -> None:
    chart_crds = sorted(p.name for p in (CHART / "crds").iterdir())
    assert chart_crds == ["operator.kyma-project.io_istios.yaml"]
    source = ROOT / "deploy" / "crds" / "operator.kyma-project.io_istios.yaml"
    assert (CHART / "crds" / chart_crds[0]).read_bytes() == source.read_bytes()


def test_the_chart_defaults_are_the_specs_resources_and_no_service_monitor() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["resources"] == {
        "requests": {"cpu": "10m", "memory": "64Mi"},
        "limits": {"cpu": "1000m", "memory": "512Mi"},
    }
    assert values["metrics"]["serviceMonitor"]["enabled"] is False
    assert values["priorityClass"]["value"] == 2100000
    assert values["defaultCR"]["enabled"] is False

"""The operator's permissions: derived from the code's kind tables and Istio's inventory, each in the
narrowest scope, rendered into the chart and docs/security.md unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kyma_istio.api import names
from kyma_istio.k8s import kinds
from kyma_istio.operator import rbac
from kyma_istio.resources import dangling, desired, inventory, labelling, user_targeting
from kyma_istio.restart import owners

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "deploy" / "chart"

CLUSTER, ISTIO_SYSTEM, OWN = "cluster", "istio-system", "own"
"""Where a request goes: any namespace or cluster-scoped, ``istio-system``, the release namespace."""

Need = tuple[str, str, str, str, str, str | None]
"""(where in the code, group, resource, verb, scope, object name or None)."""

# The requests the code makes with each kind of k8s/kinds.py (read from the call sites in reconcile/,
# operator/ and the kopf watch), with scope and name. A kind added there without an entry here fails.
KIND_REQUESTS: dict[str, tuple[tuple[str, str, str | None], ...]] = {
    "istios": tuple((verb, CLUSTER, None) for verb in ("get", "list", "watch", "patch")),
    "nodes": (("list", CLUSTER, None),),
    "namespaces": (
        ("list", CLUSTER, None),
        ("watch", CLUSTER, None),  # kopf: a namespace that gains injection
        *((verb, CLUSTER, names.ISTIO_NAMESPACE) for verb in ("get", "patch", "delete")),
    ),
    "pods": (("get", CLUSTER, None), ("list", CLUSTER, None)),
    # On the CR; and (restart.policy) on workloads and namespaces anywhere, a repeat patching the count.
    "events": (("create", OWN, None), ("create", CLUSTER, None), ("patch", CLUSTER, None)),
    "configmaps": (("get", ISTIO_SYSTEM, "istio"),),
    **dict.fromkeys(rbac.WORKLOADS, (("get", CLUSTER, None), ("patch", CLUSTER, None))),
    "customresourcedefinitions": tuple(("get", CLUSTER, crd) for crd in rbac.CHECKED_CRDS),
    "mutatingwebhookconfigurations": (
        ("list", CLUSTER, None),
        *(("delete", CLUSTER, name) for name in rbac.REVISION_TAG_WEBHOOKS),
    ),
    "leases": tuple((verb, OWN, None) for verb in ("get", "create", "patch")),
}


def _module_kinds() -> list[kinds.Kind]:
    return [value for value in vars(kinds).values() if isinstance(value, kinds.Kind)]


def _table_needs() -> list[Need]:
    """Requests implied by the kind tables of resources/ and reconcile/."""
    needs: list[Need] = []
    for kind in desired.MANAGED_KINDS:
        where = "resources.desired.MANAGED_KINDS"
        needs.append((where, kind.group, kind.plural, "list", CLUSTER, None))
        needs += [
            (where, kind.group, kind.plural, v, ISTIO_SYSTEM, None)
            for v in ("get", "create", "patch", "delete")
        ]
    for kind in dangling.CONTROLLED_KINDS:
        needs.append(("resources.dangling.CONTROLLED_KINDS", kind.group, kind.plural, "list", CLUSTER, None))
    for kind in labelling.LABELLED_KINDS:
        where = "resources.labelling.LABELLED_KINDS"
        if kind.namespaced:
            needs += [(where, kind.group, kind.plural, v, ISTIO_SYSTEM, None) for v in ("list", "patch")]
        else:
            needs.append((where, kind.group, kind.plural, "list", CLUSTER, None))
            istios = inventory.names_of(kind.group, kind.plural)
            needs += [(where, kind.group, kind.plural, "patch", CLUSTER, name) for name in istios]
    for kind in owners.WORKLOAD_KINDS.values():
        # get and patch per owner; a listing replaces the gets above 50 owners of a kind.
        needs += [
            ("restart.owners.WORKLOAD_KINDS", kind.group, kind.plural, v, CLUSTER, None)
            for v in ("get", "list", "patch")
        ]
    return needs


def _needs() -> list[Need]:
    needs: list[Need] = [
        ("k8s/kinds.py", kind.group, kind.plural, verb, scope, name)
        for kind in _module_kinds()
        for verb, scope, name in KIND_REQUESTS.get(kind.plural, ())
    ]
    needs += _table_needs()
    needs += [
        ("Kube.patch(status=True)", names.GROUP, "istios/status", "get", CLUSTER, None),
        ("Kube.patch(status=True)", names.GROUP, "istios/status", "patch", CLUSTER, None),
        ("Kube.evict", "", "pods/eviction", "create", CLUSTER, None),
        ("install: pod versions", "", "pods", "list", ISTIO_SYSTEM, None),
        (
            "reconcile.user_resources: user EnvoyFilters on the ingress gateway",
            user_targeting.ENVOY_FILTER.group,
            user_targeting.ENVOY_FILTER.plural,
            "list",
            ISTIO_SYSTEM,
            None,
        ),
    ]
    return needs


def _granted_in(scope: str, need: Need) -> bool:
    _, group, resource, verb, _, name = need
    rules = {
        CLUSTER: rbac.OPERATOR_RULES,
        ISTIO_SYSTEM: (*rbac.OPERATOR_RULES, *rbac.ISTIO_NAMESPACE_RULES),
        OWN: rbac.NAMESPACE_RULES,
    }[scope]
    return rbac.granted(rules, group, resource, verb, name)


def _expanded(rules: tuple[rbac.Rule, ...]) -> set[tuple[str, str, str, str | None]]:
    return {
        (rule.group, resource, verb, name)
        for rule in rules
        for resource in rule.resources
        for verb in rule.verbs
        for name in (rule.names or (None,))
    }


def test_every_kind_of_the_kinds_module_has_its_requests_listed_here() -> None:
    assert {kind.plural for kind in _module_kinds()} == set(KIND_REQUESTS)


def test_every_request_the_code_makes_is_granted_in_its_scope() -> None:
    assert [need for need in _needs() if not _granted_in(need[4], need)] == []


def test_the_cluster_wide_operator_rules_grant_nothing_the_code_does_not_use() -> None:
    needed = {(*need[1:4], need[5]) for need in _needs() if need[4] == CLUSTER}
    assert _expanded(rbac.OPERATOR_RULES) - needed == set()


def test_the_release_namespace_role_grants_only_leader_election_and_events() -> None:
    needed = {(*need[1:4], need[5]) for need in _needs() if need[4] == OWN}
    assert _expanded(rbac.NAMESPACE_RULES) == needed


def _rendered_rules() -> list[dict[str, Any]]:
    return [*rbac.cluster_rules(), *rbac.istio_namespace_rules(), *rbac.namespace_rules()]


def test_no_rule_has_a_wildcard() -> None:
    for rule in _rendered_rules():
        for field in ("apiGroups", "resources", "verbs", "resourceNames"):
            assert "*" not in rule.get(field, []), rule


def test_escalate_and_bind_are_granted_only_on_istios_own_roles_by_name() -> None:
    istio_roles = set(inventory.names_of("rbac.authorization.k8s.io", "clusterroles")) | set(
        inventory.names_of("rbac.authorization.k8s.io", "roles")
    )
    seen = 0
    for rule in _rendered_rules():
        if {"escalate", "bind"} & set(rule["verbs"]):
            seen += 1
            assert rule["resources"] in (["clusterroles"], ["roles"]), rule
            assert rule.get("resourceNames"), rule
            assert set(rule["resourceNames"]) <= istio_roles, rule
    assert seen == 2


def test_named_rules_carry_no_verb_that_names_cannot_limit() -> None:
    for rule in _rendered_rules():
        if rule.get("resourceNames"):
            assert not set(rule["verbs"]) & rbac.UNNAMED_VERBS, rule


def test_the_cluster_role_only_lists_secrets_and_creates_no_namespaced_workload() -> None:
    cluster = (*rbac.OPERATOR_RULES, *rbac.ISTIOCTL_RULES)
    # istioctl's prune lists Secrets by label in every namespace; 1.24 and later fail when refused.
    assert rbac.granted(cluster, "", "secrets", "list")
    for verb in ("get", "watch", "patch"):
        assert not rbac.granted(cluster, "", "secrets", verb)
    for group, resource in [("", "pods"), ("apps", "deployments"), ("apps", "daemonsets"), ("", "secrets")]:
        for verb in ("create", "update", "delete"):
            assert not rbac.granted(cluster, group, resource, verb), (resource, verb)
    assert not rbac.granted(cluster, "", "pods/portforward", "create")
    assert not rbac.granted(cluster, "rbac.authorization.k8s.io", "roles", "create")
    assert not rbac.granted(cluster, "rbac.authorization.k8s.io", "rolebindings", "create")


def test_the_cluster_role_binds_and_deletes_only_istios_cluster_roles() -> None:
    cluster = (*rbac.OPERATOR_RULES, *rbac.ISTIOCTL_RULES)
    group = "rbac.authorization.k8s.io"
    for verb in ("bind", "escalate", "delete", "update"):
        assert not rbac.granted(cluster, group, "clusterroles", verb, "cluster-admin")
        assert rbac.granted(cluster, group, "clusterroles", verb, rbac.ISTIO_CLUSTER_ROLES[0])
    assert not rbac.granted(cluster, group, "clusterrolebindings", "delete", "cluster-admin")


def test_istioctl_can_manage_every_object_of_istios_inventory() -> None:
    cluster = (*rbac.OPERATOR_RULES, *rbac.ISTIOCTL_RULES)
    in_namespace = (*cluster, *rbac.ISTIO_NAMESPACE_RULES)
    for obj in inventory.ISTIO_OBJECTS:
        rules = in_namespace if obj.namespaced else cluster
        for verb in ("get", "update", "patch", "delete"):
            if obj.plural == "namespaces" and verb == "delete":
                continue  # istioctl never deletes the namespace; the operator does (granted above)
            assert rbac.granted(rules, obj.group, obj.plural, verb, obj.name), (obj, verb)
        assert rbac.granted(rules, obj.group, obj.plural, "create"), obj
        assert rbac.granted(rules, obj.group, obj.plural, "list"), obj


def test_istios_roles_in_istio_system_can_be_created_with_rights_the_operator_lacks() -> None:
    for role in rbac.ISTIO_ROLES:
        for verb in ("escalate", "bind"):
            assert rbac.granted(rbac.ISTIO_NAMESPACE_RULES, "rbac.authorization.k8s.io", "roles", verb, role)


def test_the_operator_may_not_touch_nodes_beyond_listing_them() -> None:
    rules = (*rbac.OPERATOR_RULES, *rbac.ISTIOCTL_RULES, *rbac.ISTIO_NAMESPACE_RULES, *rbac.NAMESPACE_RULES)
    assert rbac.granted(rules, "", "nodes", "list")
    for verb in ("get", "patch", "update", "delete"):
        assert not rbac.granted(rules, "", "nodes", verb)


def test_a_named_rule_does_not_match_an_unnamed_or_other_request() -> None:
    rule = rbac.Rule("g", ("things",), ("get",), "why", ("a",))
    assert rule.grants("g", "things", "get", "a")
    assert not rule.grants("g", "things", "get", "b")
    assert not rule.grants("g", "things", "get")


def test_merging_joins_resources_of_equal_verbs_and_keeps_names_apart() -> None:
    rules = rbac.merged(
        [
            rbac.Rule("h", ("a",), ("get",), "x"),
            rbac.Rule("h", ("b",), ("get",), "y"),
            rbac.Rule("h", ("a",), ("list",), "z"),
            rbac.Rule("h", ("c",), ("delete",), "n", ("one",)),
        ]
    )
    assert rules == [
        {"apiGroups": ["h"], "resources": ["c"], "verbs": ["delete"], "resourceNames": ["one"]},
        {"apiGroups": ["h"], "resources": ["b"], "verbs": ["get"]},
        {"apiGroups": ["h"], "resources": ["a"], "verbs": ["get", "list"]},
    ]


@pytest.mark.parametrize("name", sorted(rbac.FILES))
def test_the_charts_rule_files_are_the_rendering_of_the_rbac_tables(name: str) -> None:
    text = (CHART / "files" / name).read_text()
    rules = rbac.merged(rbac.FILES[name])
    assert text == rbac.render(rules), "run `python -m kyma_istio.operator.rbac` to regenerate"
    assert yaml.safe_load(text) == rules


def test_the_rendering_writes_every_rule_file(tmp_path: Path) -> None:
    rbac.write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(rbac.FILES)
    assert yaml.safe_load((tmp_path / "clusterrole-rules.yaml").read_text()) == rbac.cluster_rules()


def test_the_security_docs_table_is_the_rendering_of_the_rbac_tables() -> None:
    text = rbac.SECURITY_DOC.read_text()
    assert text == rbac.with_table(text), "run `python -m kyma_istio.operator.rbac` to regenerate"
    assert rbac.markdown_table() in text


def test_a_document_without_the_table_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="lacks the markers"):
        rbac.with_table("# Security\n")


def test_istios_namespaced_objects_all_live_in_istio_system() -> None:
    assert inventory.outside_istio_system() == []
    assert inventory.namespaced_resources()


def test_the_inventory_reads_what_it_renders() -> None:
    assert inventory.parse(inventory.render(inventory.ISTIO_OBJECTS)) == inventory.ISTIO_OBJECTS
    assert inventory.INVENTORY_FILE.read_text() == inventory.render(inventory.ISTIO_OBJECTS)


def test_a_kind_without_a_known_resource_name_stops_the_inventory() -> None:
    unknown = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}}
    with pytest.raises(inventory.UnknownKindError, match="Gadget"):
        inventory.from_manifest([unknown])


def test_the_inventory_dedupes_and_sorts_objects_across_profiles() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio", "namespace": "istio-system"}}
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "x"},
    }
    assert inventory.from_manifest([crd, cm, cm]) == [
        inventory.IstioObject("", "configmaps", "istio-system", "istio"),
        inventory.IstioObject("apiextensions.k8s.io", "customresourcedefinitions", "", "x"),
    ]


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
    assert values["istioNamespace"]["create"] is True

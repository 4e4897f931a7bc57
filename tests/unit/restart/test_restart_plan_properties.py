"""Properties of restart plans over generated clusters: exact accounting, no duplicates, determinism,
Kyma modules' owners first, for expectations with and without mesh-wide changes and Prometheus merge."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from restart_builders import EXPECTATION, OLD_IMAGE, current_pod, owner, proxy

from kyma_istio.restart.outcomes import Outcome, waves
from kyma_istio.restart.plan import PlanBuilder, RestartPlan, target_hash
from kyma_istio.restart.podview import OwnerRef, PodView, ScrapeAnnotations
from kyma_istio.restart.predicates import STATS_PATH, Expectation, outdated_reason

EXPECTATIONS = (
    EXPECTATION,
    replace(EXPECTATION, dns_proxying_changed=True, dns_proxying=False),
    replace(EXPECTATION, stats_matcher_changed=True, stats_inclusion_regexps=(".*outlier.*",)),
    replace(EXPECTATION, prometheus_merge=True),
    replace(EXPECTATION, prometheus_merge=True, status_port=15090),
)
SCRAPES = (
    ScrapeAnnotations(),
    ScrapeAnnotations(path=STATS_PATH, port="15020", scrape="true"),
    ScrapeAnnotations(path="/metrics", port="8080"),
)
TARGET_MARK = "<target>"
"""Stands for the drawn expectation's target in a generated pod's restart stamp."""

NAMESPACES = ("a", "b", "c")
OWNERS: tuple[OwnerRef | None, ...] = (
    None,
    owner("ReplicaSet", "web-rs1"),
    owner("ReplicaSet", "web-rs2"),
    owner("ReplicaSet", "api-rs"),
    owner("ReplicaSet", "bare-rs"),
    owner("ReplicaSet", "gone-rs"),
    owner("ReplicationController", "rc", "v1"),
    owner("StatefulSet", "db"),
    owner("DaemonSet", "agent"),
    owner("Job", "migrate", "batch/v1"),
    owner("Rollout", "canary", "argoproj.io/v1alpha1"),
)


@dataclass(frozen=True)
class Cluster:
    pods: list[PodView]
    facts: dict[str, Any]
    expectation: Expectation


@st.composite
def pods(draw: st.DrawFn) -> PodView:
    namespace = draw(st.sampled_from(("a", "a", "a", "b", "c")))
    image = draw(st.sampled_from([EXPECTATION.image, OLD_IMAGE]))
    return current_pod(
        "pod",  # named by position in the cluster below
        namespace,
        owner=draw(st.sampled_from(OWNERS)),
        proxies=(
            proxy(image, native=draw(st.booleans()), cpu_limit=draw(st.sampled_from(["1", "1000m", "2"]))),
        ),
        # Mostly healthy, not opted out: the interesting plans have actions to de-duplicate and cut.
        phase=draw(st.sampled_from(["Running", "Running", "Running", "Pending"])),
        all_conditions_true=draw(st.sampled_from([True, True, True, False])),
        opted_out=draw(st.sampled_from([False, False, False, True])),
        restart_target=draw(st.sampled_from([None, None, None, TARGET_MARK, "older"])),
        module=draw(st.sampled_from([False, False, True])),
        scrape=draw(st.sampled_from(SCRAPES)),
        has_custom_proxy_image=draw(st.sampled_from([False, False, False, True])),
    )


@st.composite
def clusters(draw: st.DrawFn) -> Cluster:
    expectation = draw(st.sampled_from(EXPECTATIONS))
    target = target_hash(expectation)
    generated = draw(st.lists(pods(), min_size=3, max_size=60))
    # Pod names are unique per namespace in a real cluster.
    unique = [
        replace(
            pod,
            name=f"pod-{index:02}",
            restart_target=target if pod.restart_target == TARGET_MARK else pod.restart_target,
        )
        for index, pod in enumerate(generated)
    ]
    replicaset_owners: dict[tuple[str, str], OwnerRef | None] = {}
    for namespace in NAMESPACES:
        replicaset_owners[(namespace, "web-rs1")] = owner("Deployment", "web")
        replicaset_owners[(namespace, "web-rs2")] = owner("Deployment", "web")
        replicaset_owners[(namespace, "api-rs")] = owner("Deployment", "api")
        replicaset_owners[(namespace, "bare-rs")] = None
    strategies = {
        (kind, namespace, name): draw(st.sampled_from(["RollingUpdate", "OnDelete"]))
        for namespace in NAMESPACES
        for kind, name in (("StatefulSet", "db"), ("DaemonSet", "agent"))
    }
    deployments = [("Deployment", namespace, name) for namespace in NAMESPACES for name in ("web", "api")]
    return Cluster(
        pods=unique,
        facts={
            "replicaset_owners": replicaset_owners,
            "workload_strategies": strategies,
            "owner_template_targets": {
                key: draw(st.sampled_from([None, None, target])) for key in deployments
            },
            "owner_annotations": {
                key: {"istio-operator.kyma-project.io/restart": "disabled"}
                for key in deployments
                if draw(st.sampled_from([False, False, True]))
            },
            "opted_out_namespaces": set(draw(st.lists(st.sampled_from(NAMESPACES), max_size=1))),
            "limit": draw(st.none() | st.integers(0, 4)),
        },
        expectation=expectation,
    )


def build(cluster: Cluster, pods: list[PodView] | None = None) -> RestartPlan:
    builder = PlanBuilder.for_restart(cluster.expectation, example_cap=1000)
    builder.add_all(cluster.pods if pods is None else pods)
    return builder.build(**cluster.facts)


@settings(max_examples=300, deadline=None)
@given(clusters())
def test_every_outdated_pod_gets_exactly_one_outcome(cluster: Cluster) -> None:
    result = build(cluster)

    expectation = cluster.expectation
    selected = sorted(f"{p.namespace}/{p.name}" for p in cluster.pods if outdated_reason(p, expectation))
    assert sorted(ref for outcome in result.outcomes for ref in outcome.example_refs()) == selected
    assert sum(outcome.pods for outcome in result.outcomes) == len(selected)
    assert result.current + result.not_considered + len(selected) == len(cluster.pods)


@settings(max_examples=300, deadline=None)
@given(clusters())
def test_no_owner_appears_in_two_actions_and_the_cut_is_exact(cluster: Cluster) -> None:
    result = build(cluster)

    owners = [action.workload for action in result.actions]
    assert len(owners) == len(set(owners))
    deferred = {o.workload for o in result.outcomes if o.outcome is Outcome.DEFERRED}
    assert result.remaining == len(deferred)
    assert not deferred & set(owners)
    acted = sum(o.pods for o in result.outcomes if o.outcome in {Outcome.ROLLOUT_VIA_OWNER, Outcome.EVICT})
    assert acted == sum(action.pods for action in result.actions)
    limit = cluster.facts["limit"]
    assert limit is None or len(result.actions) <= limit


@settings(max_examples=200, deadline=None)
@given(clusters(), st.randoms(use_true_random=False))
def test_the_plan_does_not_depend_on_the_order_of_pods(cluster: Cluster, random: Any) -> None:
    shuffled = list(cluster.pods)
    random.shuffle(shuffled)

    assert build(cluster, shuffled) == build(cluster)
    small = PlanBuilder.for_restart(cluster.expectation)
    small.add_all(shuffled)
    again = PlanBuilder.for_restart(cluster.expectation)
    again.add_all(cluster.pods)
    assert small.build(**cluster.facts) == again.build(**cluster.facts)


@settings(max_examples=200, deadline=None)
@given(clusters())
def test_actions_are_sorted_modules_first_then_by_namespace_kind_and_name(cluster: Cluster) -> None:
    result = build(cluster)

    keys = [(not a.module, a.workload.namespace, a.workload.kind, a.workload.name) for a in result.actions]
    assert keys == sorted(keys)


@settings(max_examples=300, deadline=None)
@given(clusters())
def test_module_owners_are_restarted_first_and_deferred_last(cluster: Cluster) -> None:
    result = build(cluster)

    deferred = {o.workload for o in result.outcomes if o.outcome is Outcome.DEFERRED}
    module_owners = {
        action.workload
        for action in build(replace(cluster, facts={**cluster.facts, "limit": None})).actions
        if action.module
    }
    if deferred & module_owners:
        assert all(action.module for action in result.actions)
    for wave in waves(result.actions, 2):
        assert len({action.module for action in wave}) == 1


@settings(max_examples=200, deadline=None)
@given(clusters())
def test_an_owner_stamped_with_the_target_is_never_acted_on(cluster: Cluster) -> None:
    result = build(cluster)

    target = target_hash(cluster.expectation)
    stamped = {key for key, value in cluster.facts["owner_template_targets"].items() if value == target}
    assert result.target == target
    assert not stamped & {tuple(a.workload) for a in result.actions}

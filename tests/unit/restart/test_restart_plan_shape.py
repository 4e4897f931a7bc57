"""The shape of a restart plan: order, per-reconcile limit, waves, summary, target and streaming."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from restart_builders import (
    EXPECTATION,
    NS,
    OLD_IMAGE,
    RESOURCES,
    TARGET,
    WEB,
    WEB_OWNERS,
    current_pod,
    deployment_pods,
    outdated_pod,
    owner,
    plan,
    proxy,
)

from kyma_istio.restart.owners import WorkloadKey
from kyma_istio.restart.plan import Outcome, PlanBuilder, mark_failed, target_hash, waves
from kyma_istio.restart.predicates import OutdatedReason, ProxyResources
from kyma_istio.restart.selection import restart_selection


class TestOrderAndLimit:
    def test_actions_are_ordered_by_namespace_kind_and_name(self) -> None:
        strategies = {("StatefulSet", "a", "db"): "RollingUpdate"}
        pods = [
            outdated_pod("b-1", "b", owner=owner("ReplicaSet", "web-rs")),
            outdated_pod("z-1", "a", owner=owner("ReplicaSet", "z-rs")),
            outdated_pod("db-0", "a", owner=owner("StatefulSet", "db")),
            outdated_pod("y-1", "a", owner=owner("ReplicaSet", "y-rs")),
        ]
        lookups = {
            ("b", "web-rs"): owner("Deployment", "web"),
            ("a", "z-rs"): owner("Deployment", "z"),
            ("a", "y-rs"): owner("Deployment", "y"),
        }

        result = plan(pods, replicaset_owners=lookups, workload_strategies=strategies)

        assert [tuple(a.workload) for a in result.actions] == [
            ("Deployment", "a", "y"),
            ("Deployment", "a", "z"),
            ("StatefulSet", "a", "db"),
            ("Deployment", "b", "web"),
        ]

    def test_the_limit_cuts_owners_and_counts_exactly_what_was_cut(self) -> None:
        pods = [pod for n in range(5) for pod in deployment_pods(f"app{n}", 3)]
        lookups = {(NS, f"app{n}-rs"): owner("Deployment", f"app{n}") for n in range(5)}

        result = plan(pods, replicaset_owners=lookups, limit=2)

        assert [a.workload.name for a in result.actions] == ["app0", "app1"]
        assert result.remaining == 3
        assert not result.complete
        summary = result.summary()
        assert summary.by_outcome == {Outcome.ROLLOUT_VIA_OWNER: 6, Outcome.DEFERRED: 9}

    def test_a_limit_that_fits_every_owner_leaves_nothing_remaining(self) -> None:
        result = plan(deployment_pods("web", 40), limit=1)

        assert (len(result.actions), result.remaining) == (1, 0)

    def test_a_limit_of_zero_defers_everything(self) -> None:
        result = plan(deployment_pods("web", 2), limit=0)

        assert (result.actions, result.remaining) == ((), 1)

    def test_settled_owners_do_not_use_up_the_limit(self) -> None:
        pods = [outdated_pod("job", owner=owner("Job", "j", "batch/v1")), *deployment_pods("web", 1)]

        result = plan(pods, owner_template_targets={}, limit=1)

        assert (len(result.actions), result.remaining) == (1, 0)

    def test_a_negative_limit_is_refused(self) -> None:
        with pytest.raises(ValueError, match="negative"):
            plan([], limit=-1)


class TestWaves:
    def test_actions_are_split_into_waves_of_the_budget(self) -> None:
        lookups = {(NS, f"app{n}-rs"): owner("Deployment", f"app{n}") for n in range(5)}
        actions = plan(
            [p for n in range(5) for p in deployment_pods(f"app{n}", 1)], replicaset_owners=lookups
        ).actions

        split = waves(actions, 2)

        assert [len(wave) for wave in split] == [2, 2, 1]
        assert [a for wave in split for a in wave] == list(actions)

    def test_no_actions_give_no_waves(self) -> None:
        assert waves((), 3) == []

    def test_a_budget_below_one_is_refused(self) -> None:
        with pytest.raises(ValueError, match="budget"):
            waves((), 0)


class TestSummaryAndFailures:
    def test_the_summary_counts_current_outdated_manual_and_skipped_pods(self) -> None:
        pods = [
            current_pod("ok-1"),
            current_pod("ok-2", all_conditions_true=False),
            outdated_pod("web-1"),
            current_pod("web-2", proxies=(proxy(cpu_limit="2"),)),
            outdated_pod("bare", owner=None),
            outdated_pod("quiet", opted_out=True),
        ]

        summary = plan(pods).summary()

        assert (summary.current, summary.not_considered) == (1, 1)
        assert summary.outdated == {OutdatedReason.IMAGE_OUTDATED: 3, OutdatedReason.RESOURCES_OUTDATED: 1}
        assert (summary.manual, summary.skipped, summary.pending) == (1, 1, 0)
        assert summary.by_outcome[Outcome.ROLLOUT_VIA_OWNER] == 2

    def test_marking_an_owner_failed_changes_only_its_acted_outcomes(self) -> None:
        result = plan(
            [outdated_pod("web-1"), outdated_pod("web-2", opted_out=True), outdated_pod("b", owner=None)]
        )

        failed = mark_failed(result, {WEB: "conflict"})

        assert [(o.outcome, o.why) for o in failed.outcomes if o.workload == WEB] == [
            (Outcome.FAILED, "conflict"),
            (Outcome.SKIPPED_OPT_OUT, "pod opted out"),
        ]
        assert failed.actions == result.actions
        assert result.outcomes_of(Outcome.FAILED) == ()

    def test_manual_outcomes_can_be_listed_for_the_warning(self) -> None:
        result = plan([outdated_pod(f"bare-{i}", owner=None) for i in range(3)] + [outdated_pod()])

        manual = result.outcomes_of(Outcome.NEEDS_MANUAL_RESTART)

        assert [ref for o in manual for ref in o.example_refs()] == [
            "shop/bare-0",
            "shop/bare-1",
            "shop/bare-2",
        ]


class TestTarget:
    def test_the_target_is_short_and_stable(self) -> None:
        assert target_hash(replace(EXPECTATION)) == TARGET
        assert len(TARGET) == 16

    def test_equal_quantities_give_the_same_target(self) -> None:
        respelled = replace(RESOURCES, cpu_limit="1000m", memory_limit="1024Mi")

        assert target_hash(replace(EXPECTATION, resources=respelled)) == TARGET

    @pytest.mark.parametrize(
        "changed",
        [
            replace(EXPECTATION, image=OLD_IMAGE),
            replace(EXPECTATION, resources=ProxyResources("20m", "32Mi", "1", "1Gi")),
            replace(EXPECTATION, compatibility_mode=True),
        ],
    )
    def test_any_change_of_the_desired_state_is_a_new_target(self, changed: Any) -> None:
        assert target_hash(changed) != TARGET

    def test_whether_the_mode_just_changed_is_not_part_of_the_target(self) -> None:
        assert target_hash(replace(EXPECTATION, compatibility_changed=True)) == TARGET

    def test_the_plan_carries_its_target(self) -> None:
        assert plan([]).target == TARGET


class TestBuilder:
    def test_folding_pages_gives_the_same_plan_as_one_call(self) -> None:
        pods = [*deployment_pods("web", 7), outdated_pod("bare", owner=None), current_pod("ok")]
        builder = PlanBuilder.for_restart(EXPECTATION)
        for start in range(0, len(pods), 3):
            builder.add_all(pods[start : start + 3])

        assert builder.build(replicaset_owners=WEB_OWNERS) == plan(pods)

    def test_building_twice_gives_the_same_plan(self) -> None:
        builder = PlanBuilder.for_restart(EXPECTATION)
        builder.add_all(
            [*deployment_pods("web", 3), outdated_pod("rc", owner=owner("ReplicationController", "r", "v1"))]
        )

        assert builder.build(replicaset_owners=WEB_OWNERS) == builder.build(replicaset_owners=WEB_OWNERS)

    def test_only_replicasets_of_selected_pods_are_looked_up(self) -> None:
        builder = PlanBuilder.for_restart(EXPECTATION)
        builder.add_all(
            [*deployment_pods("web", 2), current_pod("ok", owner=owner("ReplicaSet", "quiet-rs"))]
        )

        assert builder.replicasets_to_resolve() == {(NS, "web-rs")}

    def test_the_workloads_to_inspect_follow_the_resolved_replicasets(self) -> None:
        builder = PlanBuilder.for_restart(EXPECTATION)
        builder.add_all(
            [
                *deployment_pods("web", 2),
                outdated_pod("db-0", owner=owner("StatefulSet", "db")),
                outdated_pod("bare", owner=None),
            ]
        )

        assert builder.workloads_to_inspect({(NS, "web-rs"): owner("Deployment", "web")}) == {
            WorkloadKey("Deployment", NS, "web"),
            WorkloadKey("StatefulSet", NS, "db"),
        }

    def test_examples_are_the_smallest_names_whatever_the_order(self) -> None:
        builder = PlanBuilder.for_restart(EXPECTATION, example_cap=2)
        builder.add_all(reversed(deployment_pods("web", 5)))

        assert builder.build(replicaset_owners=WEB_OWNERS).actions[0].examples == ("web-0", "web-1")

    def test_the_selection_picks_eviction_targets_one_pod_at_a_time(self) -> None:
        selection = PlanBuilder.for_restart(EXPECTATION).selection

        assert selection.wants_restart(outdated_pod())
        assert not selection.wants_restart(current_pod())
        assert not selection.wants_restart(outdated_pod(opted_out=True))
        assert not selection.wants_restart(outdated_pod(restart_target=TARGET))
        assert restart_selection(EXPECTATION).target == selection.target

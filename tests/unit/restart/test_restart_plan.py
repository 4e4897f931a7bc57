"""Folding pods into a restart plan: what is selected, who acts, and what is left alone."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from restart_builders import (
    EXPECTATION,
    IMAGE,
    NS,
    TARGET,
    WEB,
    WEB_OWNERS,
    current_pod,
    outcomes,
    outdated_pod,
    owner,
    plan,
    proxy,
)

from kyma_istio.restart.owners import ActionKind, WorkloadKey
from kyma_istio.restart.plan import Outcome, plan_restarts, plan_sidecar_removal
from kyma_istio.restart.predicates import OutdatedReason
from kyma_istio.restart.selection import REMOVAL_TARGET, removal_selection


class TestSelection:
    def test_current_pods_produce_an_empty_plan_and_are_counted(self) -> None:
        result = plan([current_pod("a"), current_pod("b"), current_pod("c", phase="Pending")])

        assert result.actions == ()
        assert result.outcomes == ()
        assert (result.current, result.not_considered) == (2, 1)
        assert result.complete

    def test_ten_pods_of_one_deployment_give_one_rollout(self) -> None:
        pods = [
            outdated_pod(f"web-{i}", owner=owner("ReplicaSet", "web-rs" if i % 2 else "web-old"))
            for i in range(10)
        ]

        result = plan(pods)

        assert len(result.actions) == 1
        action = result.actions[0]
        assert (action.action, action.workload, action.pods) == (ActionKind.ROLLOUT, WEB, 10)
        assert action.rules == (OutdatedReason.IMAGE_OUTDATED,)
        assert action.examples == ("web-0", "web-1", "web-2", "web-3", "web-4")
        assert outcomes(result) == {(Outcome.ROLLOUT_VIA_OWNER, WEB): 10}

    def test_an_action_lists_every_rule_that_fired_for_its_pods(self) -> None:
        pods = [outdated_pod("web-1"), current_pod("web-2", proxies=(proxy(cpu_limit="2"),))]

        (action,) = plan(pods).actions

        assert action.rules == (OutdatedReason.IMAGE_OUTDATED, OutdatedReason.RESOURCES_OUTDATED)
        assert {(o.rule, o.pods) for o in plan(pods).outcomes} == {
            (OutdatedReason.IMAGE_OUTDATED, 1),
            (OutdatedReason.RESOURCES_OUTDATED, 1),
        }

    def test_a_compatibility_change_restarts_a_current_pod(self) -> None:
        result = plan_restarts(
            [current_pod()],
            expectation=replace(EXPECTATION, compatibility_changed=True),
            replicaset_owners=WEB_OWNERS,
        )

        assert result.actions[0].rules == (OutdatedReason.COMPATIBILITY_MODE_CHANGED,)

    def test_pods_with_resource_annotations_are_not_restarted_on_every_pass(self) -> None:
        pod = current_pod(
            overrides=replace(current_pod().overrides, cpu_limit="4"), proxies=(proxy(cpu_limit="4000m"),)
        )

        assert plan([pod]).actions == ()


class TestOwnerKinds:
    @pytest.mark.parametrize(
        ("pod_owner", "facts", "expected"),
        [
            (owner("ReplicaSet", "web-rs"), {}, (Outcome.ROLLOUT_VIA_OWNER, ActionKind.ROLLOUT)),
            (owner("ReplicaSet", "bare-rs"), {}, (Outcome.EVICT, ActionKind.EVICT)),
            (owner("ReplicationController", "rc", "v1"), {}, (Outcome.EVICT, ActionKind.EVICT)),
            (
                owner("StatefulSet", "db"),
                {"workload_strategies": {("StatefulSet", NS, "db"): "RollingUpdate"}},
                (Outcome.ROLLOUT_VIA_OWNER, ActionKind.ROLLOUT),
            ),
            (
                owner("StatefulSet", "db"),
                {"workload_strategies": {("StatefulSet", NS, "db"): "OnDelete"}},
                (Outcome.EVICT, ActionKind.EVICT_SEQUENTIAL),
            ),
            (
                owner("DaemonSet", "agent"),
                {"workload_strategies": {("DaemonSet", NS, "agent"): "RollingUpdate"}},
                (Outcome.ROLLOUT_VIA_OWNER, ActionKind.ROLLOUT),
            ),
            (
                owner("DaemonSet", "agent"),
                {"workload_strategies": {("DaemonSet", NS, "agent"): "OnDelete"}},
                (Outcome.EVICT, ActionKind.EVICT_SEQUENTIAL),
            ),
        ],
    )
    def test_a_restartable_owner_gets_one_action(
        self, pod_owner: Any, facts: dict[str, Any], expected: tuple[Outcome, ActionKind]
    ) -> None:
        lookups = {**WEB_OWNERS, (NS, "bare-rs"): None}

        result = plan([outdated_pod(owner=pod_owner)], replicaset_owners=lookups, **facts)

        assert [(o.outcome, a.action) for o, a in zip(result.outcomes, result.actions, strict=True)] == [
            expected
        ]

    @pytest.mark.parametrize(
        ("pod_owner", "workload"),
        [
            (owner("ReplicaSet", "missing-rs"), WorkloadKey("ReplicaSet", NS, "missing-rs")),
            (owner("Job", "migrate", "batch/v1"), WorkloadKey("Job", NS, "migrate")),
            (owner("Job", "backup-28391234", "batch/v1"), WorkloadKey("Job", NS, "backup-28391234")),
            (None, WorkloadKey("Pod", NS, "web-1")),
            (owner("Rollout", "canary", "argoproj.io/v1alpha1"), WorkloadKey("Rollout", NS, "canary")),
            (owner("StatefulSet", "unlisted"), WorkloadKey("StatefulSet", NS, "unlisted")),
        ],
    )
    def test_an_owner_that_cannot_restart_the_pod_makes_it_manual(
        self, pod_owner: Any, workload: Any
    ) -> None:
        result = plan([outdated_pod(owner=pod_owner)])

        assert result.actions == ()
        (outcome,) = result.outcomes
        assert (outcome.outcome, outcome.workload, outcome.pods) == (
            Outcome.NEEDS_MANUAL_RESTART,
            workload,
            1,
        )
        assert outcome.why
        assert outcome.example_refs() == ("shop/web-1",)


class TestAlreadyRestarted:
    def test_an_owner_stamped_with_the_current_target_is_not_restarted_again(self) -> None:
        result = plan([outdated_pod()], owner_template_targets={WEB: TARGET})

        assert result.actions == ()
        assert outcomes(result) == {(Outcome.ALREADY_RESTARTED, WEB): 1}
        assert result.summary().pending == 1

    def test_an_owner_stamped_with_an_older_target_is_restarted(self) -> None:
        result = plan([outdated_pod()], owner_template_targets={WEB: "0ld7a26e7"})

        assert [a.workload for a in result.actions] == [WEB]

    def test_a_replacement_pod_made_for_the_current_target_is_not_evicted_again(self) -> None:
        pods = [
            outdated_pod("rc-1", owner=owner("ReplicationController", "rc", "v1"), restart_target=TARGET),
            outdated_pod("rc-2", owner=owner("ReplicationController", "rc", "v1")),
        ]

        result = plan(pods)

        assert result.actions[0].pods == 1
        assert outcomes(result) == {
            (Outcome.ALREADY_RESTARTED, WorkloadKey("ReplicationController", NS, "rc")): 1,
            (Outcome.EVICT, WorkloadKey("ReplicationController", NS, "rc")): 1,
        }

    def test_a_stamped_eviction_owner_still_evicts_pods_not_yet_replaced(self) -> None:
        sts = owner("StatefulSet", "db")
        key = ("StatefulSet", NS, "db")

        result = plan(
            [outdated_pod("db-0", owner=sts)],
            workload_strategies={key: "OnDelete"},
            owner_template_targets={key: TARGET},
        )

        assert [a.action for a in result.actions] == [ActionKind.EVICT_SEQUENTIAL]


class TestOptOut:
    def test_an_opted_out_namespace_is_skipped(self) -> None:
        result = plan([outdated_pod(), outdated_pod("x", "other")], opted_out_namespaces={NS})

        assert outcomes(result)[(Outcome.SKIPPED_OPT_OUT, WEB)] == 1
        assert {a.workload.namespace for a in result.actions} == set()

    def test_an_opted_out_workload_is_skipped(self) -> None:
        annotations = {WEB: {"istio-operator.kyma-project.io/restart": "disabled"}}

        result = plan([outdated_pod()], owner_annotations=annotations)

        assert result.actions == ()
        assert result.outcomes[0].outcome is Outcome.SKIPPED_OPT_OUT
        assert "Deployment web" in result.outcomes[0].why

    def test_an_opted_out_pod_is_skipped_while_its_siblings_restart(self) -> None:
        result = plan([outdated_pod("web-1", opted_out=True), outdated_pod("web-2")])

        assert outcomes(result) == {(Outcome.SKIPPED_OPT_OUT, WEB): 1, (Outcome.ROLLOUT_VIA_OWNER, WEB): 1}

    def test_other_annotation_values_do_not_opt_out(self) -> None:
        result = plan(
            [outdated_pod()], owner_annotations={WEB: {"istio-operator.kyma-project.io/restart": "yes"}}
        )

        assert len(result.actions) == 1

    def test_an_opted_out_bare_pod_is_skipped_rather_than_reported_as_manual(self) -> None:
        result = plan([outdated_pod(owner=None)], opted_out_namespaces={NS})

        assert result.outcomes[0].outcome is Outcome.SKIPPED_OPT_OUT


class TestSidecarRemoval:
    def test_every_injected_pod_is_selected_whatever_its_image(self) -> None:
        pods = [current_pod("web-1"), outdated_pod("web-2"), current_pod("gw", container_count=1)]

        result = plan_sidecar_removal(pods, replicaset_owners=WEB_OWNERS)

        assert [(a.workload, a.pods) for a in result.actions] == [(WEB, 2)]
        assert {o.rule for o in result.outcomes} == {OutdatedReason.SIDECAR_REMOVAL}
        assert (result.target, result.current) == (REMOVAL_TARGET, 1)

    def test_native_sidecars_and_unready_pods_are_selected_too(self) -> None:
        pod = current_pod(proxies=(proxy(IMAGE, native=True),), container_count=1, all_conditions_true=False)

        assert plan_sidecar_removal([pod], replicaset_owners=WEB_OWNERS).actions[0].pods == 1

    def test_the_same_owner_rules_apply(self) -> None:
        result = plan_sidecar_removal(
            [current_pod("bare", owner=None), current_pod("web-1")],
            replicaset_owners=WEB_OWNERS,
            owner_template_targets={WEB: REMOVAL_TARGET},
        )

        assert outcomes(result) == {
            (Outcome.NEEDS_MANUAL_RESTART, WorkloadKey("Pod", NS, "bare")): 1,
            (Outcome.ALREADY_RESTARTED, WEB): 1,
        }

    def test_the_removal_target_differs_from_any_restart_target(self) -> None:
        assert removal_selection().target != TARGET

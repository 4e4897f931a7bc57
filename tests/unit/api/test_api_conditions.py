"""The reason table, condition semantics and the status description catalogue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kyma_istio.api import conditions as c
from kyma_istio.api.conditions import ConditionType, Level, Problem, Reason, Requeue
from kyma_istio.api.v1alpha2 import Condition, State

T0 = datetime(2024, 10, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)

READY, SIDECARS = ConditionType.READY, ConditionType.PROXY_SIDECAR_RESTART_SUCCEEDED
TARGETING = ConditionType.INGRESS_TARGETING_USER_RESOURCE_FOUND
HELD = ConditionType.SIDECAR_RESTARTS_HELD
UNINJECTED = ConditionType.SIDECARS_WITHOUT_INJECTION

# The spec's table (section 3.3) and the reasons Kyma added up to 1.30 (api/v1alpha2/conditions.go),
# written out again so a drift in either place shows.
SPEC_TABLE = {
    "ReconcileSucceeded": (READY, "True"),
    "ReconcileUnknown": (READY, "Unknown"),
    "ReconcileRequeued": (READY, "False"),
    "ReconcileFailed": (READY, "False"),
    "ValidationFailed": (READY, "False"),
    "OlderCRExists": (READY, "False"),
    "IstioInstallNotNeeded": (READY, "False"),
    "IstioInstallSucceeded": (READY, "False"),
    "IstioUninstallSucceeded": (READY, "False"),
    "IstioInstallUninstallFailed": (READY, "False"),
    "IstioCustomResourceMisconfigured": (READY, "False"),
    "IstioCustomResourcesDangling": (READY, "False"),
    "IstioVersionUpdateNotAllowed": (READY, "False"),
    "CustomResourcesReconcileSucceeded": (READY, "False"),
    "CustomResourcesReconcileFailed": (READY, "False"),
    "ProxySidecarRestartSucceeded": (SIDECARS, "True"),
    "ProxySidecarRestartFailed": (SIDECARS, "False"),
    "ProxySidecarRestartPartiallySucceeded": (SIDECARS, "False"),
    "ProxySidecarManualRestartRequired": (SIDECARS, "False"),
    "IngressGatewayRestartSucceeded": (READY, "False"),
    "IngressGatewayRestartFailed": (READY, "False"),
    "OldestCRNotFound": (READY, "False"),
    "EgressGatewayRestartSucceeded": (READY, "False"),
    "EgressGatewayRestartFailed": (READY, "False"),
    "IngressTargetingUserResourceFound": (TARGETING, "True"),
    "IngressTargetingUserResourceNotFound": (TARGETING, "False"),
    "IngressTargetingUserResourceDetectionFailed": (TARGETING, "Unknown"),
    # Ours, additive (restarts the user controls): a type of their own, so Kyma's stay as they are.
    "SidecarRestartsHeld": (HELD, "True"),
    "SidecarRestartsNotHeld": (HELD, "False"),
    "SidecarsWithoutInjectionFound": (UNINJECTED, "True"),
    "SidecarsWithoutInjectionNotFound": (UNINJECTED, "False"),
}


def condition(type_: str, status: str, reason: str, at: datetime, message: str = "m") -> Condition:
    return Condition.model_validate(
        {"type": type_, "status": status, "reason": reason, "message": message, "lastTransitionTime": at}
    )


# --- the table -----------------------------------------------------------------------------------


def test_every_reason_has_an_entry_in_the_table() -> None:
    assert set(c.REASONS) == set(Reason)


def test_the_reasons_are_exactly_those_of_the_spec() -> None:
    assert {reason.value for reason in Reason} == set(SPEC_TABLE)


@pytest.mark.parametrize(("reason", "expected"), SPEC_TABLE.items())
def test_each_reason_sets_the_type_and_status_of_the_spec(
    reason: str, expected: tuple[ConditionType, str]
) -> None:
    info = c.REASONS[Reason(reason)]
    assert (info.condition_type, info.status) == expected


def test_the_uninstall_message_keeps_the_reference_typo() -> None:
    assert c.REASONS[Reason.ISTIO_UNINSTALL_SUCCEEDED].message == "Istio uninstallation succeded"


def test_the_unknown_message_is_spelled_as_in_the_reference() -> None:
    assert c.REASONS[Reason.RECONCILE_UNKNOWN].message == (
        "Module readiness is unknown. Either a reconciliation is progressing, or failed previously. "
        "Check status of other conditions"
    )


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        (Reason.OLDEST_CR_NOT_FOUND, "Oldest Istio custom resource could not be found"),
        (Reason.EGRESS_GATEWAY_RESTART_SUCCEEDED, "Istio Egress Gateway restart succeeded"),
        (Reason.EGRESS_GATEWAY_RESTART_FAILED, "Istio Egress Gateway restart failed"),
        (Reason.INGRESS_TARGETING_USER_RESOURCE_FOUND, "Resource targeting Istio Ingress Gateway found"),
        (
            Reason.INGRESS_TARGETING_USER_RESOURCE_NOT_FOUND,
            "Resources targeting Istio Ingress Gateway not found",
        ),
        (
            Reason.INGRESS_TARGETING_USER_RESOURCE_DETECTION_FAILED,
            "Resource targeting Istio Ingress Gateway detection failed",
        ),
    ],
)
def test_the_newer_reasons_carry_the_messages_of_kyma_1_30(reason: Reason, message: str) -> None:
    assert c.REASONS[reason].message == message


def test_the_table_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        c.REASONS[Reason.RECONCILE_FAILED] = c.REASONS[Reason.RECONCILE_SUCCEEDED]  # type: ignore[index]


def test_levels_name_the_state_they_produce() -> None:
    assert Level.WARNING.state is State.WARNING
    assert Level.ERROR.state is State.ERROR


# --- make_condition ------------------------------------------------------------------------------


def test_a_made_condition_carries_the_default_message_and_no_generation() -> None:
    made = c.make_condition(Reason.RECONCILE_SUCCEEDED, now=T0)
    assert made.model_dump() == {
        "type": "Ready",
        "status": "True",
        "reason": "ReconcileSucceeded",
        "message": "Reconciliation succeeded",
        "lastTransitionTime": T0,
        "observedGeneration": None,
    }


def test_a_custom_message_replaces_the_default_one() -> None:
    made = c.make_condition(Reason.PROXY_SIDECAR_MANUAL_RESTART_REQUIRED, message="see pods", now=T0)
    assert (made.type, made.status, made.message) == ("ProxySidecarRestartSucceeded", "False", "see pods")


# --- set_condition -------------------------------------------------------------------------------


def test_a_new_type_is_appended() -> None:
    first = condition("Ready", "True", "ReconcileSucceeded", T0)
    new = c.make_condition(Reason.PROXY_SIDECAR_RESTART_SUCCEEDED, now=T1)
    assert c.set_condition([first], new) == [first, new]


def test_setting_on_an_empty_list_gives_the_one_condition() -> None:
    new = c.make_condition(Reason.RECONCILE_UNKNOWN, now=T0)
    assert c.set_condition([], new) == [new]


def test_the_same_status_keeps_the_transition_time_but_takes_reason_and_message() -> None:
    old = condition("Ready", "False", "IstioInstallSucceeded", T0, message="old")
    result = c.set_condition([old], c.make_condition(Reason.RECONCILE_FAILED, now=T1))
    assert len(result) == 1
    assert result[0].reason == "ReconcileFailed"
    assert result[0].message == "Reconciliation failed"
    assert result[0].lastTransitionTime == T0


def test_a_status_change_moves_the_transition_time() -> None:
    old = condition("Ready", "Unknown", "ReconcileUnknown", T0)
    result = c.set_condition([old], c.make_condition(Reason.RECONCILE_SUCCEEDED, now=T1))
    assert (result[0].status, result[0].lastTransitionTime) == ("True", T1)


def test_an_update_keeps_the_order_of_the_list() -> None:
    ready = condition("Ready", "Unknown", "ReconcileUnknown", T0)
    sidecars = condition("ProxySidecarRestartSucceeded", "True", "ProxySidecarRestartSucceeded", T0)
    other = condition("Custom", "True", "Whatever", T0)
    result = c.set_condition([ready, sidecars, other], c.make_condition(Reason.RECONCILE_SUCCEEDED, now=T1))
    assert [item.type for item in result] == ["Ready", "ProxySidecarRestartSucceeded", "Custom"]
    assert result[1:] == [sidecars, other]


def test_setting_a_condition_never_changes_the_input() -> None:
    old = condition("Ready", "Unknown", "ReconcileUnknown", T0)
    given = [old]
    result = c.set_condition(given, c.make_condition(Reason.RECONCILE_SUCCEEDED, now=T1))
    assert given == [old]
    assert old.status == "Unknown"
    assert result is not given


# --- record_problem ------------------------------------------------------------------------------


def test_a_ready_reason_is_recorded_alone() -> None:
    problem = c.MERGE_FAILED.problem("bad")
    result = c.record_problem([], problem, now=T0)
    assert [(item.type, item.reason) for item in result] == [("Ready", "IstioCustomResourceMisconfigured")]


def test_a_reason_of_another_type_first_marks_ready_as_failed() -> None:
    problem = c.SIDECARS_FAILED.problem("boom")
    result = c.record_problem([], problem, now=T0)
    assert [(item.type, item.status, item.reason) for item in result] == [
        ("Ready", "False", "ReconcileFailed"),
        ("ProxySidecarRestartSucceeded", "False", "ProxySidecarRestartFailed"),
    ]


def test_a_problem_without_a_reason_leaves_the_conditions_alone() -> None:
    given = [condition("Ready", "True", "ReconcileSucceeded", T0)]
    assert c.record_problem(given, c.EXPERIMENTAL_NOT_SUPPORTED.problem(), now=T1) == given


def test_a_recorded_problem_keeps_its_custom_message() -> None:
    result = c.record_problem([], c.manual_restart_required(["a/b"]), now=T0)
    assert result[-1].message == "The sidecars of the following workloads could not be restarted: a/b"


# --- most_severe ---------------------------------------------------------------------------------

WARN_A = Problem("warn a", Level.WARNING, Reason.OLDER_CR_EXISTS)
WARN_B = Problem("warn b", Level.WARNING, Reason.VALIDATION_FAILED)
ERROR_A = Problem("error a", Level.ERROR, Reason.RECONCILE_FAILED)
ERROR_B = Problem("error b", Level.ERROR, Reason.INGRESS_GATEWAY_RESTART_FAILED)


@pytest.mark.parametrize(
    ("problems", "expected"),
    [
        ([], None),
        ([WARN_A], WARN_A),
        ([WARN_A, WARN_B], WARN_A),
        ([WARN_A, ERROR_A], ERROR_A),
        ([ERROR_A, WARN_A], ERROR_A),
        ([WARN_B, ERROR_B, ERROR_A, WARN_A], ERROR_B),
    ],
)
def test_an_error_beats_a_warning_and_the_first_of_equals_wins(
    problems: list[Problem], expected: Problem | None
) -> None:
    assert c.most_severe(problems) is expected


# --- manual_restart_message ----------------------------------------------------------------------

PREFIX = "The sidecars of the following workloads could not be restarted: "


def pods(count: int) -> list[str]:
    return [f"ns{i}/pod{i}" for i in range(1, count + 1)]


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, PREFIX),
        (1, PREFIX + "ns1/pod1"),
        (5, PREFIX + "ns1/pod1, ns2/pod2, ns3/pod3, ns4/pod4, ns5/pod5"),
        (6, PREFIX + "ns1/pod1, ns2/pod2, ns3/pod3, ns4/pod4, ns5/pod5 and 1 additional workload(s)"),
        (12, PREFIX + "ns1/pod1, ns2/pod2, ns3/pod3, ns4/pod4, ns5/pod5 and 7 additional workload(s)"),
    ],
)
def test_the_manual_restart_message_lists_at_most_five_workloads(count: int, expected: str) -> None:
    assert c.manual_restart_message(pods(count)) == expected


def test_the_manual_restart_limit_can_be_changed() -> None:
    assert c.manual_restart_message(pods(3), limit=2) == (
        PREFIX + "ns1/pod1, ns2/pod2 and 1 additional workload(s)"
    )


# --- descriptions --------------------------------------------------------------------------------

SEE_LOGS = (
    "Please take a look at kyma-system/istio-controller-manager logs "
    "to see more information about the warning"
)


def test_progress_descriptions_are_spelled_as_in_the_reference() -> None:
    assert (c.RECONCILING, c.DELETING) == ("Reconciling Istio", "Deleting Istio")


@pytest.mark.parametrize(
    ("problem", "description", "level", "reason"),
    [
        (
            c.duplicated_authorizer("ext"),
            "Authorizer name needs to be unique: ext is duplicated",
            Level.WARNING,
            Reason.VALIDATION_FAILED,
        ),
        (
            c.NOT_IN_OPERATOR_NAMESPACE.problem(),
            "Stopped Istio CR reconciliation: Istio CR is not in kyma-system namespace",
            Level.ERROR,
            Reason.RECONCILE_FAILED,
        ),
        (
            c.not_oldest("default"),
            "Stopped Istio CR reconciliation: only Istio CR default in kyma-system reconciles the module",
            Level.WARNING,
            Reason.OLDER_CR_EXISTS,
        ),
        (
            c.VERSION_UPDATE_NOT_ALLOWED.problem("rule"),
            "Istio version update is not allowed: rule",
            Level.WARNING,
            Reason.ISTIO_VERSION_UPDATE_NOT_ALLOWED,
        ),
        (
            c.INSTALL_FAILED.problem(),
            "Could not install Istio: Istio installation resulted in an error",
            Level.ERROR,
            Reason.ISTIO_INSTALL_UNINSTALL_FAILED,
        ),
        (
            c.RESOURCES_BLOCK_DELETION.problem("ignored"),
            f"There are Istio resources that block deletion. {SEE_LOGS}",
            Level.WARNING,
            Reason.ISTIO_CUSTOM_RESOURCES_DANGLING,
        ),
        (
            c.manual_restart_required(["a/b"]),
            f"Not all pods with Istio injection could be restarted. {SEE_LOGS}: "
            "Istio controller could not restart one or more istio-injected pods.",
            Level.WARNING,
            Reason.PROXY_SIDECAR_MANUAL_RESTART_REQUIRED,
        ),
        (
            c.EXPERIMENTAL_NOT_SUPPORTED.problem(),
            "Experimental features are not supported in this image flavour: "
            "istio CR contains experimental feature",
            Level.WARNING,
            None,
        ),
        (
            c.resource_reconcile_failed("EnvoyFilter", "x").problem("boom"),
            "Could not reconcile Istio resource EnvoyFilter/x: boom",
            Level.ERROR,
            Reason.CUSTOM_RESOURCES_RECONCILE_FAILED,
        ),
        (
            c.OLDEST_NOT_FOUND.problem(),
            "Stopped Istio CR reconciliation: no oldest Istio CR found",
            Level.WARNING,
            Reason.OLDEST_CR_NOT_FOUND,
        ),
        (
            c.EGRESS_GATEWAY_RESTART_FAILED.problem("denied"),
            "Failed to restart Egress Gateway: denied",
            Level.ERROR,
            Reason.EGRESS_GATEWAY_RESTART_FAILED,
        ),
        (
            c.ingress_targeting_user_resources(["istio-system/lua"]),
            "misconfigured EnvoyFilter can potentially break Istio Ingress Gateway: "
            "user-created EnvoyFilter istio-system/lua targeting Ingress Gateway found",
            Level.WARNING,
            Reason.INGRESS_TARGETING_USER_RESOURCE_FOUND,
        ),
        (
            c.POD_VERSIONS_FAILED_IN_RESTART.problem("boom"),
            "Verifying Pod versions in istio-system namespace failed: boom",
            Level.ERROR,
            Reason.PROXY_SIDECAR_RESTART_FAILED,
        ),
    ],
)
def test_descriptions_are_written_as_in_the_reference(
    problem: Problem, description: str, level: Level, reason: Reason | None
) -> None:
    assert (problem.description, problem.level, problem.reason) == (description, level, reason)


def test_only_the_spec_warnings_are_warnings() -> None:
    warnings = {d.reason for d in c.DESCRIPTIONS if d.level is Level.WARNING}
    assert warnings == {
        Reason.VALIDATION_FAILED,
        Reason.OLDER_CR_EXISTS,
        Reason.ISTIO_VERSION_UPDATE_NOT_ALLOWED,
        Reason.ISTIO_CUSTOM_RESOURCES_DANGLING,
        Reason.PROXY_SIDECAR_MANUAL_RESTART_REQUIRED,
        Reason.OLDEST_CR_NOT_FOUND,
        Reason.INGRESS_TARGETING_USER_RESOURCE_FOUND,
        Reason.PROXY_SIDECAR_RESTART_FAILED,  # only customer workloads failed: CUSTOMER_SIDECARS_FAILED
        None,
    }


def test_checks_that_retrying_cannot_fix_do_not_requeue() -> None:
    never = {d.text for d in c.DESCRIPTIONS if d.requeue is Requeue.NEVER}
    assert never == {
        "Authorizer name needs to be unique",
        "Stopped Istio CR reconciliation",
        "Experimental features are not supported in this image flavour",
    }


def test_the_catalogue_holds_every_fixed_description_of_the_spec() -> None:
    assert {d.text for d in c.DESCRIPTIONS} == {
        "Authorizer name needs to be unique",
        "Stopped Istio CR reconciliation",
        "Unable to list Istio CRs",
        "Could not get Istio version from istio operator file",
        "Istio install check failed",
        "Istio version update is not allowed",
        "Could not add finalizer",
        "Could not evaluate cluster flavour",
        "Could not evaluate cluster size",
        "Could not merge Istio operator configuration",
        "Could not install Istio",
        "Could not add warden validation label",
        "Verifying Pod versions in istio-system namespace failed",
        "could not update managed metadata",
        "Could not read customer resources finder configuration",
        "Could not get customer resources from the cluster",
        f"There are Istio resources that block deletion. {SEE_LOGS}",
        "Could not uninstall istio",
        "Could not remove istio sidecars",
        "Could not remove finalizer",
        "could not determine cluster provider",
        "Istio controller failed to initialise Istio resources",
        "Could not create Ingress Gateway restart evaluator",
        "Failed to restart Ingress Gateway",
        "Failed to restart Egress Gateway",
        "Error occurred during reconciliation of Istio Sidecars",
        "The sidecars of some customer workloads could not be restarted",
        f"Not all pods with Istio injection could be restarted. {SEE_LOGS}",
        "Error updating LastAppliedConfiguration",
        "Experimental features are not supported in this image flavour",
        "misconfigured EnvoyFilter can potentially break Istio Ingress Gateway",
    }


TARGETING_PREFIX = "misconfigured EnvoyFilter can potentially break Istio Ingress Gateway: "


@pytest.mark.parametrize(
    ("found", "detail"),
    [
        (["istio-system/a", "istio-system/b"], "user-created EnvoyFilters istio-system/a, istio-system/b"),
        (
            ["istio-system/a", "istio-system/b", "istio-system/c"],
            "user-created EnvoyFilters istio-system/a, istio-system/b, istio-system/c",
        ),
        (
            [f"istio-system/f{i}" for i in range(1, 6)],
            "user-created EnvoyFilters istio-system/f1, istio-system/f2, istio-system/f3 and 2 more",
        ),
    ],
)
def test_the_targeting_warning_names_the_first_three_filters_and_counts_the_rest(
    found: list[str], detail: str
) -> None:
    problem = c.ingress_targeting_user_resources(found)
    assert problem.description == f"{TARGETING_PREFIX}{detail} targeting Ingress Gateway found"
    assert problem.message is None
    assert problem.requeue is Requeue.BACKOFF


def test_a_failed_detection_keeps_the_default_message_and_adds_the_cause() -> None:
    assert c.targeting_detection_failed_message("boom") == (
        "Resource targeting Istio Ingress Gateway detection failed: boom"
    )


def test_shared_texts_carry_the_reason_of_the_step_that_writes_them() -> None:
    assert c.TARGET_VERSION_UNREADABLE.reason is Reason.ISTIO_INSTALL_UNINSTALL_FAILED
    assert c.TARGET_VERSION_UNREADABLE_IN_RESTART.reason is Reason.PROXY_SIDECAR_RESTART_FAILED
    assert c.POD_VERSIONS_FAILED.reason is Reason.ISTIO_INSTALL_UNINSTALL_FAILED
    assert c.POD_VERSIONS_FAILED_IN_RESTART.reason is Reason.PROXY_SIDECAR_RESTART_FAILED


def test_a_problem_from_a_description_keeps_a_custom_condition_message() -> None:
    problem = c.SIDECARS_FAILED.problem("boom", message="custom")
    assert (problem.description, problem.message) == (
        "Error occurred during reconciliation of Istio Sidecars: boom",
        "custom",
    )

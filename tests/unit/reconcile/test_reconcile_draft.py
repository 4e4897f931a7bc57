"""The status draft of a pass: starts from the live status, and renders a change only for real changes
(spec 3.1, 3.3 and 3.5)."""

from datetime import UTC, datetime, timedelta
from typing import Any

from kyma_istio.api import conditions as c
from kyma_istio.api.v1alpha2 import State
from kyma_istio.reconcile.draft import Draft, changed

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)
T2 = T1 + timedelta(minutes=5)
T0_WIRE = "2024-05-01T12:00:00Z"


def ready_condition(status: str = "True", reason: str = "ReconcileSucceeded", **extra: Any) -> dict[str, Any]:
    return {
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": c.REASONS[c.Reason(reason)].message,
        "lastTransitionTime": T0_WIRE,
        **extra,
    }


def live_ready() -> dict[str, Any]:
    return {
        "state": "Ready",
        "description": "",
        "conditions": [
            ready_condition(),
            {
                "type": "ProxySidecarRestartSucceeded",
                "status": "True",
                "reason": "ProxySidecarRestartSucceeded",
                "message": "Proxy sidecar restart succeeded",
                "lastTransitionTime": T0_WIRE,
            },
        ],
    }


def by_type(rendered: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {x["type"]: x for x in rendered["conditions"]}


# --- starting point -------------------------------------------------------------------------------


def test_a_draft_without_live_status_starts_processing_with_no_conditions() -> None:
    draft = Draft(None, T0)

    assert draft.state is State.PROCESSING
    assert draft.description == ""
    assert draft.conditions == []


def test_a_draft_starts_from_the_live_state_description_and_conditions() -> None:
    live = {"state": "Warning", "description": "something", "conditions": [ready_condition("False")]}

    draft = Draft(live, T1)

    assert draft.state is State.WARNING
    assert draft.description == "something"
    ready = draft.condition(c.ConditionType.READY)
    assert ready is not None
    assert (ready.status, ready.lastTransitionTime) == ("False", T0)


def test_an_unknown_live_state_reads_as_processing() -> None:
    assert Draft({"state": "Bogus"}, T0).state is State.PROCESSING


def test_a_missing_condition_type_is_none() -> None:
    draft = Draft({"conditions": [ready_condition()]}, T0)

    assert draft.condition(c.ConditionType.PROXY_SIDECAR_RESTART_SUCCEEDED) is None


# --- set ------------------------------------------------------------------------------------------


def test_setting_a_new_condition_stamps_it_with_the_pass_time() -> None:
    draft = Draft(None, T1)

    draft.set(c.Reason.RECONCILE_UNKNOWN)

    ready = draft.condition(c.ConditionType.READY)
    assert ready is not None
    assert (ready.status, ready.reason, ready.lastTransitionTime) == ("Unknown", "ReconcileUnknown", T1)
    assert ready.message == c.REASONS[c.Reason.RECONCILE_UNKNOWN].message


def test_setting_the_same_status_keeps_the_last_transition_time() -> None:
    draft = Draft(live_ready(), T1)

    draft.set(c.Reason.RECONCILE_SUCCEEDED)

    ready = draft.condition(c.ConditionType.READY)
    assert ready is not None
    assert ready.lastTransitionTime == T0


def test_setting_another_reason_with_the_same_status_keeps_the_time_but_takes_the_reason() -> None:
    draft = Draft({"conditions": [ready_condition("False", "IstioInstallSucceeded")]}, T1)

    draft.set(c.Reason.INGRESS_GATEWAY_RESTART_SUCCEEDED)

    ready = draft.condition(c.ConditionType.READY)
    assert ready is not None
    assert (ready.reason, ready.lastTransitionTime) == ("IngressGatewayRestartSucceeded", T0)


def test_setting_a_different_status_moves_the_last_transition_time() -> None:
    draft = Draft(live_ready(), T1)

    draft.set(c.Reason.RECONCILE_FAILED)

    ready = draft.condition(c.ConditionType.READY)
    assert ready is not None
    assert (ready.status, ready.lastTransitionTime) == ("False", T1)


def test_setting_a_condition_replaces_it_in_place() -> None:
    draft = Draft(live_ready(), T1)

    draft.set(c.Reason.RECONCILE_UNKNOWN)

    assert [x.type for x in draft.conditions] == ["Ready", "ProxySidecarRestartSucceeded"]
    assert len(draft.conditions) == 2


def test_a_custom_message_replaces_the_default() -> None:
    draft = Draft(None, T0)

    draft.set(c.Reason.PROXY_SIDECAR_MANUAL_RESTART_REQUIRED, "restart ns/pod by hand")

    cond = draft.condition(c.ConditionType.PROXY_SIDECAR_RESTART_SUCCEEDED)
    assert cond is not None
    assert cond.message == "restart ns/pod by hand"


# --- record and enter -----------------------------------------------------------------------------


def test_recording_a_problem_sets_its_state_description_and_condition() -> None:
    draft = Draft(live_ready(), T1)
    problem = c.MERGE_FAILED.problem("bad value")

    draft.record(problem)

    assert draft.state is State.ERROR
    assert draft.description == "Could not merge Istio operator configuration: bad value"
    ready = draft.condition(c.ConditionType.READY)
    assert ready is not None
    assert (ready.status, ready.reason) == ("False", "IstioCustomResourceMisconfigured")


def test_recording_a_warning_puts_the_cr_in_warning() -> None:
    draft = Draft(None, T0)

    draft.record(c.duplicated_authorizer("ext"))

    assert draft.state is State.WARNING
    assert draft.description == "Authorizer name needs to be unique: ext is duplicated"


def test_recording_a_problem_without_reason_leaves_the_conditions_alone() -> None:
    draft = Draft(live_ready(), T1)
    before = list(draft.conditions)

    draft.record(c.EXPERIMENTAL_NOT_SUPPORTED.problem())

    assert draft.conditions == before
    assert draft.state is State.WARNING
    assert draft.description == (
        "Experimental features are not supported in this image flavour: "
        "istio CR contains experimental feature"
    )


def test_recording_a_sidecar_problem_first_marks_ready_false() -> None:
    draft = Draft(live_ready(), T1)

    draft.record(c.SIDECARS_FAILED.problem("boom"))

    ready = draft.condition(c.ConditionType.READY)
    sidecars = draft.condition(c.ConditionType.PROXY_SIDECAR_RESTART_SUCCEEDED)
    assert ready is not None
    assert sidecars is not None
    assert (ready.status, ready.reason) == ("False", "ReconcileFailed")
    assert (sidecars.status, sidecars.reason) == ("False", "ProxySidecarRestartFailed")


def test_entering_a_state_sets_state_and_description() -> None:
    draft = Draft(live_ready(), T1)

    draft.enter(State.PROCESSING, c.RECONCILING)

    assert (draft.state, draft.description) == (State.PROCESSING, "Reconciling Istio")
    draft.enter(State.READY)
    assert (draft.state, draft.description) == (State.READY, "")


# --- render and changed ---------------------------------------------------------------------------


def test_render_gives_state_description_and_wire_conditions() -> None:
    draft = Draft(None, T0)
    draft.set(c.Reason.RECONCILE_UNKNOWN)
    draft.enter(State.PROCESSING, c.RECONCILING)

    rendered = draft.render()

    assert rendered["state"] == "Processing"
    assert rendered["description"] == "Reconciling Istio"
    assert rendered["conditions"] == [
        {
            "type": "Ready",
            "status": "Unknown",
            "reason": "ReconcileUnknown",
            "message": c.REASONS[c.Reason.RECONCILE_UNKNOWN].message,
            "lastTransitionTime": T0_WIRE,
        }
    ]


def test_an_untouched_draft_renders_no_change() -> None:
    live = live_ready()

    assert not changed(live, Draft(live, T1).render())


def test_re_setting_the_same_conditions_with_a_later_clock_is_no_change() -> None:
    live = live_ready()
    draft = Draft(live, T2)

    draft.set(c.Reason.RECONCILE_SUCCEEDED)
    draft.set(c.Reason.PROXY_SIDECAR_RESTART_SUCCEEDED)
    draft.enter(State.READY)

    assert not changed(live, draft.render())


def test_a_condition_that_flips_and_returns_within_a_pass_keeps_its_live_time() -> None:
    live = live_ready()
    draft = Draft(live, T1)

    draft.set(c.Reason.RECONCILE_UNKNOWN)
    draft.set(c.Reason.RECONCILE_SUCCEEDED)
    draft.enter(State.READY)
    rendered = draft.render()

    assert by_type(rendered)["Ready"]["lastTransitionTime"] == T0_WIRE
    assert not changed(live, rendered)


def test_a_real_status_flip_is_a_change_with_the_pass_time() -> None:
    live = live_ready()
    draft = Draft(live, T1)

    draft.set(c.Reason.RECONCILE_UNKNOWN)
    rendered = draft.render()

    assert changed(live, rendered)
    assert by_type(rendered)["Ready"]["status"] == "Unknown"
    assert by_type(rendered)["Ready"]["lastTransitionTime"] == "2024-05-01T12:05:00Z"


def test_a_new_reason_with_the_same_status_is_a_change() -> None:
    live = {
        "state": "Processing",
        "description": "",
        "conditions": [ready_condition("False", "IstioInstallSucceeded")],
    }
    draft = Draft(live, T1)

    draft.set(c.Reason.INGRESS_GATEWAY_RESTART_SUCCEEDED)

    assert changed(live, draft.render())


def test_a_new_message_is_a_change() -> None:
    live = live_ready()
    draft = Draft(live, T1)

    draft.set(c.Reason.RECONCILE_SUCCEEDED, "another message")

    assert changed(live, draft.render())


def test_a_state_change_is_a_change() -> None:
    live = live_ready()
    draft = Draft(live, T1)

    draft.enter(State.PROCESSING, c.RECONCILING)

    assert changed(live, draft.render())


def test_a_description_change_is_a_change() -> None:
    live = {**live_ready(), "state": "Warning", "description": "old"}
    draft = Draft(live, T1)

    draft.enter(State.WARNING, "new")

    assert changed(live, draft.render())


def test_a_missing_and_an_empty_description_are_the_same() -> None:
    live = live_ready()
    del live["description"]

    assert not changed(live, Draft(live, T1).render())


def test_a_new_condition_type_is_a_change() -> None:
    live = {"state": "Ready", "description": "", "conditions": [ready_condition()]}
    draft = Draft(live, T1)

    draft.set(c.Reason.PROXY_SIDECAR_RESTART_SUCCEEDED)

    assert changed(live, draft.render())


def test_anything_rendered_is_a_change_against_no_status() -> None:
    assert changed(None, Draft(None, T0).render())


def test_a_different_timestamp_spelling_of_the_same_time_is_no_change() -> None:
    live = live_ready()
    rendered = Draft(live, T1).render()
    live["conditions"][0]["lastTransitionTime"] = "2024-05-01T12:00:00+00:00"

    assert not changed(live, rendered)


def test_after_persisting_a_flip_the_next_flip_gets_a_new_time() -> None:
    live = live_ready()
    draft = Draft(live, T1)
    draft.set(c.Reason.RECONCILE_UNKNOWN)
    draft.persisted(draft.render())

    draft.now = T2
    draft.set(c.Reason.RECONCILE_SUCCEEDED)
    ready = by_type(draft.render())["Ready"]

    assert ready["status"] == "True"
    assert ready["lastTransitionTime"] == "2024-05-01T12:10:00Z"

"""The Event reasons table: every reason has one type, and each state has its Event."""

import pytest

from kyma_istio.api.events import EventReason, EventType
from kyma_istio.api.v1alpha2 import State


def test_reasons_are_unique() -> None:
    reasons = [member.reason for member in EventReason]

    assert len(reasons) == len(set(reasons))


@pytest.mark.parametrize("state", list(State))
def test_every_state_has_an_event_warning_for_error_and_warning(state: State) -> None:
    reason = EventReason.entering(state)

    assert reason.reason == f"State{state.value}"
    assert (reason.type is EventType.WARNING) == (state in (State.ERROR, State.WARNING))


def test_failures_are_warnings() -> None:
    failing = {member for member in EventReason if "Failed" in member.reason or "NotAllowed" in member.reason}

    assert failing and all(member.type is EventType.WARNING for member in failing)

"""The status of a pass in the making: conditions set in memory, state and description at the end.

Pure: it never writes. ``pipeline`` persists ``Draft.render()`` only when it differs from the live
status (``changed``), which is what makes a no-change reconcile silent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kyma_istio.api import conditions as c
from kyma_istio.api.v1alpha2 import Condition, State


class Draft:
    """Conditions accumulated during a pass, starting from the live ones."""

    def __init__(self, live_status: Mapping[str, Any] | None, now: datetime) -> None:
        live = live_status or {}
        self.now = now
        self.conditions: list[Condition] = [Condition.model_validate(x) for x in live.get("conditions") or []]
        self.state: State = (
            State(live["state"]) if live.get("state") in State._value2member_map_ else State.PROCESSING
        )
        self.description: str = str(live.get("description") or "")

    def set(self, reason: c.Reason, message: str | None = None) -> None:
        """Set the condition a reason belongs to."""
        self.conditions = c.set_condition(
            self.conditions, c.make_condition(reason, message=message, now=self.now)
        )

    def record(self, problem: c.Problem) -> None:
        """Put the CR into the problem's state, with its description and condition."""
        self.conditions = c.record_problem(self.conditions, problem, now=self.now)
        self.state = problem.level.state
        self.description = problem.description

    def enter(self, state: State, description: str = "") -> None:
        self.state = state
        self.description = description

    def condition(self, type_: c.ConditionType) -> Condition | None:
        return next((x for x in self.conditions if x.type == type_.value), None)

    def render(self) -> dict[str, Any]:
        """``status`` as written to the API server."""
        status: dict[str, Any] = {"state": self.state.value, "description": self.description}
        status["conditions"] = [x.model_dump(mode="json", exclude_none=True) for x in self.conditions]
        return status


def changed(live_status: Mapping[str, Any] | None, rendered: Mapping[str, Any]) -> bool:
    """Whether writing ``rendered`` would change anything the API server holds."""
    live = dict(live_status or {})
    live_conditions = [Condition.model_validate(x) for x in live.get("conditions") or []]
    new_conditions = [Condition.model_validate(x) for x in rendered.get("conditions") or []]
    return (
        live.get("state") != rendered.get("state")
        or (live.get("description") or "") != (rendered.get("description") or "")
        or live_conditions != new_conditions
    )

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
        self._live = list(self.conditions)
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
        """``status`` as written to the API server.

        ``lastTransitionTime`` is judged against the persisted conditions, not the ones set in memory
        during the pass: a condition that went Unknown and back to True within one pass never
        transitioned as far as anyone reading the CR can tell.
        """
        live = {x.type: x for x in self._live}
        conditions = [
            x.model_copy(update={"lastTransitionTime": live[x.type].lastTransitionTime})
            if x.type in live and live[x.type].status == x.status
            else x
            for x in self.conditions
        ]
        status: dict[str, Any] = {"state": self.state.value, "description": self.description}
        status["conditions"] = [x.model_dump(mode="json", exclude_none=True) for x in conditions]
        return status

    def persisted(self, rendered: Mapping[str, Any]) -> None:
        """Record that ``rendered`` is now what the API server holds."""
        self._live = [Condition.model_validate(x) for x in rendered.get("conditions") or []]


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

"""Whether the operator may restart a workload now: exclusions and maintenance windows, by precedence.

Kyma's annotations, on a workload (Deployment, StatefulSet, DaemonSet, bare ReplicaSet) or, beyond Kyma,
on its Namespace as the default for the workloads in it:

* ``restarter.istio-operator.kyma-project.io/exclude: "true"`` never restarts it, for any reason; a
  workload's ``"false"`` overrides its namespace's ``"true"``;
* ``restarter.istio-operator.kyma-project.io/maintenance-window`` (:mod:`restart.windows`) restarts it
  only while the window is open; a workload's window wins over its namespace's, which wins over the
  operator's default (``--restart-window``; none: restart at once).

A value that does not parse never causes a restart: the workload is treated as excluded until it is
fixed, and the decision names the object, the annotation, the value and the rule. Pure: the caller hands
in the annotations and the instant.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from kyma_istio.restart import windows
from kyma_istio.restart.windows import Window, WindowError

PREFIX: Final = "restarter.istio-operator.kyma-project.io"
WINDOW_ANNOTATION: Final = f"{PREFIX}/maintenance-window"
EXCLUDE_ANNOTATION: Final = f"{PREFIX}/exclude"


class Verdict(enum.Enum):
    """What the owner's annotations allow."""

    RESTART = "restart"
    EXCLUDED = "excluded"
    WAITING = "waiting"
    """Outside its maintenance window: restarted when it next opens."""
    INVALID = "invalid"
    """An annotation does not parse: treated as excluded until fixed."""


@dataclass(frozen=True)
class Decision:
    """The verdict, where it came from, and for a window when it next opens and closes."""

    verdict: Verdict
    source: str = ""
    """``workload`` or ``namespace`` (or ``operator`` for the default window): whose setting decided."""
    window: Window | None = None
    opens: datetime | None = None
    """For ``WAITING``: the next opening."""
    problem: str = ""
    """For ``INVALID``: annotation, value and rule, as the Event says it."""


ALLOWED: Final = Decision(Verdict.RESTART)


def _exclude(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise ValueError(f'{EXCLUDE_ANNOTATION}={value!r} is not "true" or "false"')
    return lowered == "true"


def _invalid(source: str, problem: str) -> Decision:
    return Decision(Verdict.INVALID, source, problem=problem)


def decide(
    workload: Mapping[str, str],
    namespace: Mapping[str, str],
    *,
    now: datetime,
    default_window: Window | None = None,
    windows_apply: bool = True,
) -> Decision:
    """The decision for one owner from its own annotations, its namespace's and the operator default.
    Without ``windows_apply`` (sidecar removal after an uninstall, which no later pass would resume)
    only exclusions and bad values hold an owner back."""
    for source, found in (("workload", workload), ("namespace", namespace)):
        value = found.get(EXCLUDE_ANNOTATION)
        if value is None:
            continue
        try:
            excluded = _exclude(value)
        except ValueError as err:
            return _invalid(source, str(err))
        if excluded:
            return Decision(Verdict.EXCLUDED, source)
        break  # an explicit "false" ends the search: the workload's overrides its namespace's
    if not windows_apply:
        for source, found in (("workload", workload), ("namespace", namespace)):
            value = found.get(WINDOW_ANNOTATION)
            if value is not None:
                try:
                    windows.parse(value)
                except WindowError as err:
                    return _invalid(source, f"{WINDOW_ANNOTATION}: {err}; expected {windows.GRAMMAR}")
                break
        return ALLOWED
    window: Window | None = default_window
    source = "operator"
    for candidate, found in (("workload", workload), ("namespace", namespace)):
        value = found.get(WINDOW_ANNOTATION)
        if value is None:
            continue
        try:
            window = windows.parse(value)
        except WindowError as err:
            return _invalid(candidate, f"{WINDOW_ANNOTATION}: {err}; expected {windows.GRAMMAR}")
        source = candidate
        break
    if window is None or window.is_open(now):
        return Decision(Verdict.RESTART, source if window else "", window)
    return Decision(Verdict.WAITING, source, window, opens=window.next_open(now))

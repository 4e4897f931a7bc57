"""Exclusions and maintenance windows by precedence: workload over namespace over the operator default."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kyma_istio.restart import policy, windows
from kyma_istio.restart.policy import EXCLUDE_ANNOTATION, WINDOW_ANNOTATION, Verdict

SAT_NOON = datetime(2026, 12, 12, 12, 0, tzinfo=UTC)
OPEN = "Sat 10:00-14:00"
CLOSED = "Sun 02:00-04:00"


def decide(
    workload: dict[str, str], namespace: dict[str, str], default: str | None = None
) -> policy.Decision:
    window = windows.parse(default) if default else None
    return policy.decide(workload, namespace, now=SAT_NOON, default_window=window)


def test_nothing_set_restarts_at_once() -> None:
    assert decide({}, {}) == policy.Decision(Verdict.RESTART)


@pytest.mark.parametrize(
    ("workload", "namespace", "verdict", "source"),
    [
        ({EXCLUDE_ANNOTATION: "true"}, {}, Verdict.EXCLUDED, "workload"),
        ({}, {EXCLUDE_ANNOTATION: "true"}, Verdict.EXCLUDED, "namespace"),
        ({EXCLUDE_ANNOTATION: "false"}, {EXCLUDE_ANNOTATION: "true"}, Verdict.RESTART, ""),
        ({EXCLUDE_ANNOTATION: "TRUE"}, {}, Verdict.EXCLUDED, "workload"),
        ({EXCLUDE_ANNOTATION: "yes"}, {}, Verdict.INVALID, "workload"),
        ({}, {EXCLUDE_ANNOTATION: "1"}, Verdict.INVALID, "namespace"),
        ({EXCLUDE_ANNOTATION: "true", WINDOW_ANNOTATION: OPEN}, {}, Verdict.EXCLUDED, "workload"),
    ],
)
def test_exclusions(
    workload: dict[str, str], namespace: dict[str, str], verdict: Verdict, source: str
) -> None:
    decision = decide(workload, namespace)
    assert (decision.verdict, decision.source) == (verdict, source)


def test_the_workloads_window_wins_over_its_namespaces_and_the_operators() -> None:
    decision = decide({WINDOW_ANNOTATION: OPEN}, {WINDOW_ANNOTATION: CLOSED}, CLOSED)
    assert (decision.verdict, decision.source) == (Verdict.RESTART, "workload")

    decision = decide({WINDOW_ANNOTATION: CLOSED}, {WINDOW_ANNOTATION: OPEN}, OPEN)
    assert (decision.verdict, decision.source) == (Verdict.WAITING, "workload")
    assert decision.opens == datetime(2026, 12, 13, 2, 0, tzinfo=UTC)


def test_the_namespaces_window_wins_over_the_operators() -> None:
    decision = decide({}, {WINDOW_ANNOTATION: CLOSED}, OPEN)
    assert (decision.verdict, decision.source) == (Verdict.WAITING, "namespace")


def test_the_operators_window_applies_when_neither_sets_one() -> None:
    decision = decide({}, {}, CLOSED)
    assert (decision.verdict, decision.source) == (Verdict.WAITING, "operator")
    assert decide({}, {}, OPEN).verdict is Verdict.RESTART


@pytest.mark.parametrize("value", ["Sat 25:00-26:00", "Funday 01:00-02:00", "true", ""])
def test_a_bad_window_is_invalid_naming_the_annotation_value_and_rule(value: str) -> None:
    decision = decide({WINDOW_ANNOTATION: value}, {})
    assert decision.verdict is Verdict.INVALID
    assert WINDOW_ANNOTATION in decision.problem
    assert repr(value) in decision.problem or value == ""
    assert "HH:MM" in decision.problem


def test_a_bad_namespace_window_does_not_matter_when_the_workload_sets_its_own() -> None:
    assert decide({WINDOW_ANNOTATION: OPEN}, {WINDOW_ANNOTATION: "nonsense"}).verdict is Verdict.RESTART


def test_the_held_skew_is_the_oldest_held_proxy_behind_the_control_plane() -> None:
    from kyma_istio.restart.outcomes import Outcome, PodOutcome, RestartPlan, held_skew_minors
    from kyma_istio.restart.owners import WorkloadKey
    from kyma_istio.restart.predicates import OutdatedReason

    def outcome(outcome: Outcome, image: str) -> PodOutcome:
        return PodOutcome(
            outcome, WorkloadKey("Deployment", "a", image), OutdatedReason.IMAGE_OUTDATED, 1, running=image
        )

    plan = RestartPlan(
        outcomes=(
            outcome(Outcome.EXCLUDED, "r/proxyv2:1.27.0-distroless"),
            outcome(Outcome.WAITING_FOR_WINDOW, "r/proxyv2:1.28.3@sha256:abc"),
            outcome(Outcome.ROLLOUT_VIA_OWNER, "r/proxyv2:1.20.0"),  # restarted now: not held
            outcome(Outcome.CONFIG_INVALID, "r/proxy:custom"),
        )
    )
    assert held_skew_minors(plan, "1.29.1") == 2
    assert held_skew_minors(RestartPlan(), "1.29.1") == 0


def test_without_windows_only_exclusions_and_bad_values_hold_an_owner_back() -> None:
    """Sidecar removal after an uninstall: no later pass would honour a window."""

    def removal(workload: dict[str, str], namespace: dict[str, str]) -> Verdict:
        return policy.decide(workload, namespace, now=SAT_NOON, windows_apply=False).verdict

    assert removal({WINDOW_ANNOTATION: CLOSED}, {}) is Verdict.RESTART
    assert removal({}, {EXCLUDE_ANNOTATION: "true"}) is Verdict.EXCLUDED
    assert removal({WINDOW_ANNOTATION: "Funday 01:00-02:00"}, {}) is Verdict.INVALID

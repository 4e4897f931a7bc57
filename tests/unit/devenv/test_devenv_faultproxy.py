"""The fault proxy's rules: requests are named as the API server's authorizer names them, rules match
by verb and resource, and a seed makes the choices reproducible."""

import random

import pytest

from kyma_istio.devenv.faultproxy import Fault, Request, Rule, choose, describe, mixed


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/api/v1/namespaces/app/pods", {}, Request("list", "pods", "")),
        ("GET", "/api/v1/pods", {"watch": "true"}, Request("watch", "pods", "")),
        ("GET", "/apis/apps/v1/namespaces/app/deployments/a", {}, Request("get", "deployments", "a")),
        ("PATCH", "/apis/apps/v1/namespaces/app/deployments/a", {}, Request("patch", "deployments", "a")),
        ("POST", "/api/v1/namespaces/app/pods/a/eviction", {}, Request("create", "pods/eviction", "a")),
        (
            "PATCH",
            "/apis/operator.kyma-project.io/v1alpha2/namespaces/k/istios/d/status",
            {},
            Request("patch", "istios/status", "d"),
        ),
        ("GET", "/api/v1/nodes", {"continue": "x"}, Request("list", "nodes", "", has_continue=True)),
        ("DELETE", "/api/v1/namespaces/istio-system", {}, Request("delete", "namespaces", "istio-system")),
        ("GET", "/version", {}, Request("get", "", "")),
    ],
)
def test_requests_are_named_by_verb_and_resource(
    method: str, path: str, query: dict[str, str], expected: Request
) -> None:
    assert describe(method, path, query) == expected


def test_rules_match_by_verb_and_resource_and_never_non_resource_paths() -> None:
    rule = Rule(Fault.UNAVAILABLE, 1.0, verbs=frozenset({"patch"}), resources=frozenset({"deployments"}))

    assert rule.matches(Request("patch", "deployments", "a"))
    assert not rule.matches(Request("get", "deployments", "a"))
    assert not rule.matches(Request("patch", "statefulsets", "a"))
    assert not Rule(Fault.UNAVAILABLE, 1.0).matches(Request("get", "", ""))


def test_conflicts_hit_only_writes_gone_only_continued_lists_and_drops_only_watches() -> None:
    assert not Rule(Fault.CONFLICT, 1.0).matches(Request("get", "pods", "a"))
    assert Rule(Fault.CONFLICT, 1.0).matches(Request("patch", "pods", "a"))
    assert not Rule(Fault.GONE, 1.0).matches(Request("list", "pods", ""))
    assert Rule(Fault.GONE, 1.0).matches(Request("list", "pods", "", has_continue=True))
    assert not Rule(Fault.DROP_WATCH, 1.0).matches(Request("list", "pods", ""))
    assert Rule(Fault.DROP_WATCH, 1.0).matches(Request("watch", "pods", ""))


def test_a_seed_gives_the_same_choices_for_the_same_requests() -> None:
    rules = mixed(0.5)
    requests = [Request("get", "pods", f"p{n}") for n in range(200)]

    rng_a, rng_b, rng_c = random.Random(7), random.Random(7), random.Random(8)
    first = [choose(rules, r, rng_a) for r in requests]

    assert first == [choose(rules, r, rng_b) for r in requests]
    assert first != [choose(rules, r, rng_c) for r in requests]


@pytest.mark.parametrize("rate", [0.05, 0.2, 0.5])
def test_a_mixed_rate_fails_about_that_share_spread_over_every_kind(rate: float) -> None:
    rules = mixed(rate)
    rng = random.Random(1)
    picks = [choose(rules, Request("get", "pods", "a"), rng) for _ in range(20000)]

    failed = [p for p in picks if p is not None]
    assert abs(len(failed) / len(picks) - rate) < 0.02
    kinds = {p.fault for p in failed}
    assert kinds == {
        Fault.INTERNAL_ERROR,
        Fault.UNAVAILABLE,
        Fault.TOO_MANY_REQUESTS,
        Fault.RESET,
        Fault.RESET_AFTER,
    }
    for fault in kinds:
        share = sum(1 for p in failed if p.fault is fault) / len(picks)
        assert abs(share - rate / 5) < 0.02


def test_no_rules_forward_everything() -> None:
    assert choose([], Request("get", "pods", "a"), random.Random(0)) is None

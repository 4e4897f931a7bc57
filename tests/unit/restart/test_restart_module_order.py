"""Kyma modules' workloads first: their owners lead the plan, are never deferred for a customer's, and
restart in waves of their own."""

from __future__ import annotations

from dataclasses import replace

from restart_builders import deployment_pods, owner, plan

from kyma_istio.restart.outcomes import Outcome, waves
from kyma_istio.restart.podview import OwnerRef, PodView

MODULE_NS = "kyma-system"


def _pods(name: str, namespace: str, count: int = 1, *, module: bool = False) -> list[PodView]:
    return [replace(pod, module=module) for pod in deployment_pods(name, count, namespace)]


def _owners(*apps: tuple[str, str]) -> dict[tuple[str, str], OwnerRef | None]:
    return {(namespace, f"{name}-rs"): owner("Deployment", name) for name, namespace in apps}


def test_module_owners_come_before_customer_owners_whatever_their_namespace() -> None:
    pods = [
        *_pods("shop", "alpha"),
        *_pods("telemetry", "zulu", module=True),
        *_pods("gateway", MODULE_NS, module=True),
        *_pods("cart", "beta"),
    ]
    lookups = _owners(("shop", "alpha"), ("telemetry", "zulu"), ("gateway", MODULE_NS), ("cart", "beta"))

    result = plan(pods, replicaset_owners=lookups)

    assert [(a.workload.namespace, a.workload.name, a.module) for a in result.actions] == [
        (MODULE_NS, "gateway", True),
        ("zulu", "telemetry", True),
        ("alpha", "shop", False),
        ("beta", "cart", False),
    ]


def test_the_limit_defers_customer_owners_before_module_owners() -> None:
    pods = [*_pods("aaa", "alpha"), *_pods("gateway", MODULE_NS, module=True)]
    lookups = _owners(("aaa", "alpha"), ("gateway", MODULE_NS))

    result = plan(pods, replicaset_owners=lookups, limit=1)

    assert [a.workload.name for a in result.actions] == ["gateway"]
    deferred = result.outcomes_of(Outcome.DEFERRED)
    assert [o.workload.name for o in deferred] == ["aaa"]


def test_an_owner_with_one_module_pod_among_others_counts_as_a_module() -> None:
    labelled = replace(_pods("mixed", "alpha", module=True)[0], name="mixed-9")
    pods = [*_pods("mixed", "alpha", 2), labelled]

    (action,) = plan(pods, replicaset_owners=_owners(("mixed", "alpha"))).actions

    assert action.module
    assert action.pods == 3


def test_a_wave_never_mixes_module_and_customer_owners() -> None:
    pods = [
        *_pods("m1", MODULE_NS, module=True),
        *_pods("m2", MODULE_NS, module=True),
        *_pods("m3", MODULE_NS, module=True),
        *_pods("c1", "alpha"),
        *_pods("c2", "alpha"),
        *_pods("c3", "alpha"),
    ]
    apps = [(f"m{n}", MODULE_NS) for n in (1, 2, 3)] + [(f"c{n}", "alpha") for n in (1, 2, 3)]

    actions = plan(pods, replicaset_owners=_owners(*apps)).actions
    split = waves(actions, 2)

    assert [[a.workload.name for a in wave] for wave in split] == [["m1", "m2"], ["m3"], ["c1", "c2"], ["c3"]]
    assert [a for wave in split for a in wave] == list(actions)


def test_without_module_owners_the_waves_are_as_before() -> None:
    apps = [(f"c{n}", "alpha") for n in range(5)]
    pods = [pod for name, ns in apps for pod in _pods(name, ns)]

    split = waves(plan(pods, replicaset_owners=_owners(*apps)).actions, 2)

    assert [len(wave) for wave in split] == [2, 2, 1]

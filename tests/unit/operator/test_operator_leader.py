"""Leader election on a Lease (ADR 0003): one round of ``try_acquire`` against an in-memory API server
with resourceVersion conflicts."""

import copy
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.kinds import Kind
from kyma_istio.operator.leader import LeaseElector

NAME = "76223278.kyma-project.io"
NAMESPACE = "kyma-system"
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FakeKube:
    """Leases only: get/create/patch with the API server's optimistic concurrency."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.version = 0
        self.after_get: Callable[[], None] | None = None
        """Runs once after the next get: another writer sneaking in between read and write."""

    def _bump(self) -> str:
        self.version += 1
        return str(self.version)

    async def get(self, kind: Kind, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        assert kind == kinds.LEASE
        found = self.objects.get((namespace or "", name))
        result = copy.deepcopy(found)
        if self.after_get is not None:
            hook, self.after_get = self.after_get, None
            hook()
        return result

    async def create(self, kind: Kind, obj: Mapping[str, Any]) -> dict[str, Any]:
        assert obj["kind"] == "Lease"
        meta = obj["metadata"]
        key = (meta["namespace"], meta["name"])
        if key in self.objects:
            raise errors.Conflict(f"create Lease {key}: already exists")
        stored = copy.deepcopy(dict(obj))
        stored["metadata"]["resourceVersion"] = self._bump()
        self.objects[key] = stored
        return copy.deepcopy(stored)

    async def patch(
        self, kind: Kind, name: str, patch: Any, *, namespace: str | None = None, **_: Any
    ) -> dict[str, Any]:
        assert kind == kinds.LEASE
        key = (namespace or "", name)
        if key not in self.objects:
            raise errors.NotFound(f"patch Lease {key}: not found")
        stored = self.objects[key]
        wanted = (patch.get("metadata") or {}).get("resourceVersion")
        if wanted is not None and wanted != stored["metadata"]["resourceVersion"]:
            raise errors.Conflict(f"patch Lease {key}: the object has been modified")
        stored["spec"] = {**stored.get("spec", {}), **patch.get("spec", {})}
        stored["metadata"]["resourceVersion"] = self._bump()
        return copy.deepcopy(stored)

    def put(self, spec: dict[str, Any]) -> None:
        """A Lease written by someone else."""
        self.objects[(NAMESPACE, NAME)] = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "resourceVersion": self._bump()},
            "spec": spec,
        }

    def lease(self) -> dict[str, Any]:
        return self.objects[(NAMESPACE, NAME)]


@pytest.fixture
def kube() -> FakeKube:
    return FakeKube()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def elector(kube: FakeKube, clock: FakeClock, identity: str = "me") -> LeaseElector:
    return LeaseElector(
        kube=kube,
        name=NAME,
        namespace=NAMESPACE,
        identity=identity,
        lease_duration_s=15.0,
        clock=clock,
    )


def held_by(holder: str, renewed: datetime, *, transitions: int = 3, duration: int = 15) -> dict[str, Any]:
    return {
        "holderIdentity": holder,
        "leaseDurationSeconds": duration,
        "acquireTime": stamp(renewed - timedelta(hours=1)),
        "renewTime": stamp(renewed),
        "leaseTransitions": transitions,
    }


async def test_an_absent_lease_is_created_and_held(kube: FakeKube, clock: FakeClock) -> None:
    assert await elector(kube, clock).try_acquire()

    spec = kube.lease()["spec"]
    assert spec["holderIdentity"] == "me"
    assert spec["leaseDurationSeconds"] == 15
    assert spec["renewTime"] == stamp(T0)
    assert spec["acquireTime"] == stamp(T0)


async def test_a_fresh_lease_of_another_holder_is_not_taken(kube: FakeKube, clock: FakeClock) -> None:
    kube.put(held_by("other", T0 - timedelta(seconds=5)))
    before = copy.deepcopy(kube.lease())

    assert not await elector(kube, clock).try_acquire()
    assert kube.lease() == before


async def test_an_expired_lease_of_another_holder_is_taken_over(kube: FakeKube, clock: FakeClock) -> None:
    kube.put(held_by("other", T0 - timedelta(seconds=16), transitions=3))

    assert await elector(kube, clock).try_acquire()

    spec = kube.lease()["spec"]
    assert spec["holderIdentity"] == "me"
    assert spec["leaseTransitions"] == 4
    assert spec["acquireTime"] == stamp(T0)
    assert spec["renewTime"] == stamp(T0)


async def test_expiry_follows_the_duration_written_in_the_lease(kube: FakeKube, clock: FakeClock) -> None:
    kube.put(held_by("other", T0 - timedelta(seconds=30), duration=60))

    assert not await elector(kube, clock).try_acquire()
    clock.advance(31)
    assert await elector(kube, clock).try_acquire()


async def test_a_lease_never_renewed_counts_as_expired(kube: FakeKube, clock: FakeClock) -> None:
    spec = held_by("other", T0)
    del spec["renewTime"]
    kube.put(spec)

    assert await elector(kube, clock).try_acquire()
    assert kube.lease()["spec"]["holderIdentity"] == "me"


async def test_a_held_lease_is_renewed_without_a_transition(kube: FakeKube, clock: FakeClock) -> None:
    me = elector(kube, clock)
    assert await me.try_acquire()
    first = copy.deepcopy(kube.lease()["spec"])

    clock.advance(5)
    assert await me.try_acquire()

    spec = kube.lease()["spec"]
    assert spec["renewTime"] == stamp(T0 + timedelta(seconds=5))
    assert spec["acquireTime"] == first["acquireTime"]
    assert spec["leaseTransitions"] == first["leaseTransitions"]


async def test_our_own_expired_lease_is_renewed_without_a_transition(
    kube: FakeKube, clock: FakeClock
) -> None:
    kube.put(held_by("me", T0 - timedelta(minutes=5), transitions=2))

    assert await elector(kube, clock).try_acquire()

    assert kube.lease()["spec"]["leaseTransitions"] == 2
    assert kube.lease()["spec"]["renewTime"] == stamp(T0)


async def test_losing_the_create_race_is_not_leading(kube: FakeKube, clock: FakeClock) -> None:
    kube.after_get = lambda: kube.put(held_by("other", T0))

    assert not await elector(kube, clock).try_acquire()
    assert kube.lease()["spec"]["holderIdentity"] == "other"


async def test_losing_the_takeover_race_is_not_leading(kube: FakeKube, clock: FakeClock) -> None:
    kube.put(held_by("old", T0 - timedelta(minutes=1)))

    def other_takes_over() -> None:
        kube.lease()["spec"] = held_by("other", T0)
        kube.lease()["metadata"]["resourceVersion"] = kube._bump()

    kube.after_get = other_takes_over

    assert not await elector(kube, clock).try_acquire()
    assert kube.lease()["spec"]["holderIdentity"] == "other"


async def test_only_one_of_two_candidates_leads_until_the_leader_stops_renewing(
    kube: FakeKube, clock: FakeClock
) -> None:
    first, second = elector(kube, clock, "first"), elector(kube, clock, "second")

    assert await first.try_acquire()
    assert not await second.try_acquire()
    clock.advance(10)
    assert await first.try_acquire()
    clock.advance(10)
    assert not await second.try_acquire()

    clock.advance(16)
    assert await second.try_acquire()
    assert not await first.try_acquire()
    assert kube.lease()["spec"]["holderIdentity"] == "second"


class _FlakyKube:
    """Fails the first GET like an API server that is not reachable yet, then has no Lease."""

    def __init__(self) -> None:
        self.gets = 0
        self.created: list[dict[str, object]] = []

    async def get(self, kind: object, name: str, namespace: str | None = None) -> None:
        self.gets += 1
        if self.gets == 1:
            from kyma_istio.k8s import errors

            raise errors.Transient("connection refused")

    async def create(self, kind: object, body: dict[str, object]) -> dict[str, object]:
        self.created.append(body)
        return body


async def test_acquire_retries_when_the_api_server_is_not_reachable_yet() -> None:
    from typing import cast

    from kyma_istio.k8s.seam import KubeApi
    from kyma_istio.operator.leader import LeaseElector

    kube = _FlakyKube()  # only get and create: the two calls acquiring makes
    elector = LeaseElector(cast(KubeApi, kube), "lease", "kyma-system", "me", renew_every_s=0.0)

    await elector.acquire()

    assert kube.gets == 2
    assert len(kube.created) == 1

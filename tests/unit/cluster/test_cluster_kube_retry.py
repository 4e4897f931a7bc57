"""The Kube facade applies the retry loop to every call: reads, whole lists, streams before their first
object, writes with the same body, and evictions (a PDB refusal is never retried)."""

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from kyma_istio.cluster.kube import Kube
from kyma_istio.cluster.retry import Retrier
from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.retry import RetryPolicy


async def _no_sleep(_: float) -> None:
    return None


def _reset() -> httpx2.ConnectError:
    return httpx2.ConnectError("connection reset by peer")


class FakeClient:
    """A lightkube AsyncClient stand-in: each method pops its next outcome (an exception or a value)."""

    def __init__(self, **outcomes: list[Any]) -> None:
        self.outcomes = outcomes
        self.calls: dict[str, list[Any]] = {}

    def _next(self, method: str, *args: Any) -> Any:
        self.calls.setdefault(method, []).append(args)
        outcome = self.outcomes[method].pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def get(self, *args: Any, **_: Any) -> Any:
        return self._next("get", *args)

    async def patch(self, *args: Any, **_: Any) -> Any:
        return self._next("patch", *args)

    async def create(self, *args: Any, **_: Any) -> Any:
        return self._next("create", *args)

    def list(self, *args: Any, **_: Any) -> AsyncIterator[Any]:
        pages = self._next("list", *args)

        async def walk() -> AsyncIterator[Any]:
            for item in pages:
                if isinstance(item, BaseException):
                    raise item
                yield item

        return walk()


def kube(client: FakeClient) -> Kube:
    retrier = Retrier(policy=RetryPolicy(attempts=4), sleep=_no_sleep, jitter=lambda: 0.0)
    return Kube(client, retrier=retrier)  # type: ignore[arg-type]


async def test_a_read_that_fails_transiently_is_retried() -> None:
    client = FakeClient(get=[_reset(), {"metadata": {"name": "n"}}])

    assert await kube(client).get(kinds.NODE, "n") == {"metadata": {"name": "n"}}
    assert len(client.calls["get"]) == 2


async def test_a_write_is_retried_with_the_same_body() -> None:
    client = FakeClient(patch=[_reset(), _reset(), {"metadata": {"name": "a"}}])
    body = {"spec": {"template": {"metadata": {"annotations": {"at": "t1"}}}}}

    await kube(client).patch(kinds.DEPLOYMENT, "a", body, namespace="app")

    assert [call[2] for call in client.calls["patch"]] == [body, body, body]


async def test_a_list_held_in_memory_is_retried_whole_after_a_failure_on_a_later_page() -> None:
    client = FakeClient(
        list=[
            [{"metadata": {"name": "a"}}, _reset()],
            [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}],
        ]
    )

    found = await kube(client).list_all(kinds.NODE)

    assert [o["metadata"]["name"] for o in found] == ["a", "b"]


async def test_a_stream_is_retried_before_its_first_object_but_not_after() -> None:
    before = FakeClient(list=[[_reset()], [{"metadata": {"name": "a"}}]])
    after = FakeClient(list=[[{"metadata": {"name": "a"}}, _reset()]])

    assert [o async for o in kube(before).stream(kinds.NODE)] == [{"metadata": {"name": "a"}}]
    seen: list[Any] = []

    async def consume() -> None:
        async for obj in kube(after).stream(kinds.NODE):
            seen.append(obj)

    with pytest.raises(errors.Transient):
        await consume()
    assert seen == [{"metadata": {"name": "a"}}]
    assert len(after.calls["list"]) == 1


async def test_a_persisting_failure_reaches_the_caller_typed_and_named() -> None:
    client = FakeClient(get=[_reset() for _ in range(4)])

    with pytest.raises(errors.Transient, match="get Node n: ConnectError"):
        await kube(client).get(kinds.NODE, "n")
    assert len(client.calls["get"]) == 4


async def test_a_list_held_in_memory_that_keeps_failing_makes_the_policys_attempts_not_more() -> None:
    # The whole-list retry and the stream's own would otherwise nest: 4 x 4 attempts here, 8 x 8 (about
    # 100 s of waiting) with the default policy against a server that refuses connections.
    client = FakeClient(list=[[_reset()] for _ in range(16)])

    with pytest.raises(errors.Transient):
        await kube(client).list_all(kinds.NODE)
    assert len(client.calls["list"]) == 4


async def test_an_eviction_of_a_pod_already_gone_counts_as_done() -> None:
    request = httpx2.Request("POST", "https://127.0.0.1/api/v1/namespaces/app/pods/p/eviction")
    gone = httpx2.HTTPStatusError("404", request=request, response=httpx2.Response(404, request=request))
    client = FakeClient(create=[_reset(), gone])

    await kube(client).evict("p", "app")

    assert len(client.calls["create"]) == 2

"""A thin, dict-based facade over lightkube's AsyncClient.

Why a facade: every call site gets the same error translation (``errors.translate``), the same retries
of transient failures (``cluster.retry``, policy in ``k8s.retry``), the same field manager for
server-side apply, and the request counter that the "a no-change reconcile writes nothing" check and the
benchmarks read. Objects go in and come out as plain dicts.
"""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx2
from lightkube import AsyncClient, operators
from lightkube import types as lightkube_types
from lightkube.core.exceptions import ApiError
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Pod
from lightkube.types import CascadeType

from kyma_istio.api import names
from kyma_istio.cluster import errors
from kyma_istio.cluster.kinds import resource
from kyma_istio.cluster.kubeconfig import Resolved, resolve
from kyma_istio.cluster.retry import Retrier
from kyma_istio.k8s.kinds import Kind
from kyma_istio.k8s.ratelimit import TokenBucket
from kyma_istio.k8s.seam import EXISTS, Obj, PatchType

_PATCH_TYPES = {
    PatchType.MERGE: lightkube_types.PatchType.MERGE,
    PatchType.STRATEGIC: lightkube_types.PatchType.STRATEGIC,
    PatchType.JSON: lightkube_types.PatchType.JSON,
}

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _as_dict(obj: Any) -> Obj:
    if isinstance(obj, dict):
        return dict(obj.to_dict()) if hasattr(obj, "to_dict") else obj
    return dict(obj.to_dict())


class Kube:
    """The operator's API access (``k8s.seam.KubeApi``); create one per process, ``close()`` it at the end."""

    def __init__(
        self,
        client: AsyncClient,
        *,
        target: str = "the API server",
        limiter: TokenBucket | None = None,
        retrier: Retrier | None = None,
    ) -> None:
        self._client = client
        self.target = target
        """The server and context connected to, for error messages."""
        self.limiter = limiter
        self.retrier = retrier or Retrier()
        """Retries transient failures of every call; its counters say how often it had to."""
        self.requests: collections.Counter[str] = collections.Counter()
        """HTTP requests sent, by method (GET, POST, PUT, PATCH, DELETE)."""
        self.recent_writes: collections.deque[str] = collections.deque(maxlen=50)
        """The last write requests as ``METHOD path``, for debugging and for tests that count writes."""
        self._install_counter()

    @classmethod
    def connect(
        cls,
        kubeconfig: Path | None = None,
        *,
        context: str | None = None,
        resolved: Resolved | None = None,
        limiter: TokenBucket | None = None,
        timeout_s: float = 30.0,
        retrier: Retrier | None = None,
    ) -> Kube:
        """A client for the context ``cluster.kubeconfig.resolve`` picks (kubectl's rules), or for
        ``resolved`` when the caller resolved it already; ``limiter`` paces every request, ``retrier``
        (default: the operator's policy) retries transient failures."""
        found = resolved or resolve(kubeconfig, context)
        client = AsyncClient(
            config=found.config,
            field_manager=names.FIELD_MANAGER,
            timeout=httpx2.Timeout(timeout_s),
            trust_env=False,
        )
        return cls(client, target=found.target, limiter=limiter, retrier=retrier)

    def _install_counter(self) -> None:
        async def count(request: httpx2.Request) -> None:
            if self.limiter is not None:
                await self.limiter.acquire()
            self.requests[request.method] += 1
            if request.method in WRITE_METHODS:
                self.recent_writes.append(f"{request.method} {request.url.path}")

        # lightkube builds its httpx client eagerly; hooking it here counts every request, watches included.
        http = getattr(getattr(self._client, "_client", None), "_client", None)
        if http is not None:
            http.event_hooks["request"].append(count)

    @property
    def writes(self) -> int:
        """Write requests sent so far."""
        return sum(n for method, n in self.requests.items() if method in WRITE_METHODS)

    async def close(self) -> None:
        await self._client.close()

    async def get(self, kind: Kind, name: str, namespace: str | None = None) -> Obj | None:
        """The object, or None when it (or its kind) does not exist."""

        async def once() -> Obj | None:
            try:
                return _as_dict(await self._client.get(resource(kind), name, namespace=namespace))
            except (ApiError, httpx2.HTTPError, OSError) as err:
                translated = errors.translate(err, f"get {kind} {_key(namespace, name)}")
                if isinstance(translated, errors.NotFound):
                    return None
                raise translated from err

        return await self.retrier.call(once)

    def stream(
        self,
        kind: Kind,
        *,
        namespace: str | None = None,
        labels: Mapping[str, Any] | None = None,
        fields: Mapping[str, Any] | None = None,
        chunk_size: int | None = 500,
    ) -> AsyncIterator[Obj]:
        """Stream objects page by page (``limit`` + ``continue``); the caller reduces them as they come.

        A transient failure before the first object is retried; after it, the caller has seen objects
        and must start over itself (as it must for an expired continue token), so it is raised."""
        return self._stream(
            kind, namespace=namespace, labels=labels, fields=fields, chunk_size=chunk_size, retry_first=True
        )

    async def _stream(
        self,
        kind: Kind,
        *,
        retry_first: bool,
        namespace: str | None = None,
        labels: Mapping[str, Any] | None = None,
        fields: Mapping[str, Any] | None = None,
        chunk_size: int | None = 500,
    ) -> AsyncIterator[Obj]:
        ns: Any = namespace if namespace is not None else ("*" if kind.namespaced else None)
        selector = None if labels is None else {k: _selector(v) for k, v in labels.items()}
        client: Any = self._client
        pages = None

        async def first() -> Obj | None:
            nonlocal pages
            pages = aiter(
                client.list(
                    resource(kind), namespace=ns, labels=selector, fields=fields, chunk_size=chunk_size
                )
            )
            return await self._next(pages, kind)

        obj = await (self.retrier.call(first) if retry_first else first())
        while obj is not None and pages is not None:
            yield obj
            obj = await self._next(pages, kind)

    async def _next(self, pages: AsyncIterator[Any], kind: Kind) -> Obj | None:
        try:
            return _as_dict(await anext(pages))
        except StopAsyncIteration:
            return None
        except (ApiError, httpx2.HTTPError, OSError) as err:
            raise errors.translate(err, f"list {kind.plural}") from err

    async def list_all(self, kind: Kind, **options: Any) -> list[Obj]:
        """Every object of a (small) list; ``options`` as for :meth:`stream`. Held in memory, so a
        transient failure on any page retries the whole listing."""

        async def once() -> list[Obj]:
            # Retried here, whole, so not also in the stream: nested retries would multiply the attempts.
            return [obj async for obj in self._stream(kind, retry_first=False, **options)]

        return await self.retrier.call(once)

    async def patch(
        self,
        kind: Kind,
        name: str,
        patch: Any,
        *,
        namespace: str | None = None,
        patch_type: PatchType = PatchType.MERGE,
        status: bool = False,
    ) -> Obj:
        """A merge (default), strategic or JSON patch; ``status`` targets the status subresource."""
        target = resource(kind).Status if status else resource(kind)

        async def once() -> Obj:
            # The same body on every attempt: a patch that reached the server before its reply was lost
            # changes nothing the second time (a rollout stamp carries its time from before the loop).
            try:
                result = await self._client.patch(
                    target, name, patch, namespace=namespace, patch_type=_PATCH_TYPES[patch_type]
                )
            except (ApiError, httpx2.HTTPError, OSError) as err:
                raise errors.translate(err, f"patch {kind} {_key(namespace, name)}") from err
            return _as_dict(result)

        return await self.retrier.call(once)

    async def apply(self, kind: Kind, obj: Mapping[str, Any], *, force: bool = True) -> Obj:
        """Server-side apply with the operator's field manager; ``force`` takes over conflicting fields."""
        meta = obj.get("metadata", {})

        async def once() -> Obj:
            try:
                result = await self._client.patch(
                    resource(kind),
                    meta["name"],
                    dict(obj),
                    namespace=meta.get("namespace"),
                    patch_type=lightkube_types.PatchType.APPLY,
                    field_manager=names.FIELD_MANAGER,
                    force=force,
                )
            except (ApiError, httpx2.HTTPError, OSError) as err:
                what = f"apply {kind} {_key(meta.get('namespace'), meta.get('name', '?'))}"
                raise errors.translate(err, what) from err
            return _as_dict(result)

        return await self.retrier.call(once)

    async def create(self, kind: Kind, obj: Mapping[str, Any]) -> Obj:
        """Create; a retry after a lost reply may meet the object it created (``Conflict``)."""
        meta = obj.get("metadata", {})

        async def once() -> Obj:
            try:
                client: Any = self._client
                body = resource(kind).from_dict(dict(obj))
                result = await client.create(body, namespace=meta.get("namespace"))
            except (ApiError, httpx2.HTTPError, OSError) as err:
                name = meta.get("name", meta.get("generateName", "?"))
                what = f"create {kind} {_key(meta.get('namespace'), name)}"
                raise errors.translate(err, what) from err
            return _as_dict(result)

        return await self.retrier.call(once)

    async def delete(
        self, kind: Kind, name: str, *, namespace: str | None = None, foreground: bool = False
    ) -> bool:
        """Delete; False when it was already gone."""
        cascade = CascadeType.FOREGROUND if foreground else CascadeType.BACKGROUND

        async def once() -> bool:
            try:
                await self._client.delete(resource(kind), name, namespace=namespace, cascade=cascade)
            except (ApiError, httpx2.HTTPError, OSError) as err:
                translated = errors.translate(err, f"delete {kind} {_key(namespace, name)}")
                if isinstance(translated, errors.NotFound):
                    return False
                raise translated from err
            return True

        return await self.retrier.call(once)

    async def evict(self, name: str, namespace: str) -> None:
        """Evict a pod through the Eviction API, so PodDisruptionBudgets apply. A PDB's refusal is
        ``DisruptionRefused`` (never retried here); a pod already gone counts as evicted."""
        body = Pod.Eviction(metadata=ObjectMeta(name=name, namespace=namespace))

        async def once() -> None:
            try:
                await self._client.create(body, name=name, namespace=namespace)
            except (ApiError, httpx2.HTTPError, OSError) as err:
                translated = errors.translate(err, f"evict Pod {namespace}/{name}")
                if isinstance(translated, errors.NotFound):
                    return
                raise translated from err

        await self.retrier.call(once)


def _key(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def _selector(value: Any) -> Any:
    """A label selector value for lightkube: ``EXISTS`` becomes its "key exists" operator."""
    return operators.exists() if value is EXISTS else value

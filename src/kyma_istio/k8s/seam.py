"""The seam between the decisions and the API server: what a pass may ask of the cluster.

``cluster.kube.Kube`` implements :class:`KubeApi` over lightkube; unit tests pass an in-memory fake
that satisfies the same protocol, so no cast is needed anywhere. Objects go in and come out as plain
dicts, errors come out as ``k8s.errors`` types.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final, Protocol

from kyma_istio.api.events import EventReason
from kyma_istio.k8s.kinds import Kind

Obj = dict[str, Any]


class PatchType(enum.StrEnum):
    """How a patch body is read (the request's content type)."""

    MERGE = "merge"
    """JSON merge patch (RFC 7386): objects merge, ``null`` deletes."""
    STRATEGIC = "strategic"
    """Kubernetes strategic merge patch: lists of built-in kinds merge by key."""
    JSON = "json"
    """JSON patch (RFC 6902): a list of operations."""


class _Exists:
    """A label selector value that asks for the key only (``key`` in a selector string)."""

    def __repr__(self) -> str:
        return "EXISTS"


EXISTS: Final = _Exists()
"""``labels={"some/label": EXISTS}`` selects objects that carry the label, whatever its value."""


class KubeApi(Protocol):
    """The API calls the reconciler, the restarter and the CLI make."""

    async def get(self, kind: Kind, name: str, namespace: str | None = None) -> Obj | None:
        """The object, or None when it (or its kind) does not exist."""
        ...

    def stream(
        self,
        kind: Kind,
        *,
        namespace: str | None = None,
        labels: Mapping[str, Any] | None = None,
        fields: Mapping[str, Any] | None = None,
        chunk_size: int | None = 500,
    ) -> AsyncIterator[Obj]:
        """Objects page by page; a namespaced kind without ``namespace`` is listed cluster-wide."""
        ...

    async def list_all(
        self,
        kind: Kind,
        *,
        namespace: str | None = None,
        labels: Mapping[str, Any] | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> list[Obj]:
        """Every object of a (small) list."""
        ...

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
        """The patched object; ``status`` targets the status subresource."""
        ...

    async def apply(self, kind: Kind, obj: Mapping[str, Any], *, force: bool = True) -> Obj:
        """Server-side apply with the operator's field manager."""
        ...

    async def create(self, kind: Kind, obj: Mapping[str, Any]) -> Obj: ...

    async def delete(
        self, kind: Kind, name: str, *, namespace: str | None = None, foreground: bool = False
    ) -> bool:
        """Delete; False when it was already gone."""
        ...

    async def evict(self, name: str, namespace: str) -> None:
        """Evict a pod through the Eviction API, so PodDisruptionBudgets apply."""
        ...


class EventSink(Protocol):
    """Posts Kubernetes Events about the CR (``operator.events.KubeEvents`` in production)."""

    async def post(self, cr: Mapping[str, Any], *, type_: str, reason: str, message: str) -> None: ...


async def announce(sink: EventSink, cr: Mapping[str, Any], reason: EventReason, message: str) -> None:
    """Post an Event of ``reason``, typed as the reasons table says."""
    await sink.post(cr, type_=reason.type.value, reason=reason.reason, message=message)

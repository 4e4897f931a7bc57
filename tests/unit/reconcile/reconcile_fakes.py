"""In-memory stand-ins for the Kube facade, the installer and the event sink: unit tests only.

The fake keeps objects as dicts keyed by (plural, namespace, name), applies JSON merge patches
(RFC 7386), bumps ``resourceVersion`` on every write, honours a ``resourceVersion`` precondition in a
patch, and can be told to fail a given call, so every branch of a pass can be reached without a cluster.
"""

from __future__ import annotations

import copy
import itertools
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.kinds import Kind
from kyma_istio.reconcile.context import InstallOutcome

Key = tuple[str, str | None, str]


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge, ``None`` deletes, anything else replaces."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class FakeKube:
    """Objects in a dict; ``fail[(verb, plural)]`` raises the given error for that call."""

    def __init__(self) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        self.fail: dict[tuple[str, str], errors.ClusterError] = {}
        self.requests: Counter[str] = Counter()
        self.patches: list[tuple[str, str, Any]] = []
        """Every patch as (plural, name, body), status patches included."""
        self._rv = itertools.count(1)

    @property
    def writes(self) -> int:
        return sum(n for verb, n in self.requests.items() if verb != "GET")

    def _check(self, verb: str, kind: Kind) -> None:
        self.requests["GET" if verb in ("get", "list") else verb.split("-", maxsplit=1)[0].upper()] += 1
        error = self.fail.get((verb, kind.plural))
        if error is not None:
            raise error

    def put(self, kind: Kind, obj: dict[str, Any]) -> dict[str, Any]:
        """Store ``obj`` as the API server would after a create (test set-up, not counted)."""
        stored = copy.deepcopy(obj)
        meta = stored.setdefault("metadata", {})
        meta.setdefault("uid", f"uid-{meta['name']}")
        meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
        meta["resourceVersion"] = str(next(self._rv))
        stored.setdefault("apiVersion", kind.api_version)
        stored.setdefault("kind", kind.kind)
        self.objects[(kind.plural, meta.get("namespace"), meta["name"])] = stored
        return copy.deepcopy(stored)

    def stored(self, kind: Kind, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        return self.objects.get((kind.plural, namespace, name))

    async def get(self, kind: Kind, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        self._check("get", kind)
        found = self.objects.get((kind.plural, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    async def stream(
        self, kind: Kind, *, namespace: str | None = None, **_: Any
    ) -> AsyncIterator[dict[str, Any]]:
        self._check("list", kind)
        for (plural, ns, _name), obj in sorted(self.objects.items(), key=lambda item: str(item[0])):
            if plural == kind.plural and (namespace is None or ns == namespace):
                yield copy.deepcopy(obj)

    async def list_all(self, kind: Kind, **kwargs: Any) -> list[dict[str, Any]]:
        labels = kwargs.pop("labels", None)
        found = [obj async for obj in self.stream(kind, **kwargs)]
        if labels:
            found = [o for o in found if _selected(o["metadata"].get("labels") or {}, labels)]
        return found

    async def patch(
        self,
        kind: Kind,
        name: str,
        patch: Any,
        *,
        namespace: str | None = None,
        status: bool = False,
        **_: Any,
    ) -> dict[str, Any]:
        self._check("patch-status" if status else "patch", kind)
        self.patches.append((kind.plural, name, copy.deepcopy(patch)))
        key = (kind.plural, namespace, name)
        if key not in self.objects:
            raise errors.NotFound(f"patch {kind} {name}: not found")
        current = self.objects[key]
        wanted_rv = (
            (patch.get("metadata") or {}).get("resourceVersion") if isinstance(patch, Mapping) else None
        )
        if wanted_rv is not None and wanted_rv != current["metadata"]["resourceVersion"]:
            raise errors.Conflict(f"patch {kind} {name}: the object has been modified")
        if status:
            patch = {"status": patch.get("status")}
        updated = merge_patch(current, patch)
        updated["metadata"]["resourceVersion"] = str(next(self._rv))
        if updated["metadata"].get("deletionTimestamp") and not updated["metadata"].get("finalizers"):
            del self.objects[key]
        else:
            self.objects[key] = updated
        return copy.deepcopy(updated)

    async def apply(self, kind: Kind, obj: Mapping[str, Any], *, force: bool = True) -> dict[str, Any]:
        self._check("apply", kind)
        meta = obj["metadata"]
        existing = self.objects.get((kind.plural, meta.get("namespace"), meta["name"]))
        return self.put(kind, merge_patch(existing or {}, dict(obj)))

    async def create(self, kind: Kind, obj: Mapping[str, Any]) -> dict[str, Any]:
        self._check("create", kind)
        body = copy.deepcopy(dict(obj))
        body["metadata"].setdefault("name", f"{body['metadata'].get('generateName', 'x')}{next(self._rv)}")
        return self.put(kind, body)

    async def delete(self, kind: Kind, name: str, *, namespace: str | None = None, **_: Any) -> bool:
        self._check("delete", kind)
        key = (kind.plural, namespace, name)
        obj = self.objects.get(key)
        if obj is None:
            return False
        if obj["metadata"].get("finalizers"):
            obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:01Z"
        else:
            del self.objects[key]
        return True

    async def evict(self, name: str, namespace: str) -> None:
        self._check("evict", kinds.POD)
        self.objects.pop(("pods", namespace, name), None)

    async def close(self) -> None:
        return None


def _selected(have: Mapping[str, str], selector: Mapping[str, Any]) -> bool:
    """Equality for string values; any other value (lightkube's ``exists()``) asks for the key only."""
    return all(have.get(k) == v if isinstance(v, str) else k in have for k, v in selector.items())


class FakeInstaller:
    """Records calls; ``on_install`` may create what istioctl would (pods in istio-system)."""

    def __init__(self, on_install: Callable[[Mapping[str, Any]], None] | None = None) -> None:
        self.installs: list[Mapping[str, Any]] = []
        self.uninstalls = 0
        self.install_result = InstallOutcome(True, 1.0, "")
        self.uninstall_result = InstallOutcome(True, 1.0, "")
        self.on_install = on_install

    async def install(self, iop: Mapping[str, Any]) -> InstallOutcome:
        self.installs.append(iop)
        if self.install_result.ok and self.on_install is not None:
            self.on_install(iop)
        return self.install_result

    async def uninstall(self) -> InstallOutcome:
        self.uninstalls += 1
        return self.uninstall_result


class FakeEvents:
    """Keeps posted events as (type, reason, message)."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, str, str]] = []
        self.on: list[tuple[str, str, str]] = []
        """The object of each posted Event: (kind, namespace, name)."""

    async def post(self, cr: Mapping[str, Any], *, type_: str, reason: str, message: str) -> None:
        self.posted.append((type_, reason, message))
        meta = cr.get("metadata") or {}
        self.on.append((str(cr.get("kind")), str(meta.get("namespace")), str(meta.get("name"))))

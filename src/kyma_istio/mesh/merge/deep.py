"""The generic deep merge that every step of the merge is built from.

The same rules serve three purposes: the evaluation profile is an overlay on production, each CR field
group becomes a small patch over the template (so per-key overrides come for free), and the cluster
flavour's overrides go on top of everything. Keeping one merge keeps the three consistent.

Rules, overlay over base:

- mappings merge key by key, recursively; the overlay's value wins;
- ``None`` in the overlay removes the key (the only way an overlay can drop a default, such as the
  evaluation profile's gateway HPA metrics);
- two lists of named mappings (every item has a ``name``, as ``ingressGateways`` and ``env``) merge item
  by item matched by name, new names appended in overlay order;
- any other value, lists included, replaces the base value.

Nothing passed in is modified; results share no mutable parts with the inputs.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """A new mapping: ``overlay`` merged over ``base`` by the rules above."""
    result = copy.deepcopy(dict(base))
    _merge_into(result, overlay)
    return result


def _merge_into(target: dict[str, Any], overlay: Mapping[str, Any]) -> None:
    """Merge ``overlay`` into ``target``, which must be a private copy owned by the caller."""
    for key, value in overlay.items():
        current = target.get(key)
        if value is None:
            target.pop(key, None)
        elif isinstance(current, dict) and isinstance(value, Mapping):
            _merge_into(current, value)
        elif isinstance(current, list) and _is_named_list(current) and _is_named_list(value):
            target[key] = _merge_named(current, value)
        else:
            target[key] = copy.deepcopy(value)


def _is_named_list(value: object) -> bool:
    """A non-empty list whose items are all mappings with a ``name``."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, Mapping) and "name" in item for item in value)
    )


def _merge_named(base: list[dict[str, Any]], overlay: Sequence[Mapping[str, Any]]) -> list[Any]:
    """Items of ``overlay`` merged into the ``base`` item of the same name, or appended."""
    merged = list(base)
    positions = {item["name"]: index for index, item in enumerate(merged)}
    for item in overlay:
        index = positions.get(item["name"])
        if index is None:
            positions[item["name"]] = len(merged)
            merged.append(copy.deepcopy(dict(item)))
        else:
            merged[index] = deep_merge(merged[index], item)
    return merged


def nested(document: Mapping[str, Any], *keys: str) -> Any:
    """The value at ``keys`` in ``document``, or ``None`` when any step is missing or not a mapping."""
    value: Any = document
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def patch_at(*keys: str, value: Any) -> dict[str, Any]:
    """A patch that sets ``value`` at ``keys``: ``patch_at("a", "b", value=1)`` is ``{"a": {"b": 1}}``."""
    patch: Any = value
    for key in reversed(keys):
        patch = {key: patch}
    result: dict[str, Any] = patch
    return result


def append_at(document: Mapping[str, Any], keys: Sequence[str], items: Sequence[Any]) -> dict[str, Any]:
    """A copy of ``document`` with ``items`` appended to the list at ``keys`` (created when missing).

    Appending is kept apart from :func:`deep_merge` because it must never fold a new item into an
    existing one of the same name: the reference appends authorizers, overlays and env vars as given.
    """
    result = copy.deepcopy(dict(document))
    parent = result
    for key in keys[:-1]:
        child = parent.get(key)
        if not isinstance(child, dict):
            child = parent[key] = {}
        parent = child
    existing = parent.get(keys[-1])
    parent[keys[-1]] = [*(existing if isinstance(existing, list) else []), *copy.deepcopy(list(items))]
    return result

"""Turn a pydantic model's JSON Schema into a Kubernetes *structural* OpenAPI v3 schema.

pydantic writes JSON Schema for its own purposes: shared ``$defs`` referenced by ``$ref``, optional fields
as ``anyOf: [X, {type: null}]`` with ``default: null``, titles, and ``additionalProperties: false`` for
``extra="forbid"``. The API server accepts none of that in a CRD: every node must be self-contained and
typed, and ``additionalProperties`` may not sit next to ``properties``. This module rewrites the one
into the other, so the model stays the single place where the CR's fields and rules are written down.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

_DROPPED_KEYS = frozenset({"title", "$defs"})
_REF_PREFIX = "#/$defs/"


def structural_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The structural schema of ``model``, as it appears under a CRD's ``properties``."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    return _convert(raw, raw.get("$defs", {}), ())


def clean_description(text: str) -> str:
    """Docstring text as users read it: wrapped lines joined, paragraphs kept, Markdown code spans.

    Docstrings follow the Python convention (``code`` in double backticks, hard-wrapped lines); kubectl
    explain and the Markdown reference want single backticks and free-flowing paragraphs.
    """
    paragraphs = re.split(r"\n\s*\n", text.strip())
    joined = (" ".join(line.strip() for line in paragraph.splitlines()) for paragraph in paragraphs)
    return "\n\n".join(joined).replace("``", "`")


def _convert(node: Mapping[str, Any], defs: Mapping[str, Any], seen: tuple[str, ...]) -> dict[str, Any]:
    """One schema node, with its references inlined and its children converted."""
    node, seen = _resolve(node, defs, seen)
    converted: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS or (key == "additionalProperties" and value is False):
            continue
        if key == "default":
            if value is None:
                continue
            raise ValueError(f"the CRD sets no defaults, but the model defaults a field to {value!r}")
        converted[key] = _convert_value(key, value, defs, seen)
    return converted


def _convert_value(key: str, value: Any, defs: Mapping[str, Any], seen: tuple[str, ...]) -> Any:
    """A keyword's value; schemas nested under it are converted too."""
    if key == "properties":
        return {name: _convert(sub, defs, seen) for name, sub in value.items()}
    if key in ("items", "additionalProperties") and isinstance(value, Mapping):
        return _convert(value, defs, seen)
    if key == "anyOf":
        return [_convert(sub, defs, seen) for sub in value]
    if key == "description":
        return clean_description(value)
    # pydantic shares one ``$defs`` entry between every use; a copy keeps the result a tree, so that
    # YAML has no anchors and callers may change one node without changing another.
    return copy.deepcopy(value)


def _resolve(
    node: Mapping[str, Any], defs: Mapping[str, Any], seen: tuple[str, ...]
) -> tuple[Mapping[str, Any], tuple[str, ...]]:
    """Inline ``$ref`` and unwrap ``anyOf: [X, null]`` until neither is left at the top of ``node``.

    Keys next to the reference or the ``anyOf`` (a field's description, its format) win over the
    referenced schema's own, because they describe the field rather than its type.
    """
    while True:
        if "$ref" in node:
            name = node["$ref"].removeprefix(_REF_PREFIX)
            if name in seen:
                raise ValueError(f"{name} refers to itself; a CRD schema cannot express recursion")
            seen = (*seen, name)
            siblings = {key: value for key, value in node.items() if key != "$ref"}
            node = {**defs[name], **siblings}
        elif _is_nullable(node):
            inner = next(sub for sub in node["anyOf"] if sub != {"type": "null"})
            siblings = {key: value for key, value in node.items() if key != "anyOf"}
            node = {**inner, **siblings}
        else:
            return node, seen


def _is_nullable(node: Mapping[str, Any]) -> bool:
    """Whether ``node`` is pydantic's spelling of an optional field: ``anyOf: [X, {type: null}]``."""
    options = node.get("anyOf")
    return isinstance(options, list) and len(options) == 2 and {"type": "null"} in options

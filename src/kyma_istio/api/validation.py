"""Validation problems as users read them: one line per broken rule, naming the field as they wrote it.

pydantic's own messages name fields as Python tuples and rules in its own words ("Input should be ...").
Users write YAML in camelCase and read ``kubectl`` errors, so each problem here is
``<dotted.camelCase.path>: <rule> (got <value>)`` – the same shape for the CLI, status descriptions and
Events, and never a traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from kyma_istio.api import names
from kyma_istio.api.v1alpha2 import Istio

_RULES: Final[Mapping[str, str]] = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field",
    "string_pattern_mismatch": "must match pattern {pattern}",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "greater_than": "must be more than {gt}",
    "less_than": "must be less than {lt}",
    "string_too_short": "must be at least {min_length} characters long",
    "string_too_long": "must be at most {max_length} characters long",
    "too_long": "must have at most {max_length} entries",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "datetime_type": "must be an RFC 3339 date-time",
    "datetime_parsing": "must be an RFC 3339 date-time",
    "datetime_from_date_parsing": "must be an RFC 3339 date-time",
}
"""Rules by pydantic error type; ``{name}`` is filled from the error's context."""

_WITHOUT_VALUE: Final = frozenset({"missing", "extra_forbidden"})
"""Errors whose input is the parent object or the unknown field's value: not worth echoing."""

_MAX_SHOWN: Final = 60
_QUOTED: Final = re.compile(r"'((?:[^'\\]|\\.)*)'")
_SERVED_VERSION: Final = names.API_VERSION
_REMOVED_VERSION: Final = f"{names.GROUP}/v1alpha1"


class InvalidIstio(ValueError):
    """An ``Istio`` document that cannot be used; ``problems`` holds one line per broken rule."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: list[str] = list(problems)
        super().__init__("invalid Istio resource: " + "; ".join(self.problems))


def parse_istio(doc: Mapping[str, Any]) -> Istio:
    """``doc`` as an ``Istio``, or ``InvalidIstio`` listing every problem.

    ``apiVersion`` and ``kind`` are checked first and alone: a document of another kind would otherwise
    bury the real mistake under a list of unknown fields.
    """
    if not isinstance(doc, Mapping):
        raise InvalidIstio([f"the document must be an object (got {_show(doc)})"])
    problems = _type_meta_problems(doc)
    if problems:
        raise InvalidIstio(problems)
    try:
        return Istio.model_validate(dict(doc))
    except ValidationError as err:
        raise InvalidIstio(describe_errors(err, root="")) from err


def describe_errors(err: ValidationError, root: str = "spec") -> list[str]:
    """One line per error in ``err``, with the path below ``root`` (``""`` for a whole object)."""
    lines = (f"{_path(root, error['loc'])}: {_rule(error)}" for error in err.errors())
    return list(dict.fromkeys(lines))


def _type_meta_problems(doc: Mapping[str, Any]) -> list[str]:
    """What is wrong with ``apiVersion`` and ``kind``, if anything."""
    problems = []
    api_version = doc.get("apiVersion")
    if api_version is None:
        problems.append(f"apiVersion: required field is missing (expected {_SERVED_VERSION})")
    elif api_version != _SERVED_VERSION:
        hint = " (v1alpha1 was removed in Kyma Istio 1.10)" if api_version == _REMOVED_VERSION else ""
        problems.append(f"apiVersion: must be {_SERVED_VERSION} (got {_show(api_version)}){hint}")
    kind = doc.get("kind")
    if kind is None:
        problems.append(f"kind: required field is missing (expected {names.KIND})")
    elif kind != names.KIND:
        problems.append(f"kind: must be {names.KIND} (got {_show(kind)})")
    return problems


def _path(root: str, loc: tuple[int | str, ...]) -> str:
    """``("config", "authorizers", 0, "port")`` below ``spec`` -> ``spec.config.authorizers[0].port``."""
    path = root
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "[key]":
            path = f"{path}.{part}" if path else part
    return path or "document"


def _rule(error: ErrorDetails) -> str:
    """The broken rule in the words of the CRD, with the offending value where it helps."""
    kind = error["type"]
    context = error.get("ctx", {})
    if kind in ("literal_error", "enum"):
        allowed = _QUOTED.findall(context.get("expected", ""))
        rule = f"must be one of {', '.join(allowed)}" if allowed else error["msg"]
    elif kind == "string_too_short" and context.get("min_length") == 1:
        rule = "must not be empty"
    elif kind in _RULES:
        rule = _RULES[kind].format(**context)
    else:
        rule = _lower_first(error["msg"].replace("Input should be", "must be"))
    if "[key]" in error["loc"]:
        rule = f"key {rule}"
    if kind in _WITHOUT_VALUE:
        return rule
    return f"{rule} (got {_show(error['input'])})"


def _show(value: object) -> str:
    """A value as it would be spelled in JSON (or YAML flow style), cut short when long."""
    try:
        shown = json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:
        shown = repr(value)
    return shown if len(shown) <= _MAX_SHOWN else shown[: _MAX_SHOWN - 1] + "…"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]

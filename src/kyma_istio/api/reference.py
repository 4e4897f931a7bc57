"""The Markdown field reference of the ``Istio`` CR, generated from the CRD schema.

Read from the same schema the API server validates with, so the reference cannot promise a rule the
cluster does not enforce. ``make docs`` writes ``docs/reference/istio-cr.md``; a unit test fails when the
committed file is stale.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final, NamedTuple

from kyma_istio.api import names
from kyma_istio.api.crd import build_openapi_schema

INTRO: Final = f"""\
# `Istio` custom resource: field reference

<!-- Generated from src/kyma_istio/api/v1alpha2.py; do not edit, run `make docs`. -->

Kind `{names.KIND}`, API version `{names.API_VERSION}`, namespaced. The operator acts only on a CR in
`{names.OPERATOR_NAMESPACE}`. Every field is optional unless marked required, and a required field is
required only when its parent is given. The CRD sets no defaults: what an unset field means is described
with the field.
"""

HEADER: Final = "| Field | Type | Required | Validation | Description |\n|---|---|---|---|---|"


class Row(NamedTuple):
    """One field of the reference table."""

    path: str
    type: str
    required: bool
    validation: str
    description: str


def render_reference_markdown() -> str:
    """The whole reference: an introduction, then one table for ``spec`` and one for ``status``."""
    root = build_openapi_schema()["properties"]
    sections = [INTRO]
    for name, heading in (("spec", "Desired state: `spec`"), ("status", "Observed state: `status`")):
        schema = root[name]
        rows = "\n".join(_format(row) for row in _rows(schema, name))
        sections.append(f"## {heading}\n\n{schema.get('description', '')}\n\n{HEADER}\n{rows}\n")
    return "\n".join(sections)


def _rows(schema: Mapping[str, Any], path: str) -> Iterator[Row]:
    """The rows of every field below ``schema``, depth first, in the order the schema lists them."""
    if schema.get("type") == "array":
        yield from _rows(schema["items"], f"{path}[]")
        return
    required = set(schema.get("required", ()))
    for name, field in schema.get("properties", {}).items():
        field_path = f"{path}.{name}"
        yield Row(
            path=field_path,
            type=_type(field),
            required=name in required,
            validation=_validation(field),
            description=field.get("description", ""),
        )
        yield from _rows(field, field_path)


def _type(schema: Mapping[str, Any]) -> str:
    """The type as users think of it: ``array of object``, ``map of string to string``."""
    if schema.get("x-kubernetes-int-or-string"):
        return "integer or string"
    kind = str(schema.get("type", "any"))
    if kind == "array":
        return f"array of {_type(schema['items'])}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), Mapping):
        return f"map of string to {_type(schema['additionalProperties'])}"
    return f"{kind} ({schema['format']})" if "format" in schema else kind


def _validation(schema: Mapping[str, Any]) -> str:
    """Every rule the API server checks on this field, in the order users meet them."""
    rules = []
    if "enum" in schema:
        rules.append("one of " + ", ".join(f"`{value}`" for value in schema["enum"]))
    if "minimum" in schema or "maximum" in schema:
        rules.append(_range(schema.get("minimum"), schema.get("maximum")))
    if schema.get("minLength") == 1:
        rules.append("not empty")
    elif "minLength" in schema:
        rules.append(f"at least {schema['minLength']} characters")
    if "maxLength" in schema:
        rules.append(f"at most {schema['maxLength']} characters")
    if "pattern" in schema:
        subject = "strings match" if schema.get("x-kubernetes-int-or-string") else "matches"
        rules.append(f"{subject} `{schema['pattern']}`")
    rules.extend(
        f"CEL `{rule['rule']}`: {rule['message']}" for rule in schema.get("x-kubernetes-validations", ())
    )
    return "; ".join(rules)


def _range(minimum: int | None, maximum: int | None) -> str:
    if minimum is None:
        return f"at most {maximum}"
    if maximum is None:
        return f"at least {minimum}"
    return f"{minimum} to {maximum}"


def _format(row: Row) -> str:
    cells = (f"`{row.path}`", row.type, "required" if row.required else "", row.validation, row.description)
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def _cell(text: str) -> str:
    """Text that cannot break a Markdown table: pipes escaped (even in code spans), no line breaks."""
    return text.replace("|", "\\|").replace("\n\n", "<br><br>").replace("\n", " ")

"""The base of every API model: camelCase on the wire, snake_case in Python, unknown fields refused.

Field docstrings become the CRD's descriptions (``use_attribute_docstrings``), so the docs, the CRD and
the model cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


def to_camel(name: str) -> str:
    """``hpa_spec`` -> ``hpaSpec``; unlike pydantic's helper it leaves ``k8s`` alone."""
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


class ApiModel(BaseModel):
    """A frozen, camelCase, strict-about-unknown-fields model."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The object as the API server stores it: camelCase keys, unset fields omitted."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

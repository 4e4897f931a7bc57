"""The Markdown reference of the CR: complete, readable as a table, and committed fresh."""

from __future__ import annotations

from pathlib import Path

from kyma_istio.api.crd import build_openapi_schema
from kyma_istio.api.reference import render_reference_markdown

COMMITTED_REFERENCE = Path(__file__).parents[3] / "docs" / "reference" / "istio-cr.md"


def _table_rows(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("| `")]


def test_committed_reference_equals_the_generated_one() -> None:
    committed = COMMITTED_REFERENCE.read_text() if COMMITTED_REFERENCE.exists() else ""
    assert committed == render_reference_markdown(), f"{COMMITTED_REFERENCE.name} is stale: run `make docs`"


def test_every_field_of_the_schema_has_a_row() -> None:
    def paths(node: dict, path: str) -> list[str]:
        if node.get("type") == "array":
            return paths(node["items"], f"{path}[]")
        found = []
        for name, child in node.get("properties", {}).items():
            found += [f"{path}.{name}", *paths(child, f"{path}.{name}")]
        return found

    root = build_openapi_schema()["properties"]
    expected = paths(root["spec"], "spec") + paths(root["status"], "status")
    rows = [row.split("`")[1] for row in _table_rows(render_reference_markdown())]
    assert rows == expected


def test_every_row_has_five_cells_even_when_a_pattern_holds_pipes() -> None:
    for row in _table_rows(render_reference_markdown()):
        unescaped = row.replace("\\|", "")
        assert unescaped.count("|") == 6, row


def test_rows_show_type_requiredness_and_rules() -> None:
    rows = {row.split("`")[1]: row for row in _table_rows(render_reference_markdown())}
    assert "| integer (int64) |  | 0 to 4294967295 |" in rows["spec.config.numTrustedProxies"]
    assert "| string | required | not empty |" in rows["spec.config.authorizers[].name"]
    assert "one of `Local`, `Cluster`" in rows["spec.config.gatewayExternalTrafficPolicy"]
    assert "| object | required |" in rows["spec.components.pilot.k8s"]
    surge = rows["spec.components.pilot.k8s.strategy.rollingUpdate.maxSurge"]
    assert "integer or string" in surge
    assert "must not be negative, more than 2147483647 or an empty string" in surge
    assert (
        r"matches `^([0-9]+m?\|[0-9]\.[0-9]{1,3})$`" in rows["spec.components.proxy.k8s.resources.limits.cpu"]
    )
    assert "| map of string to string |" in rows["spec.config.authorizers[].headers.inCheck.add"]
    assert "| array of object |" in rows["status.conditions"]

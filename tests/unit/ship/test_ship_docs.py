"""The user documentation names every reason, description and metric the code can produce."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from kyma_istio.api import conditions, events
from kyma_istio.operator.metrics import Metrics

DOCS = Path(__file__).resolve().parents[3] / "docs"

USER_DOCS = ("install.md", "configuration.md", "upgrades.md", "status.md", "troubleshooting.md", "metrics.md")


def _metric_names() -> list[str]:
    """Every sample family name the operator exposes, as Prometheus shows it (``_total``, ``_info``)."""
    registry = CollectorRegistry()
    Metrics(registry)
    names = []
    for family in registry.collect():
        suffix = {"counter": "_total", "info": "_info"}.get(family.type, "")
        names.append(family.name + suffix)
    return names


@pytest.mark.parametrize("name", USER_DOCS)
def test_each_user_document_exists_with_a_title(name: str) -> None:
    text = (DOCS / name).read_text()
    assert text.startswith("# ")


@pytest.mark.parametrize("reason", list(conditions.Reason))
def test_the_status_document_lists_every_condition_reason(reason: conditions.Reason) -> None:
    assert f"`{reason.value}`" in (DOCS / "status.md").read_text()


@pytest.mark.parametrize("info", list(conditions.REASONS.items()), ids=lambda item: item[0].value)
def test_the_status_document_gives_each_reason_its_condition_type_status_and_message(
    info: tuple[conditions.Reason, conditions.ReasonInfo],
) -> None:
    reason, details = info
    row = f"| `{reason.value}` | {details.condition_type.value} | {details.status} | {details.message} |"
    assert row in (DOCS / "status.md").read_text()


@pytest.mark.parametrize("description", conditions.DESCRIPTIONS, ids=lambda d: d.text[:40])
def test_the_status_document_lists_every_description_with_its_state(
    description: conditions.Description,
) -> None:
    rows = [line for line in (DOCS / "status.md").read_text().splitlines() if f"`{description.text}" in line]
    assert any(f"| {description.level.value} |" in row for row in rows), description.text


@pytest.mark.parametrize("reason", list(events.EventReason), ids=str)
def test_the_status_document_lists_every_event_reason_with_its_type(reason: events.EventReason) -> None:
    assert f"| `{reason.reason}` | {reason.type.value} |" in (DOCS / "status.md").read_text()


def test_the_metrics_document_names_every_metric_the_operator_exposes() -> None:
    text = (DOCS / "metrics.md").read_text()
    names = _metric_names()
    assert len(names) == 20  # 14 of the operator's own, 6 of the process collector
    missing = [name for name in names if f"`{name}`" not in text]
    assert missing == []


def test_the_metrics_document_names_no_metric_the_operator_lacks() -> None:
    documented = set(
        re.findall(r"^\| `((?:kyma_istio|process)_[a-z_]+)`", (DOCS / "metrics.md").read_text(), re.M)
    )
    assert documented == set(_metric_names())


@pytest.mark.parametrize("name", USER_DOCS)
def test_links_between_the_documents_point_at_files_that_exist(name: str) -> None:
    text = (DOCS / name).read_text()
    for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", text):
        assert (DOCS / name).parent.joinpath(target).resolve().is_file(), f"{name} links to {target}"

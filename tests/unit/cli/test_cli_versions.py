"""``version`` and ``check-upgrade`` as a user sees them on the terminal."""

from __future__ import annotations

import json

import pytest

import kyma_istio
from kyma_istio.cli.versions import check_upgrade_command, version_command
from kyma_istio.lines import DEFAULT as DEFAULT_LINE


def words(text: str) -> str:
    """Terminal output with rich's line wrapping undone."""
    return " ".join(text.split())


def test_the_version_table_names_every_pinned_version(capsys: pytest.CaptureFixture[str]) -> None:
    version_command()
    out = capsys.readouterr().out
    for value in (kyma_istio.__version__, DEFAULT_LINE.version, DEFAULT_LINE.envoy, DEFAULT_LINE.tag):
        assert value in out


def test_the_json_version_is_machine_readable(capsys: pytest.CaptureFixture[str]) -> None:
    version_command("json")
    facts = json.loads(capsys.readouterr().out)
    listed = facts.pop("lines")
    assert facts == {
        "operator": kyma_istio.__version__,
        "istio": DEFAULT_LINE.version,
        "envoy": DEFAULT_LINE.envoy,
        "istioTag": DEFAULT_LINE.tag,
    }
    assert [entry["line"] for entry in listed] == ["1.23", "1.24", "1.25", "1.26", "1.27", "1.28", "1.29"]
    assert [entry["line"] for entry in listed if entry["default"]] == [DEFAULT_LINE.minor]
    newest = listed[-1]
    assert (newest["istio"], newest["istioTag"], newest["kymaReleases"]) == (
        "1.29.1",
        "1.29.1-distroless",
        "1.27",
    )


@pytest.mark.parametrize(
    ("from_tag", "to_tag", "verdict"),
    [
        ("1.22.5-distroless", "1.23.2-distroless", "upgrade"),
        ("1.23.2-distroless", "1.23.2-debug", "no-change"),
    ],
)
def test_an_allowed_change_exits_zero(
    capsys: pytest.CaptureFixture[str], from_tag: str, to_tag: str, verdict: str
) -> None:
    assert check_upgrade_command(from_tag, to_tag) == 0
    out = words(capsys.readouterr().out)
    assert f"verdict: {verdict}" in out
    assert "what works" not in out


def test_a_refused_change_exits_one_with_message_and_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_upgrade_command("1.21.4", "1.23.2-distroless") == 1
    out = words(capsys.readouterr().out)
    assert "verdict: not-allowed" in out
    assert "the difference between versions exceed one minor version" in out
    assert "what works: installed 1.21.4; target 1.23.2: Istio moves one minor at a time (1.22)" in out


def test_a_downgrade_exits_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_upgrade_command("1.23.3", "1.23.2") == 1
    assert "downgrade not supported" in words(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("from_tag", "to_tag"), [("latest", "1.23.2"), ("1.22.0", "[bold]x"), ("", "1.23.2")]
)
def test_a_tag_that_is_no_version_exits_two_without_a_traceback(
    capsys: pytest.CaptureFixture[str], from_tag: str, to_tag: str
) -> None:
    assert check_upgrade_command(from_tag, to_tag) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ")
    assert "Traceback" not in captured.err

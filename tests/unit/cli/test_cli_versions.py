"""``version`` and ``check-upgrade`` as a user sees them on the terminal."""

from __future__ import annotations

import json

import pytest

import kyma_istio
from kyma_istio import pins
from kyma_istio.cli.versions import check_upgrade_command, version_command


def words(text: str) -> str:
    """Terminal output with rich's line wrapping undone."""
    return " ".join(text.split())


def test_the_version_table_names_every_pinned_version(capsys: pytest.CaptureFixture[str]) -> None:
    version_command()
    out = capsys.readouterr().out
    for value in (kyma_istio.__version__, pins.ISTIO_VERSION, pins.ENVOY_VERSION, pins.ISTIO_TAG):
        assert value in out


def test_the_json_version_is_machine_readable(capsys: pytest.CaptureFixture[str]) -> None:
    version_command("json")
    assert json.loads(capsys.readouterr().out) == {
        "operator": kyma_istio.__version__,
        "istio": pins.ISTIO_VERSION,
        "envoy": pins.ENVOY_VERSION,
        "istioTag": pins.ISTIO_TAG,
    }


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
    assert "what works: upgrade to a release of this operator that ships Istio 1.22 first" in out


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

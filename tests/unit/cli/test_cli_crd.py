"""``kyma-istio crd`` and ``kyma-istio reference`` print exactly what ``make`` commits."""

from __future__ import annotations

import pytest

from kyma_istio.api.crd import render_crd_yaml
from kyma_istio.api.reference import render_reference_markdown
from kyma_istio.cli.crd import crd_command, reference_command


def test_crd_command_prints_the_crd_byte_for_byte(capsys: pytest.CaptureFixture[str]) -> None:
    crd_command()
    assert capsys.readouterr().out == render_crd_yaml()


def test_reference_command_prints_the_reference_byte_for_byte(capsys: pytest.CaptureFixture[str]) -> None:
    reference_command()
    assert capsys.readouterr().out == render_reference_markdown()

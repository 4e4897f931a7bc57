"""The installer adapter picks the istioctl of the IstioOperator's minor: the configured one for the
operator's own line, the line's own build for the lines a climb passes through."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from kyma_istio.installer import istioctl
from kyma_istio.lines import DEFAULT, line
from kyma_istio.operator.main import IstioctlInstaller
from kyma_istio.reconcile.context import Settings


def _executable(path: Path) -> Path:
    path.write_text('#!/bin/sh\necho "$0 $*"\n')
    path.chmod(0o755)
    return path


def _installer(tmp_path: Path) -> IstioctlInstaller:
    own = istioctl.Istioctl(_executable(tmp_path / "configured"), kubeconfig=None, log=logging.getLogger("t"))
    return IstioctlInstaller(own, Settings())


def _iop(tag: str) -> dict[str, object]:
    return {"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator", "spec": {"tag": tag}}


def test_the_operators_own_line_and_a_later_patch_of_it_use_the_configured_istioctl(tmp_path: Path) -> None:
    installer = _installer(tmp_path)
    major, minor, patch = DEFAULT.version.split(".")
    assert installer._tool_for(_iop(DEFAULT.tag)) is installer.tool
    assert installer._tool_for(_iop(f"{major}.{minor}.{int(patch) + 1}-distroless")) is installer.tool


def test_another_minor_uses_that_lines_build_on_path_never_istioctl_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hop = line("1.28")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _executable(bin_dir / hop.istioctl)  # PATH comes before the testenv cache
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("ISTIOCTL_PATH", str(tmp_path / "configured"))
    installer = _installer(tmp_path)

    tool = installer._tool_for(_iop(hop.tag))

    assert tool.binary == bin_dir / hop.istioctl
    assert installer._tool_for(_iop(hop.tag)) is tool  # found once


async def test_a_missing_line_istioctl_fails_the_install_naming_the_binary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    real = istioctl.find_istioctl

    def find_nowhere(*args: Any, **kwargs: Any) -> Path:  # not in this machine's testenv cache either
        return real(*args, testenv_binary=tmp_path / "nothing" / "istioctl", **kwargs)

    monkeypatch.setattr(istioctl, "find_istioctl", find_nowhere)
    installer = _installer(tmp_path)

    outcome = await installer.install(_iop("1.25.3-distroless"))

    assert not outcome.ok
    assert outcome.summary.startswith(
        "istioctl-1.25.3 (the istioctl of the 1.25 line) is not on the operator's PATH"
    )

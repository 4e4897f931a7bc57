"""``kyma-istio diff`` against the local control plane: the verdict of the version rule and the
IstioOperator diff between the last-applied configuration of the live CR and the CR in a file.

No operator runs here: the live CR is created with the last-applied annotation the operator would
have written, which is all ``diff`` reads (besides the Nodes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from istio_fixtures import NS, crd_and_namespace, istio_cr
from lightkube import Client

from kyma_istio import lines
from kyma_istio.api import names
from kyma_istio.cli.diff import EXIT_DIFFERENT, EXIT_REFUSED, EXIT_SAME, diff_command
from kyma_istio.cluster.kinds import resource
from kyma_istio.k8s import kinds
from kyma_istio.lines import DEFAULT as DEFAULT_LINE

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("crd_and_namespace")]

__all__ = ["crd_and_namespace"]


@pytest.fixture
def live_cr(client: Client) -> Iterator[Any]:
    """``live_cr(spec, last_applied)`` creates kyma-system/default; it is deleted afterwards."""
    created: list[str] = []

    def create(last_applied: str | None, spec: dict[str, Any] | None = None) -> None:
        annotations = {names.LAST_APPLIED_ANNOTATION: last_applied} if last_applied is not None else {}
        doc = istio_cr("default", spec or {}, annotations=annotations)
        client.create(resource(kinds.ISTIO).from_dict(doc))
        created.append("default")

    yield create
    for name in created:
        client.delete(resource(kinds.ISTIO), name, namespace=NS)


def _file(tmp_path: Path, spec: dict[str, Any], name: str = "default") -> Path:
    path = tmp_path / "istio.yaml"
    path.write_text(yaml.safe_dump(istio_cr(name, spec)))
    return path


def _applied(config: dict[str, Any], tag: str = DEFAULT_LINE.tag) -> str:
    return json.dumps({"config": config, "IstioTag": tag}, separators=(",", ":"))


def test_without_a_live_cr_the_diff_is_a_first_install_of_the_whole_istio_operator(
    kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = diff_command(_file(tmp_path, {}), kubeconfig)

    out = capsys.readouterr().out
    assert code == EXIT_DIFFERENT
    assert "Cluster: production profile, flavour unknown" in out
    assert "Version rule: first install" in out
    assert "IstioOperator in force: none" in out
    assert "no Istio CR of that name exists" in out
    assert f"+  tag: {DEFAULT_LINE.tag}" in out


def test_a_cr_equal_to_the_last_applied_one_shows_no_difference_and_changes_nothing(
    kubeconfig: Path, tmp_path: Path, client: Client, capsys: pytest.CaptureFixture[str], live_cr: Any
) -> None:
    spec = {"config": {"numTrustedProxies": 2}}
    live_cr(_applied({"numTrustedProxies": 2}), spec)
    before = client.get(resource(kinds.ISTIO), "default", namespace=NS).metadata.resourceVersion

    code = diff_command(_file(tmp_path, spec), kubeconfig)

    out = capsys.readouterr().out
    assert code == EXIT_SAME, out
    assert "IstioOperator: no difference" in out
    assert "is already installed" in out
    assert client.get(resource(kinds.ISTIO), "default", namespace=NS).metadata.resourceVersion == before


def test_a_changed_setting_shows_as_removed_and_added_lines(
    kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], live_cr: Any
) -> None:
    live_cr(_applied({"numTrustedProxies": 1}))

    code = diff_command(_file(tmp_path, {"config": {"numTrustedProxies": 3}}), kubeconfig)

    out = capsys.readouterr().out
    assert code == EXIT_DIFFERENT
    removed = [line for line in out.splitlines() if line.startswith("-") and "numTrustedProxies" in line]
    added = [line for line in out.splitlines() if line.startswith("+") and "numTrustedProxies" in line]
    assert [line.split(":")[-1].strip() for line in removed] == ["1"], out
    assert [line.split(":")[-1].strip() for line in added] == ["3"], out
    assert f"--- {NS}/default (last applied, {DEFAULT_LINE.tag})" in out


def test_a_live_cr_never_reconciled_is_a_first_install(
    kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], live_cr: Any
) -> None:
    live_cr(None)

    code = diff_command(_file(tmp_path, {}), kubeconfig)

    out = capsys.readouterr().out
    assert code == EXIT_DIFFERENT
    assert "first install" in out
    assert "the CR was never reconciled" in out


def test_a_one_minor_upgrade_is_allowed_and_the_tag_change_is_shown(
    kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], live_cr: Any
) -> None:
    previous = f"{lines.LINES[-2].minor}.9-distroless"  # any patch of the minor before the default line
    live_cr(_applied({}, previous))

    code = diff_command(_file(tmp_path, {}), kubeconfig)

    out = capsys.readouterr().out
    assert code == EXIT_DIFFERENT
    assert f"Version rule: allowed: upgrade Istio from {previous}" in out
    assert f"-  tag: {previous}" in out
    assert f"+  tag: {DEFAULT_LINE.tag}" in out


def test_a_two_minor_jump_is_refused_with_the_way_forward(
    kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], live_cr: Any
) -> None:
    two_below, one_below = lines.LINES[-3], lines.LINES[-2]
    live_cr(_applied({}, f"{two_below.minor}.3-distroless"))

    code = diff_command(_file(tmp_path, {}), kubeconfig)

    out = capsys.readouterr().out
    assert code == EXIT_REFUSED
    assert "Version rule: refused: Istio version update is not allowed: target Istio version" in out
    assert (
        f"To proceed: installed {two_below.minor}.3; target {DEFAULT_LINE.version}: set the operator's Istio "
        f"line to {one_below.minor} (--istio-line) first, then to {DEFAULT_LINE.minor}"
    ) in out
    assert "nothing would be installed" in out


def test_an_invalid_file_is_explained_without_a_traceback(
    kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    authorizer = {"name": "ext", "service": "ext.svc", "port": 8080}
    path = _file(tmp_path, {"config": {"authorizers": [authorizer, authorizer], "numTrustedProxies": "x"}})

    code = diff_command(path, kubeconfig)

    captured = capsys.readouterr()
    assert code == EXIT_REFUSED
    assert "error: " in captured.err
    assert "numTrustedProxies" in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert captured.out == ""

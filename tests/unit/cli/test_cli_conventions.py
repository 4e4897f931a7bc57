"""CLI conventions (issue 12): -o on every command that prints data, -f - reads stdin, help readable
at 80 columns when piped, shell completion that completes, Go-style boolean flags."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kyma_istio.cli import boundary
from kyma_istio.cli.main import app
from kyma_istio.lines import DEFAULT as DEFAULT_LINE

SAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "samples" / "istio-default.yaml"
KYMA_ISTIO = Path(sys.executable).parent / "kyma-istio"
_MAJOR, _MINOR = DEFAULT_LINE.minor.split(".")
ONE_MINOR_BEFORE = f"{_MAJOR}.{int(_MINOR) - 1}.3"
"""An installed release one minor below the default line: upgrading from it is allowed."""
TWO_MINORS_BEFORE = f"{_MAJOR}.{int(_MINOR) - 2}.0"
"""An installed release two minors below the default line: upgrading from it is refused."""


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = boundary.run(app, list(argv))
    return code, capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_data_commands_print_json_and_yaml(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    load = json.loads if fmt == "json" else yaml.safe_load
    code, out = _run(capsys, "version", "-o", fmt)
    assert (code, load(out)["istio"]) == (0, DEFAULT_LINE.version)
    code, out = _run(capsys, "check-upgrade", ONE_MINOR_BEFORE, "-o", fmt)
    assert (code, load(out)["allowed"], load(out)["to"]) == (0, True, DEFAULT_LINE.tag)
    code, out = _run(capsys, "check-upgrade", TWO_MINORS_BEFORE, "-o", fmt)
    assert (code, load(out)["verdict"]) == (1, "NotAllowed") or (code, load(out)["allowed"]) == (1, False)
    code, out = _run(capsys, "crd", "-o", fmt)
    assert (code, load(out)["kind"]) == (0, "CustomResourceDefinition")
    code, out = _run(capsys, "render", "-f", str(SAMPLE), "-o", fmt)
    assert (code, load(out)["kind"]) == (0, "IstioOperator")


def test_version_json_stays_an_alias(capsys: pytest.CaptureFixture[str]) -> None:
    assert json.loads(_run(capsys, "version", "--json")[1]) == json.loads(
        _run(capsys, "version", "-o", "json")[1]
    )


def test_a_dash_reads_the_cr_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from_file = _run(capsys, "render", "-f", str(SAMPLE))[1]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(SAMPLE.read_bytes())))

    code, from_stdin = _run(capsys, "render", "-f", "-")

    assert code == 0
    assert from_stdin == from_file


def _help(*argv: str) -> str:
    done = subprocess.run(
        [str(KYMA_ISTIO), *argv, "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80", "TERM": "dumb"},
        check=True,
    )
    return done.stdout


@pytest.mark.parametrize("command", ["run", "diff", "plan-restarts", "render", "version"])
def test_help_fits_80_columns_and_names_every_flag_whole(command: str) -> None:
    text = _help(command)

    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert "…" not in text
    command_obj = __import__("typer").main.get_command(app).commands[command]
    for param in command_obj.params:
        for flag in param.opts:
            if flag.startswith("--") and not getattr(param, "hidden", False):
                assert flag in text, f"{flag} missing or cut in:\n{text}"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_complete_commands_and_flags(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, script = _run(capsys, "completion", shell)
    assert code == 0
    assert "_KYMA_ISTIO_COMPLETE" in script


def test_the_shell_asks_and_gets_the_commands() -> None:
    env = {
        **os.environ,
        "_KYMA_ISTIO_COMPLETE": "complete_bash",
        "COMP_WORDS": "kyma-istio pl",
        "COMP_CWORD": "1",
    }
    done = subprocess.run([str(KYMA_ISTIO)], capture_output=True, text=True, env=env, check=False)
    assert "plan-restarts" in done.stdout.split()

    env |= {"COMP_WORDS": "kyma-istio run --zap-", "COMP_CWORD": "2"}
    done = subprocess.run([str(KYMA_ISTIO)], capture_output=True, text=True, env=env, check=False)
    assert {"--zap-devel", "--zap-encoder", "--zap-log-level"} <= set(done.stdout.split())


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("--zap-devel=false", "--no-zap-devel"),
        ("--zap-devel=true", "--zap-devel"),
        ("--leader-elect=True", "--leader-elect"),
        ("--log-level=info", "--log-level=info"),
        ("--hub=x=true", "--hub=x=true"),
    ],
)
def test_go_boolean_flags_with_a_value_are_understood(arg: str, expected: str) -> None:
    assert boundary._go_bool(arg) == expected

"""Every command against every bad input: one ``error:`` line that names the problem, a non-zero exit,
never a traceback (issue 12). Commands run in-process through ``cli.boundary.run``, the console
script's own entry; ``run`` starts a real process, because it configures logging for the process.

The unreachable server is a closed port on loopback: the connection is refused at once.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from kyma_istio.cli import boundary
from kyma_istio.cli.main import app
from kyma_istio.k8s.retry import COMMAND_RETRY

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "deploy" / "samples" / "istio-default.yaml"
KYMA_ISTIO = Path(sys.executable).parent / "kyma-istio"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kubeconfig(server: str, *, context: str = "dev") -> str:
    return f"""apiVersion: v1
kind: Config
current-context: {context}
clusters: [{{name: c, cluster: {{server: "{server}", insecure-skip-tls-verify: true}}}}]
users: [{{name: u, user: {{token: t}}}}]
contexts: [{{name: {context}, context: {{cluster: c, user: u}}}}]
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The bad (and the good) inputs, by name."""
    root = tmp_path_factory.mktemp("inputs")
    made = {
        "not-yaml": b"clusters: [unclosed\n",
        "latin1": "current-context: caf\xe9\n".encode("latin-1"),
        "not-mapping": b"- just\n- a list\n",
        "unreachable": _kubeconfig(f"https://127.0.0.1:{_closed_port()}").encode(),
        "no-current": _kubeconfig("https://127.0.0.1:1").replace("current-context: dev", "").encode(),
        "cr-latin1": SAMPLE.read_text().replace("default", "d\xe9fault", 1).encode("latin-1"),
        "cr-invalid": b"apiVersion: operator.kyma-project.io/v1alpha2\nkind: Istio\n"
        b"metadata: {name: default, namespace: kyma-system}\nspec: {compatibilityMode: maybe}\n",
        "cr-two": SAMPLE.read_bytes() + b"---\n" + SAMPLE.read_bytes(),
    }
    paths = {}
    for name, content in made.items():
        paths[name] = root / name
        paths[name].write_bytes(content)
    paths["missing"] = root / "missing.yaml"
    paths["cr"] = SAMPLE
    return paths


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    message: str
    """A text the one error line must contain ({name} is replaced by that file's path)."""
    code: int = 2
    env: tuple[tuple[str, str], ...] = ()


# Bad kubeconfigs, crossed with every command that reads the cluster.
KUBECONFIG_CASES = {
    "missing kubeconfig": (("--kubeconfig", "{missing}"), "kubeconfig {missing} not found", 2),
    "kubeconfig not YAML": (("--kubeconfig", "{not-yaml}"), "is not valid YAML (line 2)", 2),
    "kubeconfig not UTF-8": (("--kubeconfig", "{latin1}"), "is not UTF-8 text", 2),
    "kubeconfig not a mapping": (("--kubeconfig", "{not-mapping}"), "is not a kubeconfig", 2),
    "missing context": (
        ("--kubeconfig", "{unreachable}", "--context", "nope"),
        "context nope not found in {unreachable} (--kubeconfig): known contexts: dev",
        2,
    ),
    "no current-context": (("--kubeconfig", "{no-current}"), "no current-context in", 2),
    "unreachable server": (("--kubeconfig", "{unreachable}"), "https://127.0.0.1:", 3),
}
CLUSTER_COMMANDS = {"diff": ("diff", "-f", "{cr}"), "plan-restarts": ("plan-restarts",)}

CASES: dict[str, Case] = {
    f"{command}: {what}": Case((*argv, *flags), message, code)
    for command, argv in CLUSTER_COMMANDS.items()
    for what, (flags, message, code) in KUBECONFIG_CASES.items()
}
CASES.update(
    {
        "plan-restarts: KUBECONFIG lists no file": Case(
            ("plan-restarts",),
            "none of the files in KUBECONFIG exists",
            env=(("KUBECONFIG", "/nonexistent/a:/nonexistent/b"),),
        ),
        "plan-restarts: bad output": Case(("plan-restarts", "-o", "xml"), "Invalid value for '-o'"),
        "version: bad output": Case(("version", "-o", "xml"), "Invalid value for '-o'"),
        "crd: bad output": Case(("crd", "-o", "table"), "Invalid value for '-o'"),
        "check-upgrade: not a version": Case(("check-upgrade", "one.two"), "one.two"),
        "check-upgrade: bad output": Case(("check-upgrade", "1.22.3", "-o", "xml"), "Invalid value"),
        "unknown command": Case(("frobnicate",), "No such command 'frobnicate'"),
        "unknown flag": Case(("version", "--frob"), "No such option: --frob"),
        "completion: unknown shell": Case(
            ("completion", "tcsh"), "'tcsh' is not one of 'bash', 'zsh', 'fish'"
        ),
    }
)
for command in ("render", "diff"):
    CASES.update(
        {
            f"{command}: missing file": Case((command, "-f", "{missing}"), "cannot read {missing}"),
            f"{command}: file not UTF-8": Case((command, "-f", "{cr-latin1}"), "is not UTF-8 text"),
            f"{command}: file not YAML": Case((command, "-f", "{not-yaml}"), "is not valid YAML"),
            f"{command}: invalid CR": Case((command, "-f", "{cr-invalid}"), "compatibilityMode"),
            f"{command}: two documents": Case(
                (command, "-f", "{cr-two}"), "must hold exactly one Istio document, found 2"
            ),
        }
    )
CASES["render: bad profile"] = Case(
    ("render", "-f", "{cr}", "--profile", "huge"), "unknown profile 'huge'", 1
)
CASES["render: bad output"] = Case(("render", "-f", "{cr}", "-o", "toml"), "Invalid value for '-o'")
CASES["render: invalid CR"] = Case(("render", "-f", "{cr-invalid}"), "compatibilityMode", 1)
for name in (
    "render: missing file",
    "render: file not UTF-8",
    "render: file not YAML",
    "render: two documents",
):
    CASES[name] = Case(CASES[name].argv, CASES[name].message, 1)


def _fill(text: str, files: dict[str, Path]) -> str:
    for name, path in files.items():
        text = text.replace("{" + name + "}", str(path))
    return text


def _assert_one_line_error(err: str, message: str, code: int, expected_code: int) -> None:
    assert "Traceback" not in err, err
    error_lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, err
    assert message in error_lines[0], err
    assert code == expected_code, err


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_bad_input_gives_one_line_and_an_exit_code(
    case: Case, files: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(files["missing"].parent))  # no ~/.kube/config to fall back to
    for key, value in case.env:
        monkeypatch.setenv(key, value)

    code = boundary.run(app, [_fill(arg, files) for arg in case.argv])

    _assert_one_line_error(capsys.readouterr().err, _fill(case.message, files), code, case.code)


def test_debug_shows_the_traceback_behind_the_line(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (["--debug", "plan-restarts"], ["plan-restarts", "--debug"]):
        code = boundary.run(app, [*argv, "--kubeconfig", str(files["not-yaml"])])

        err = capsys.readouterr().err
        assert code == 2
        assert "Traceback (most recent call last)" in err
        assert err.rstrip().splitlines()[-1].startswith("error: kubeconfig")


def _clean_env(home: Path) -> dict[str, str]:
    """This environment without cluster or istioctl settings, and a HOME with no ~/.kube/config."""
    dropped = ("KUBECONFIG", "ISTIOCTL_PATH", "ISTIO_INSTALL_BIN_PATH", "KUBERNETES_SERVICE_HOST")
    return {**{k: v for k, v in os.environ.items() if k not in dropped}, "HOME": str(home)}


RUN_CASES = {
    "log level verbose": (("--log-level", "verbose"), "'verbose' is not one of 'debug', 'info'"),
    "bad duration": (("--reconciliation-interval", "10x"), "invalid duration '10x': use Go syntax"),
    "bad zap level": (("--zap-log-level", "loud"), "invalid zap log level 'loud'"),
    "bad zap encoder": (("--zap-encoder", "xml"), "Invalid value for '--zap-encoder'"),
    "missing kubeconfig": (("--kubeconfig", "{missing}"), "kubeconfig {missing} not found"),
    "kubeconfig not YAML": (("--kubeconfig", "{not-yaml}"), "is not valid YAML"),
    "missing context": (("--kubeconfig", "{unreachable}", "--context", "x"), "context x not found"),
    "without istioctl": (
        ("--kubeconfig", "{unreachable}", "--istioctl", "{missing}"),
        "istioctl path {missing} is not an executable file",
    ),
}


@pytest.mark.parametrize(("flags", "message"), RUN_CASES.values(), ids=list(RUN_CASES))
def test_run_refuses_bad_input_in_one_line(
    flags: tuple[str, ...], message: str, files: dict[str, Path]
) -> None:
    local = ("--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address", "127.0.0.1:0")
    done = subprocess.run(
        [str(KYMA_ISTIO), "run", *local, *(_fill(flag, files) for flag in flags)],
        capture_output=True,
        text=True,
        timeout=60,
        env=_clean_env(files["missing"].parent),
        check=False,
    )

    _assert_one_line_error(done.stderr, _fill(message, files), done.returncode, 2)


@pytest.mark.parametrize("command", sorted(CLUSTER_COMMANDS))
def test_a_server_that_drops_every_connection_is_given_up_on_after_the_commands_three_attempts(
    command: str, files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A loopback listener that accepts and closes at once: every request fails transiently, and the
    # accepted connections count the attempts. The operator's policy would make 8 (64 when nested).
    accepted: list[int] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.2)
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                accepted.append(1)
                conn.close()

        server = threading.Thread(target=serve, daemon=True)
        server.start()
        kubeconfig = tmp_path / "dropping"
        kubeconfig.write_text(_kubeconfig(f"https://127.0.0.1:{listener.getsockname()[1]}"))
        argv = [_fill(arg, files) for arg in CLUSTER_COMMANDS[command]]
        try:
            code = boundary.run(app, [*argv, "--kubeconfig", str(kubeconfig)])
        finally:
            stop.set()
            server.join(timeout=5)

    assert code == 3, capsys.readouterr().err
    assert len(accepted) == COMMAND_RETRY.attempts == 3

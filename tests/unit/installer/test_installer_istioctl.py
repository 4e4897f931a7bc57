"""Istioctl runs a real child process: these tests use a fake istioctl script to watch what it gets."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import time
from pathlib import Path

import pytest

from kyma_istio import lines
from kyma_istio.installer import istioctl
from kyma_istio.installer.istioctl import Istioctl, IstioctlError, IstioctlNotFoundError

LOG = logging.getLogger("test.istioctl")

RECORD_ARGS = """\
printf '%s\\n' "$@" > "$DIR/args"
prev=""
for arg in "$@"; do
  if [ "$prev" = "-f" ]; then
    stat -c %a "$arg" > "$DIR/mode"; cp "$arg" "$DIR/iop"; echo "$arg" > "$DIR/path"
  fi
  prev="$arg"
done
"""


def fake_istioctl(directory: Path, body: str) -> Path:
    """An executable that records its arguments and the IOP file, then runs ``body``."""
    script = directory / "istioctl"
    script.write_text(f'#!/bin/bash\nDIR="{directory}"\n{RECORD_ARGS}{body}\n', encoding="utf-8")
    script.chmod(0o755)
    return script


def is_running(pid: int) -> bool:
    """Alive and not a zombie (a container's init may never reap orphans)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


async def gone(pid: int, *, timeout_s: float = 10) -> bool:
    """Whether ``pid`` stops running within ``timeout_s``: SIGKILL to a process group is delivered
    asynchronously, so a grandchild the installer cannot wait for may still run for a moment after it."""
    deadline = time.monotonic() + timeout_s
    while is_running(pid):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def exists(path: Path | str) -> bool:
    """Outside the async tests, so a sync stat reads as deliberate."""
    return Path(path).exists()


async def wait_for_file(path: Path, *, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not exists(path):
        assert time.monotonic() < deadline, f"{path} never appeared"
        await asyncio.sleep(0.02)


async def test_install_passes_the_iop_as_a_private_file_and_the_documented_flags(tmp_path: Path) -> None:
    binary = fake_istioctl(tmp_path, 'echo "✔ Installation complete"')
    kubeconfig = tmp_path / "kubeconfig"
    iop = {"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator", "spec": {"tag": "1.23.2"}}

    result = await Istioctl(binary, kubeconfig=kubeconfig, log=LOG).install(iop)

    assert result.ok
    iop_path = (tmp_path / "path").read_text().strip()
    assert (tmp_path / "args").read_text().splitlines() == [
        "install",
        "-f",
        iop_path,
        "-y",
        "--readiness-timeout",
        "150s",
        "--kubeconfig",
        str(kubeconfig),
    ]
    assert (tmp_path / "mode").read_text().strip() == "600"
    assert json.loads((tmp_path / "iop").read_text()) == iop
    assert not exists(iop_path)


async def test_install_without_kubeconfig_leaves_discovery_to_istioctl(tmp_path: Path) -> None:
    binary = fake_istioctl(tmp_path, "true")

    await Istioctl(binary, kubeconfig=None, log=LOG).install({}, readiness_timeout_s=30)

    args = (tmp_path / "args").read_text().splitlines()
    assert "--kubeconfig" not in args
    assert args[-2:] == ["--readiness-timeout", "30s"]


async def test_a_failed_install_is_summarised_from_its_output(tmp_path: Path) -> None:
    body = """\
echo "✔ Istio core installed"
echo "✘ Istiod encountered an error: failed to wait for resource: resources not ready after 2m30s: \
context deadline exceeded" >&2
echo "  Deployment/istio-system/istiod (container failed to start: ErrImagePull: not found)" >&2
echo "Error: failed to install manifests: errors occurred during operation" >&2
exit 1"""
    binary = fake_istioctl(tmp_path, body)

    result = await Istioctl(binary, kubeconfig=None, log=LOG).install({})

    assert not result.ok
    assert result.summary == (
        "Istiod not ready after 2m30s: Deployment/istio-system/istiod (container failed to start: "
        "ErrImagePull: not found)"
    )
    tail = result.output_tail.splitlines()
    assert tail[0] == "✔ Istio core installed"
    assert tail[-1].startswith("Error: failed to install manifests")


async def test_output_lines_stream_to_the_log_with_failures_at_info(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    binary = fake_istioctl(tmp_path, 'echo "- Processing resources for Istiod."\necho "✔ Istiod installed"')

    with caplog.at_level(logging.DEBUG, logger=LOG.name):
        await Istioctl(binary, kubeconfig=None, log=LOG).install({})

    levels = {record.getMessage(): record.levelno for record in caplog.records}
    assert levels["istioctl install: - Processing resources for Istiod."] == logging.DEBUG
    assert levels["istioctl install: ✔ Istiod installed"] == logging.INFO


async def test_carriage_returns_and_a_missing_final_newline_still_give_lines(tmp_path: Path) -> None:
    binary = fake_istioctl(tmp_path, "printf 'one\\rtwo\\r\\nthree'\nexit 2")

    result = await Istioctl(binary, kubeconfig=None, log=LOG).install({})

    assert result.output_tail == "one\ntwo\nthree"


async def test_a_line_longer_than_the_stream_limit_is_kept(tmp_path: Path) -> None:
    binary = fake_istioctl(tmp_path, "head -c 200000 /dev/zero | tr '\\0' x\necho\necho done")

    result = await Istioctl(binary, kubeconfig=None, log=LOG).install({})

    assert result.ok
    assert result.output_tail.splitlines() == ["x" * 200_000, "done"]


async def test_a_timeout_kills_the_whole_process_group_and_names_the_wait(tmp_path: Path) -> None:
    body = """\
sleep 300 &
echo $! > "$DIR/child"
echo "- Processing resources for Istiod. Waiting for Deployment/istio-system/istiod"
sleep 300"""
    binary = fake_istioctl(tmp_path, body)

    # 5 s leaves a loaded machine time to start the script and print its wait line; the bound below is
    # not a speed figure: the script sleeps 300 s, so finishing well before proves it was killed.
    started = time.monotonic()
    result = await Istioctl(binary, kubeconfig=None, log=LOG).install({}, timeout_s=5)

    assert time.monotonic() - started < 120
    assert not result.ok
    assert result.summary == (
        "istioctl install timed out after 5s while waiting for Deployment/istio-system/istiod"
    )
    assert await gone(int((tmp_path / "child").read_text()))


async def test_cancelling_an_install_kills_its_process_group(tmp_path: Path) -> None:
    body = 'sleep 300 &\necho $! > "$DIR/child"\necho $$ > "$DIR/main"\nsleep 300'
    binary = fake_istioctl(tmp_path, body)
    task = asyncio.create_task(Istioctl(binary, kubeconfig=None, log=LOG).install({}))
    await wait_for_file(tmp_path / "main")
    await wait_for_file(tmp_path / "child")

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await gone(int((tmp_path / "child").read_text()))
    assert await gone(int((tmp_path / "main").read_text()))
    assert not exists((tmp_path / "path").read_text().strip())


async def test_uninstall_purges_without_asking(tmp_path: Path) -> None:
    binary = fake_istioctl(tmp_path, 'echo "✔ Uninstall complete"')
    kubeconfig = tmp_path / "kubeconfig"

    result = await Istioctl(binary, kubeconfig=kubeconfig, log=LOG).uninstall_purge()

    assert result.ok
    assert (tmp_path / "args").read_text().splitlines() == [
        "uninstall",
        "--purge",
        "-y",
        "--kubeconfig",
        str(kubeconfig),
    ]


async def test_manifest_generate_parses_stdout_and_keeps_stderr_out_of_it(tmp_path: Path) -> None:
    body = """\
echo "warning: chatter on stderr" >&2
cat <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod, namespace: istio-system}
YAML"""
    binary = fake_istioctl(tmp_path, body)

    objects = await Istioctl(binary, kubeconfig=None, log=LOG).manifest_generate({"spec": {}})

    assert [(obj["kind"], obj["metadata"]["name"]) for obj in objects] == [
        ("Namespace", "istio-system"),
        ("Deployment", "istiod"),
    ]
    assert (tmp_path / "args").read_text().splitlines()[:3] == ["manifest", "generate", "-f"]


async def test_a_failed_render_raises_with_the_cause(tmp_path: Path) -> None:
    binary = fake_istioctl(tmp_path, 'echo "Error: generate config: unknown field \\"foo\\"" >&2\nexit 1')

    with pytest.raises(IstioctlError, match='generate config: unknown field "foo"'):
        await Istioctl(binary, kubeconfig=None, log=LOG).manifest_generate({})


async def test_a_hung_render_times_out(tmp_path: Path) -> None:
    binary = fake_istioctl(tmp_path, "sleep 300")

    with pytest.raises(IstioctlError, match=r"timed out after 0\.5s"):
        await Istioctl(binary, kubeconfig=None, log=LOG).manifest_generate({}, timeout_s=0.5)


async def test_version_reads_the_client_version(tmp_path: Path) -> None:
    binary = fake_istioctl(tmp_path, """echo '{"clientVersion": {"version": "1.23.2"}}'""")

    assert await Istioctl(binary, kubeconfig=None, log=LOG).version() == "1.23.2"
    assert (tmp_path / "args").read_text().splitlines() == ["version", "--remote=false", "-o", "json"]


async def test_unexpected_version_output_raises(tmp_path: Path) -> None:
    binary = fake_istioctl(tmp_path, "echo 'client version: 1.23.2'")

    with pytest.raises(IstioctlError, match="unexpected output"):
        await Istioctl(binary, kubeconfig=None, log=LOG).version()


def executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_an_explicit_path_wins_over_everything(tmp_path: Path) -> None:
    explicit = executable(tmp_path / "explicit")
    environ = {"ISTIOCTL_PATH": str(executable(tmp_path / "from-env"))}

    assert istioctl.find_istioctl(explicit, environ=environ) == explicit


def test_an_explicit_path_that_is_not_executable_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(IstioctlNotFoundError, match="not an executable file"):
        istioctl.find_istioctl(tmp_path / "missing")


def test_the_path_variable_wins_over_path_and_testenv(tmp_path: Path) -> None:
    chosen = executable(tmp_path / "chosen")
    on_path = tmp_path / "bin"
    on_path.mkdir()
    executable(on_path / "istioctl")
    environ = {"ISTIOCTL_PATH": str(chosen), "PATH": str(on_path)}

    assert istioctl.find_istioctl(environ=environ) == chosen


def test_the_reference_variable_is_honoured(tmp_path: Path) -> None:
    chosen = executable(tmp_path / "istio_install")

    found = istioctl.find_istioctl(environ={"ISTIO_INSTALL_BIN_PATH": str(chosen), "PATH": ""})

    assert found == chosen


def test_a_variable_naming_a_missing_file_is_an_error_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(IstioctlNotFoundError, match="ISTIOCTL_PATH="):
        istioctl.find_istioctl(environ={"ISTIOCTL_PATH": str(tmp_path / "nope")})


def test_path_is_searched_before_the_testenv_build(tmp_path: Path) -> None:
    on_path = tmp_path / "bin"
    on_path.mkdir()
    found = executable(on_path / "istioctl")
    testenv = executable(tmp_path / "testenv-istioctl")

    assert istioctl.find_istioctl(environ={"PATH": str(on_path)}, testenv_binary=testenv) == found


def test_the_testenv_build_is_the_last_resort(tmp_path: Path) -> None:
    testenv = executable(tmp_path / "istioctl")

    assert istioctl.find_istioctl(environ={"PATH": ""}, testenv_binary=testenv) == testenv


def test_another_line_runs_its_own_istioctl_never_the_plain_one(tmp_path: Path) -> None:
    executable(tmp_path / "istioctl")
    oldest = lines.line("1.23")
    assert oldest != lines.DEFAULT
    with pytest.raises(IstioctlNotFoundError, match=r"istioctl-1\.23\.2.*testenv/build istio-1\.23"):
        istioctl.find_istioctl(environ={"PATH": ""}, testenv_binary=tmp_path / "istioctl", line=oldest)
    own = executable(tmp_path / "istioctl-1.23.2")

    assert (
        istioctl.find_istioctl(environ={"PATH": ""}, testenv_binary=tmp_path / "istioctl", line=oldest) == own
    )


def test_the_default_line_runs_the_plain_istioctl_and_falls_back_to_its_versioned_one(tmp_path: Path) -> None:
    versioned = executable(tmp_path / f"istioctl-{lines.DEFAULT.version}")

    assert istioctl.find_istioctl(environ={"PATH": ""}, testenv_binary=tmp_path / "istioctl") == versioned
    plain = executable(tmp_path / "istioctl")
    assert istioctl.find_istioctl(environ={"PATH": ""}, testenv_binary=tmp_path / "istioctl") == plain


def test_nothing_found_tells_which_variable_to_set(tmp_path: Path) -> None:
    with pytest.raises(IstioctlNotFoundError, match="set ISTIOCTL_PATH"):
        istioctl.find_istioctl(environ={"PATH": ""}, testenv_binary=tmp_path / "absent")


def test_the_iop_file_is_private_and_removed_afterwards() -> None:
    with istioctl.private_iop_file({"spec": {"values": ("a", "b")}}) as path:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert json.loads(path.read_text()) == {"spec": {"values": ["a", "b"]}}

    assert not path.exists()


def test_the_images_plain_istioctl_path_is_never_taken_for_another_line(tmp_path: Path) -> None:
    """The image sets ISTIOCTL_PATH to the default line's plain istioctl (and kyma-istio run reads it as
    --istioctl): an operator set to another line must find that line's istioctl-<version> or refuse."""
    plain = executable(tmp_path / "istioctl")
    older = lines.LINES[-2]
    environ = {"ISTIOCTL_PATH": str(plain), "PATH": ""}
    with pytest.raises(IstioctlNotFoundError, match=f"{older.istioctl}.*all-lines image"):
        istioctl.find_istioctl(plain, line=older, environ=environ, testenv_binary=tmp_path / "none" / "x")
    own = executable(tmp_path / older.istioctl)
    environ["PATH"] = str(tmp_path)
    assert istioctl.find_istioctl(plain, line=older, environ=environ) == own
    (tmp_path / "elsewhere").mkdir()
    named = executable(tmp_path / "elsewhere" / older.istioctl)
    assert istioctl.find_istioctl(named, line=older, environ=environ) == named  # named for its line: taken

"""Starting, probing and ending the control plane's processes.

Every component runs in its own session (so its process group is its pid, and a Ctrl-C aimed at the
terminal reaches only us, and we end it in order). Attached components also get a parent-death signal
(through util-linux's ``setpriv``, from the same package as ``unshare``; a ``preexec_fn`` would not be
safe with threads) so that even a SIGKILLed test run leaves no server behind. Detached ones
(``dev-cluster up``) must outlive the CLI and get none. Output goes to one log file per component, which
failures quote.
"""

import contextlib
import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@dataclass(frozen=True)
class Process:
    """A started component: its name, process handle and log file."""

    name: str
    executable: str
    popen: "subprocess.Popen[bytes]"
    log: Path

    @property
    def pid(self) -> int:
        """The pid, which is also the process-group id (each component leads its own session)."""
        return self.popen.pid


def free_port() -> int:
    """A loopback TCP port that is free right now (the kernel picks it, so parallel clusters differ)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _die_with_parent(argv: list[str]) -> list[str]:
    # The death signal survives exec, so the component itself (same pid) dies with us.
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--", *argv] if setpriv else argv


def child_environment() -> dict[str, str]:
    """Our environment without proxy settings: every dial of the control plane stays on loopback."""
    return {key: value for key, value in os.environ.items() if key.lower() not in _PROXY_VARIABLES}


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    log_dir: Path,
    detach: bool,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Process:
    """Start one component with its output in ``<log_dir>/<name>.log``; ``env`` adds to our environment."""
    log = log_dir / f"{name}.log"
    with log.open("ab") as sink:
        popen = subprocess.Popen(
            list(argv) if detach else _die_with_parent(list(argv)),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=child_environment() | dict(env or {}),
            cwd=cwd,
        )
    return Process(name=name, executable=argv[0], popen=popen, log=log)


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def stop_processes(processes: Sequence[Process], *, grace: float = 5.0) -> None:
    """End components one by one in the given order: SIGTERM the group, SIGKILL it after ``grace``.

    One by one, because kube-apiserver's graceful shutdown waits for etcd: ended together, the API
    server spends its whole grace period reconnecting to a gone etcd.
    """
    for process in processes:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.popen.wait()
        # A component may have forked helpers into its group; they go with it.
        _signal_group(process.pid, signal.SIGKILL)


def pid_runs(pid: int, executable: str) -> bool:
    """True when ``pid`` is alive and runs ``executable`` (guards against pid reuse after a reboot)."""
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0].decode()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z" and Path(argv0).name == Path(executable).name


def stop_pids(pids: Sequence[tuple[int, str]], *, grace: float = 5.0) -> int:
    """End detached components, given as ``(pid, executable)`` in stop order; returns how many ran.

    They are not our children, so their exit is observed through ``/proc``; a pid that now runs
    another program (reused after the cluster died) is left alone.
    """
    stopped = 0
    for pid, executable in pids:
        if not pid_runs(pid, executable):
            continue
        stopped += 1
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while pid_runs(pid, executable) and time.monotonic() < deadline:
            time.sleep(0.02)
        if pid_runs(pid, executable):
            _signal_group(pid, signal.SIGKILL)
    return stopped


def log_tail(path: Path, *, lines: int = 30) -> str:
    """The last lines of a log file, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log written)"
    return "\n".join(text.splitlines()[-lines:])


def https_get(port: int, path: str, context: ssl.SSLContext, *, timeout: float = 2.0) -> tuple[int, bytes]:
    """GET ``https://127.0.0.1:<port><path>``; plain ``http.client`` so no proxy setting can interfere."""
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def https_ok(port: int, path: str, context: ssl.SSLContext) -> bool:
    """True when ``https://127.0.0.1:<port><path>`` answers 200 (a health endpoint is up)."""
    return https_get(port, path, context)[0] == 200


def http_get(port: int, path: str, *, timeout: float = 2.0) -> tuple[int, bytes]:
    """GET ``http://127.0.0.1:<port><path>`` (etcd's client port speaks plain HTTP on loopback)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class StartupError(RuntimeError):
    """A component did not become healthy; the message carries the tail of its log."""


def wait_until(
    what: str,
    check: Callable[[], bool],
    *,
    timeout: float,
    watched: Sequence[Process] = (),
    interval: float = 0.05,
) -> None:
    """Poll ``check`` until it holds; fail fast when a watched process exits, with its log tail."""
    deadline = time.monotonic() + timeout
    while True:
        for process in watched:
            if process.popen.poll() is not None:
                raise StartupError(
                    f"{process.name} exited with code {process.popen.returncode} while waiting for {what}; "
                    f"last lines of {process.log}:\n{log_tail(process.log)}"
                )
        with contextlib.suppress(OSError, http.client.HTTPException):
            if check():
                return
        if time.monotonic() >= deadline:
            tails = "\n".join(f"--- {p.name} ({p.log}):\n{log_tail(p.log)}" for p in watched)
            raise StartupError(f"timed out after {timeout:.0f}s waiting for {what}\n{tails}")
        time.sleep(interval)

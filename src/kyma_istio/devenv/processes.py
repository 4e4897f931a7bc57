"""Starting, probing and ending the control plane's processes.

Every component runs in its own session (so its process group is its pid, and a Ctrl-C aimed at the
terminal reaches only us, and we end it in order). Attached components also get ``PR_SET_PDEATHSIG`` so
that even a SIGKILLed test run leaves no server behind; detached ones (``dev-cluster up``) must outlive
the CLI and get neither. Output goes to one log file per component, which failures quote.
"""

import contextlib
import ctypes
import http.client
import os
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@dataclass(frozen=True)
class Process:
    """A started component: its name, process handle and log file."""

    name: str
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


def _die_with_parent() -> None:
    # Runs in the child between fork and exec; libc's prctl is the only way to ask for this.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def child_environment() -> dict[str, str]:
    """Our environment without proxy settings: every dial of the control plane stays on loopback."""
    return {key: value for key, value in os.environ.items() if key.lower() not in _PROXY_VARIABLES}


def spawn(name: str, argv: Sequence[str], *, log_dir: Path, detach: bool) -> Process:
    """Start one component with its output in ``<log_dir>/<name>.log``."""
    log = log_dir / f"{name}.log"
    with log.open("ab") as sink:
        popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=None if detach else _die_with_parent,
            env=child_environment(),
            close_fds=True,
        )
    return Process(name=name, popen=popen, log=log)


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def stop_processes(processes: Sequence[Process], *, grace: float = 5.0) -> None:
    """SIGTERM every component's group at once, then SIGKILL whatever outlives the grace period."""
    for process in processes:
        _signal_group(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
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


def stop_pids(pids: dict[str, int], executables: dict[str, str], *, grace: float = 5.0) -> list[str]:
    """End detached components by pid (not our children); returns the names that were still running."""
    running = {name: pid for name, pid in pids.items() if pid_runs(pid, executables.get(name, name))}
    for pid in running.values():
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for name, pid in running.items():
        while pid_runs(pid, executables.get(name, name)) and time.monotonic() < deadline:
            time.sleep(0.05)
        _signal_group(pid, signal.SIGKILL)
    return sorted(running)


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

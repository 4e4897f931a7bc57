"""The real operator process for integration tests: ``kyma-istio run`` in its own process group.

Its istioctl child, which has a session of its own, is killed with it, as in a Pod whose container dies.
Import the ``operator`` fixture by name into a test module to use it; every process it started is
killed at teardown, whatever happened in the test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

KYMA_ISTIO = Path(sys.executable).parent / "kyma-istio"


class OperatorProcess:
    """``kyma-istio run`` as a child in its own process group, logging to a file."""

    def __init__(self, kubeconfig: Path, log_file: Path, *, metrics_address: str = "127.0.0.1:0") -> None:
        self.log_file = log_file
        with log_file.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(KYMA_ISTIO),
                    "run",
                    "--kubeconfig",
                    str(kubeconfig),
                    "--metrics-bind-address",
                    metrics_address,
                    "--health-probe-bind-address",
                    "127.0.0.1:0",
                    "--log-format",
                    "console",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={k: v for k, v in os.environ.items() if k != "KUBECONFIG"},
                start_new_session=True,
            )

    def istioctl_children(self) -> list[int]:
        """Process ids of the istioctl children of the operator (each in a session of its own)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
            if comm == "istioctl" and state != "Z" and int(ppid) == self.proc.pid:
                found.append(int(entry.name))
        return found

    def istioctl_running(self) -> bool:
        return bool(self.istioctl_children())

    def kill(self) -> None:
        """SIGKILL the operator and its istioctl, as when a Pod's container dies; reap the operator."""
        for pid in [self.proc.pid, *self.istioctl_children()]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])


StartOperator = Callable[..., OperatorProcess]


@pytest.fixture
def operator(kubeconfig: Path, tmp_path: Path) -> Iterator[StartOperator]:
    """``operator()`` starts one more operator process (keyword arguments go to ``OperatorProcess``)."""
    started: list[OperatorProcess] = []

    def start(**options: str) -> OperatorProcess:
        process = OperatorProcess(kubeconfig, tmp_path / "operator.log", **options)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def wait_for_operator(
    what: str, check: Callable[[], bool], process: OperatorProcess, timeout_s: float = 180.0
) -> None:
    """Poll ``check`` until true; fail with the operator's log if it exits or the time runs out."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if process.proc.poll() is not None:
            pytest.fail(
                f"operator exited ({process.proc.returncode}) while waiting for {what}:\n"
                + process.log_tail()
            )
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; operator log:\n{process.log_tail()}")
        time.sleep(0.02)

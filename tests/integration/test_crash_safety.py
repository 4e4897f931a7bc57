"""Crash safety of the real operator process: SIGKILL in the middle of ``istioctl install`` and in the
middle of the uninstall, start again, and the CR converges to the same end state as without the crash.

The operator runs as ``kyma-istio run`` in its own process group; its istioctl child, which has a session
of its own, is killed with it, as in a Pod whose container dies. The kopf watch, our work queue, the
start-up and the status writes are exercised end to end. Every process started here is killed at
teardown, whatever happened in the test.
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
from typing import Any

import pytest
from istio_fixtures import NS, cleanup_crs, crd_and_namespace, istio_cr, istio_system_settled
from lightkube import Client
from lightkube.resources.admissionregistration_v1 import MutatingWebhookConfiguration
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.core_v1 import Namespace

from kyma_istio.api import names
from kyma_istio.cluster.kinds import resource
from kyma_istio.k8s import kinds
from kyma_istio.resources import webhooks

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("crd_and_namespace", "istio_system_settled")]

__all__ = ["cleanup_crs", "crd_and_namespace", "istio_system_settled"]

KYMA_ISTIO = Path(sys.executable).parent / "kyma-istio"
ISTIO = resource(kinds.ISTIO)


class OperatorProcess:
    """``kyma-istio run`` as a child in its own process group, logging to a file."""

    def __init__(self, kubeconfig: Path, log_file: Path) -> None:
        self.log_file = log_file
        with log_file.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(KYMA_ISTIO),
                    "run",
                    "--kubeconfig",
                    str(kubeconfig),
                    "--metrics-bind-address",
                    "127.0.0.1:0",
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


@pytest.fixture
def operator(kubeconfig: Path, tmp_path: Path) -> Iterator[Callable[[], OperatorProcess]]:
    """``operator()`` starts one more operator process; all of them are killed at teardown."""
    started: list[OperatorProcess] = []

    def start() -> OperatorProcess:
        process = OperatorProcess(kubeconfig, tmp_path / "operator.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def _cr(client: Client) -> Any | None:
    found = [cr for cr in client.list(ISTIO, namespace=NS) if cr.metadata.name == "default"]
    return found[0] if found else None


def _state(cr: Any | None) -> str | None:
    return None if cr is None or not cr.get("status") else cr["status"].get("state")


def _wait(what: str, check: Callable[[], bool], process: OperatorProcess, timeout_s: float = 180.0) -> None:
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


def _install_to_ready(client: Client, process: OperatorProcess) -> Any:
    _wait("Ready", lambda: _state(_cr(client)) == "Ready", process)
    return _cr(client)


def _assert_no_webhook_conflict(client: Client) -> None:
    configs = [config.to_dict() for config in client.list(MutatingWebhookConfiguration)]
    injectors = [c["metadata"]["name"] for c in configs if "istio" in c["metadata"]["name"]]
    assert injectors, "no Istio sidecar-injector webhook configuration"
    assert webhooks.conflicting_tag_webhooks(configs) == [], injectors


@pytest.mark.usefixtures("cleanup_crs")
def test_an_operator_killed_during_istioctl_install_converges_to_ready_after_a_restart(
    client: Client, operator: Callable[[], OperatorProcess]
) -> None:
    first = operator()
    client.create(ISTIO.from_dict(istio_cr("default", {"config": {"numTrustedProxies": 2}})))
    _wait("istioctl install to start", first.istioctl_running, first)

    first.kill()

    killed = _cr(client)
    assert killed is not None
    assert _state(killed) == "Processing"
    assert names.LAST_APPLIED_ANNOTATION not in (killed.metadata.annotations or {})
    second = operator()
    cr = _install_to_ready(client, second)
    assert cr.metadata.finalizers == [names.FINALIZER]
    assert not [key for key in (cr.metadata.annotations or {}) if "kopf" in key]
    assert "kopf" not in cr["status"]
    assert names.LAST_APPLIED_ANNOTATION in cr.metadata.annotations
    _assert_no_webhook_conflict(client)

    # A periodic pass is 10h away and nothing changed: the operator leaves the CR alone.
    version = cr.metadata.resourceVersion
    time.sleep(5)
    assert _cr(client).metadata.resourceVersion == version, second.log_tail()


@pytest.mark.usefixtures("cleanup_crs")
def test_an_operator_killed_during_the_uninstall_removes_istio_and_the_cr_after_a_restart(
    client: Client, operator: Callable[[], OperatorProcess]
) -> None:
    first = operator()
    client.create(ISTIO.from_dict(istio_cr("default", {})))
    _install_to_ready(client, first)

    client.delete(ISTIO, "default", namespace=NS)
    _wait("the uninstall to start", first.istioctl_running, first)
    first.kill()

    killed = _cr(client)
    assert killed is not None, "the CR went away before the kill"
    assert _state(killed) == "Deleting"
    assert killed.metadata.finalizers == [names.FINALIZER]
    second = operator()
    _wait("the CR to be gone", lambda: _cr(client) is None, second)
    crds = [
        crd.metadata
        for crd in client.list(CustomResourceDefinition)
        if crd.metadata.name.endswith(".istio.io")
    ]
    assert all(meta.deletionTimestamp is not None for meta in crds), [m.name for m in crds]
    gone = [ns for ns in client.list(Namespace) if ns.metadata.name == names.ISTIO_NAMESPACE]
    assert all(ns.metadata.deletionTimestamp is not None for ns in gone)

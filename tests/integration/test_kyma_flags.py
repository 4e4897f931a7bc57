"""``kyma-istio run`` started with the Kyma Istio 1.10 manager's arguments, unchanged (issue 12).

The first list is the manager Deployment's ``args`` (kyma-project/istio ``config/manager/manager.yaml``);
the second adds every flag the Kyma "controller parameters" doc lists, spelled as Go spells them
(``10h0m0s``, ``16m40s``, ``--zap-devel=true``). The kubeconfig comes as ``KUBECONFIG=<missing>:<file>``,
so the merged loading is exercised by both clients: our API client (the Lease, the probes) and kopf's
watch (readiness means the watch is up, so kopf logged in through the same loader).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from istio_fixtures import crd_and_namespace
from lightkube import Client
from lightkube.resources.coordination_v1 import Lease

from kyma_istio.api import names

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("crd_and_namespace")]

__all__ = ["crd_and_namespace"]

KYMA_ISTIO = Path(sys.executable).parent / "kyma-istio"

KYMA_MANAGER_ARGS = ["--leader-elect", "--health-probe-bind-address=:8081", "--metrics-bind-address=:8080"]
"""The ``args`` of the Kyma Istio 1.10 manager Deployment, verbatim."""

KYMA_DOCUMENTED_FLAGS = [
    "--reconciliation-interval=10h0m0s",
    "--failure-base-delay=1s",
    "--failure-max-delay=16m40s",
    "--rate-limiter-burst=200",
    "--rate-limiter-frequency=30",
    "--zap-devel=true",
    "--zap-encoder=json",
    "--zap-log-level=info",
    "--zap-stacktrace-level=error",
    "--zap-time-encoding=rfc3339",
]
"""The other flags of the Kyma manager with their documented defaults, as a Deployment would set them."""


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return int(reply.status)
    except (urllib.error.URLError, OSError):
        return 0


@pytest.fixture
def manager(kubeconfig: Path, client: Client, tmp_path: Path) -> Iterator[Callable[[list[str]], Path]]:
    """``manager(args)`` starts ``kyma-istio run ARGS`` and returns its log file; killed at teardown."""
    started: list[subprocess.Popen[bytes]] = []
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env["KUBECONFIG"] = f"{tmp_path / 'absent-kubeconfig'}{os.pathsep}{kubeconfig}"

    def start(args: list[str]) -> Path:
        log_file = tmp_path / f"manager-{len(started)}.log"
        with log_file.open("wb") as log:
            started.append(
                subprocess.Popen(
                    [str(KYMA_ISTIO), "run", *args],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            )
        return log_file

    yield start
    for proc in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    with contextlib.suppress(Exception):
        client.delete(Lease, names.LEADER_ELECTION_ID, namespace=names.OPERATOR_NAMESPACE)


def test_the_kyma_manager_arguments_start_the_operator(
    manager: Callable[[list[str]], Path], client: Client, wait_for: Callable[..., object]
) -> None:
    log_file = manager(KYMA_MANAGER_ARGS + KYMA_DOCUMENTED_FLAGS)

    def log_tail() -> str:
        return log_file.read_text(errors="replace")[-3000:]

    try:
        wait_for(
            "the Lease 76223278.kyma-project.io in kyma-system", lambda: _lease_holder(client), timeout=60
        )
        wait_for("/readyz on :8081", lambda: _get("http://127.0.0.1:8081/readyz") == 200)
    except pytest.fail.Exception as error:
        raise AssertionError(f"{error}; the operator's log:\n{log_tail()}") from None
    assert _get("http://127.0.0.1:8081/healthz") == 200
    assert _get("http://127.0.0.1:8080/metrics") == 200
    # --zap-devel=true with --zap-encoder=json and --zap-time-encoding=rfc3339: JSON lines, RFC 3339 times.
    started = next(
        json.loads(line) for line in log_file.read_text().splitlines() if '"operator started"' in line
    )
    assert started["ts"].endswith("+00:00")
    assert "." not in started["ts"]


def _lease_holder(client: Client) -> str | None:
    with contextlib.suppress(Exception):
        lease = client.get(Lease, names.LEADER_ELECTION_ID, namespace=names.OPERATOR_NAMESPACE)
        return lease.spec.holderIdentity if lease.spec else None
    return None

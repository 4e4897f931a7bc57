"""``kyma-istio dev-cluster``: ``up`` leaves a healthy cluster running after the command exits, ``status``
and ``kubeconfig`` find it through the state file, and ``down`` ends exactly its processes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lightkube import Client, KubeConfig
from lightkube.resources.core_v1 import Node

from kyma_istio.devenv import tools

pytestmark = pytest.mark.integration

# Through the command's error boundary, as `kyma-istio dev-cluster ...` runs.
RUN_APP = (
    "import sys; from kyma_istio.cli.boundary import run; from kyma_istio.cli.main import app; "
    "sys.exit(run(app, ['dev-cluster', *sys.argv[1:]]))"
)


def _dev_cluster(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    # A private cache keeps the state file apart from a developer's own dev cluster; the tools stay put.
    env = {**os.environ, "KYMA_ISTIO_CACHE": str(cache), tools.BIN_DIR_ENV: str(tools.bin_dir())}
    return subprocess.run(
        [sys.executable, "-c", RUN_APP, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_up_status_kubeconfig_and_down_manage_one_detached_cluster(tmp_path: Path) -> None:
    """One cluster start serves every step, to keep the suite fast."""
    up = _dev_cluster("up", "--nodes", "2", "--node-cpu", "8", "--node-memory", "32Gi", cache=tmp_path)
    try:
        assert up.returncode == 0, up.stderr
        recorded = json.loads((tmp_path / "dev-cluster" / "state.json").read_text())
        assert all(Path(f"/proc/{pid}").exists() for pid in recorded["pids"].values())

        status = _dev_cluster("status", cache=tmp_path)
        assert status.returncode == 0, status.stderr
        assert "ready (2 fake nodes)" in status.stderr
        as_json = _dev_cluster("status", "-o", "json", cache=tmp_path)
        assert as_json.returncode == 0, as_json.stderr
        facts = json.loads(as_json.stdout)
        assert facts["ready"] is True
        assert all(c["running"] for c in facts["components"].values())

        kubeconfig = _dev_cluster("kubeconfig", cache=tmp_path).stdout.strip()
        with Client(KubeConfig.from_file(kubeconfig), trust_env=False) as client:
            sizes = {
                n.status.allocatable["cpu"] for n in client.list(Node, labels={"type": "kwok"}) if n.status
            }
        assert sizes == {"8"}

        second = _dev_cluster("up", "--no-kwok", cache=tmp_path)
        assert second.returncode == 1
        assert "already up" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        down = _dev_cluster("down", cache=tmp_path)

    assert down.returncode == 0, down.stderr
    assert "stopped 5 process(es)" in down.stderr
    assert not (tmp_path / "dev-cluster" / "state.json").exists()
    assert not (tmp_path / "dev-cluster" / "work").exists()
    assert _dev_cluster("status", cache=tmp_path).returncode == 1

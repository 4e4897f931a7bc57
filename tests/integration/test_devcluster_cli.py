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

RUN_APP = "from kyma_istio.cli.devcluster import dev_cluster_app; dev_cluster_app(prog_name='dev-cluster')"


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

        kubeconfig = _dev_cluster("kubeconfig", cache=tmp_path).stdout.strip()
        with Client(KubeConfig.from_file(kubeconfig), trust_env=False) as client:
            sizes = {
                n.status.allocatable["cpu"] for n in client.list(Node, labels={"type": "kwok"}) if n.status
            }
        assert sizes == {"8"}

        second = _dev_cluster("up", "--no-kwok", cache=tmp_path)
        assert second.returncode == 1
        assert "already up" in second.stderr
    finally:
        down = _dev_cluster("down", cache=tmp_path)

    assert down.returncode == 0, down.stderr
    assert "stopped 5 process(es)" in down.stderr
    assert not (tmp_path / "dev-cluster" / "state.json").exists()
    assert not (tmp_path / "dev-cluster" / "work").exists()
    assert _dev_cluster("status", cache=tmp_path).returncode == 1

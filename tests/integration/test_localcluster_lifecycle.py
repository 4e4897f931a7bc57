"""LocalCluster leaves nothing behind: not after stop(), not after a failed start, not after SIGTERM or
even SIGKILL of the process that owns it. These tests start their own small clusters (API server only)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kyma_istio.devenv import processes, tools
from kyma_istio.devenv.cluster import LocalCluster

pytestmark = pytest.mark.integration

OWNER_SCRIPT = """
import json, sys, time
from pathlib import Path
from kyma_istio.devenv.cluster import LocalCluster
cluster = LocalCluster(nodes=0, controllers=False, workdir=Path(sys.argv[1]))
with cluster:
    Path(sys.argv[2]).write_text(json.dumps(cluster.pids))
    time.sleep(600)
"""


def _wait_gone(pids: list[int], timeout: float = 15.0) -> bool:
    """True once no pid runs any more (a zombie awaiting its reaper counts as gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(not Path(f"/proc/{pid}/cmdline").exists() or _zombie(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return False


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_stop_ends_every_process_and_removes_the_work_directory(tmp_path: Path) -> None:
    cluster = LocalCluster(nodes=0, controllers=False, workdir=tmp_path / "cluster")
    cluster.start()
    pids = list(cluster.pids.values())

    cluster.stop()

    assert _wait_gone(pids)
    assert not (tmp_path / "cluster").exists()


def test_a_component_that_dies_at_start_fails_fast_with_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "etcd").write_text("#!/bin/sh\necho 'etcd: cannot start, disk on fire'\nexit 3\n")
    (fake_bin / "etcd").chmod(0o755)
    (fake_bin / "kube-apiserver").symlink_to(tools.find_tool("kube-apiserver"))
    monkeypatch.setenv(tools.BIN_DIR_ENV, str(fake_bin))
    cluster = LocalCluster(nodes=0, controllers=False, workdir=tmp_path / "cluster")

    started = time.monotonic()
    with pytest.raises(processes.StartupError, match=r"(?s)etcd exited with code 3.*disk on fire"):
        cluster.start()

    assert time.monotonic() - started < 10
    assert not (tmp_path / "cluster").exists()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_killed_owner_takes_its_cluster_with_it(tmp_path: Path, signum: signal.Signals) -> None:
    pids_file = tmp_path / "pids.json"
    owner = subprocess.Popen([sys.executable, "-c", OWNER_SCRIPT, str(tmp_path / "cluster"), str(pids_file)])
    try:
        deadline = time.monotonic() + 60
        while not pids_file.exists():
            assert owner.poll() is None, "the owner process died before the cluster was up"
            assert time.monotonic() < deadline, "the cluster did not come up within 60s"
            time.sleep(0.1)
        pids = list(json.loads(pids_file.read_text()).values())

        os.kill(owner.pid, signum)
        owner.wait(timeout=30)
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()

    assert _wait_gone(pids), f"components outlived their owner after {signum.name}"
    if signum == signal.SIGTERM:
        assert not (tmp_path / "cluster").exists()

"""The dev-cluster state file: round trip, absence, and removal."""

from pathlib import Path

from kyma_istio.devenv import state

RECORDED = state.ClusterState(
    workdir="/w",
    kubeconfig="/w/kubeconfig",
    server="https://127.0.0.1:1234",
    netns="net:[1]",
    pids={"etcd": 10, "kube-apiserver": 11},
    executables={"etcd": "/bin/etcd", "kube-apiserver": "/bin/kube-apiserver"},
    started_at=1.0,
    startup_seconds=3.2,
    nodes=["kwok-node-0"],
)


def test_a_saved_state_loads_back_equal(tmp_path: Path) -> None:
    state.save_state(RECORDED, tmp_path)

    assert state.load_state(tmp_path) == RECORDED


def test_no_state_file_means_no_cluster(tmp_path: Path) -> None:
    assert state.load_state(tmp_path) is None


def test_a_cleared_state_is_gone(tmp_path: Path) -> None:
    state.save_state(RECORDED, tmp_path)

    state.clear_state(tmp_path)

    assert state.load_state(tmp_path) is None

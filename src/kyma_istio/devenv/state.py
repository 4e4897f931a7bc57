"""The small state file through which ``dev-cluster status`` and ``down`` find a detached cluster.

``up`` leaves its processes running after the CLI exits, so a later command needs their pids (to end
exactly those, checked against their executables), the kubeconfig and work directory, and the network
namespace they live in (a command run in another namespace cannot reach their loopback ports).
"""

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kyma_istio.devenv.tools import cache_root


@dataclass(frozen=True)
class ClusterState:
    """What a later command needs to know about a running detached cluster."""

    workdir: str
    kubeconfig: str
    server: str
    netns: str
    pids: dict[str, int]
    executables: dict[str, str]
    started_at: float
    startup_seconds: float
    nodes: list[str] = field(default_factory=list)


def default_home() -> Path:
    """``<cache>/dev-cluster``: the detached cluster's work directory and state file live here."""
    return cache_root() / "dev-cluster"


def state_path(home: Path | None = None) -> Path:
    """Path of the state file."""
    return (home or default_home()) / "state.json"


def save_state(state: ClusterState, home: Path | None = None) -> Path:
    """Write the state atomically, so a concurrent ``status`` never reads half a file."""
    path = state_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(asdict(state), indent=2, sort_keys=True) + "\n")
    os.replace(partial, path)
    return path


def load_state(home: Path | None = None) -> ClusterState | None:
    """The recorded state, or None when no cluster was brought up."""
    path = state_path(home)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    return ClusterState(**data)


def clear_state(home: Path | None = None) -> None:
    """Forget the cluster (after ``down``)."""
    state_path(home).unlink(missing_ok=True)

"""How long the local control plane takes to become usable, and to go away.

Three shapes: ``api-only`` (etcd + kube-apiserver, what envtest gives), ``full`` (plus
kube-controller-manager, kube-scheduler and kwok with three fake nodes Ready) and ``istiod`` (``full``,
then ``istioctl install`` of the minimal profile and the real istiod, pilot-discovery, serving its webhooks:
what the integration tests pay before the first injected Pod). Each is started and stopped ``--rounds``
times; the figures are wall-clock seconds until every health check passed (for ``istiod``: until istiod
is ready and its injector webhook trusts its CA). Prints a table, then one line of JSON for tracking over
time.

Run inside a private network namespace, e.g.::

    unshare --net --fork -- bash -c 'ip link set lo up && .venv/bin/python benchmarks/controlplane_startup.py'
"""

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from typing import Any

import yaml

from kyma_istio import pins
from kyma_istio.devenv import netns, processes, tools
from kyma_istio.devenv.cluster import LocalCluster
from kyma_istio.devenv.istiod import Istiod
from kyma_istio.lines import DEFAULT as DEFAULT_LINE

SHAPES: dict[str, dict[str, Any]] = {
    "api-only": {"nodes": 0, "controllers": False},
    "full": {"nodes": 3, "controllers": True},
    "istiod": {"nodes": 3, "controllers": True},
}
MINIMAL_ISTIO = {
    "apiVersion": "install.istio.io/v1alpha1",
    "kind": "IstioOperator",
    "spec": {"profile": "minimal", "hub": pins.DEFAULT_HUB, "tag": DEFAULT_LINE.tag},
}


def start_istio(cluster: LocalCluster) -> tuple[Istiod, dict[str, float]]:
    """``istioctl install`` (minimal profile), then the real istiod; seconds of each phase."""
    operator = cluster.workdir / "minimal-iop.yaml"
    operator.write_text(yaml.safe_dump(MINIMAL_ISTIO))
    environment = processes.child_environment() | {
        "KUBECONFIG": str(cluster.kubeconfig),
        "HOME": str(cluster.workdir),
    }
    began = time.monotonic()
    subprocess.run(
        [str(tools.find_tool("istioctl")), "install", "-y", "-f", str(operator)],
        env=environment,
        check=True,
        capture_output=True,
    )
    installed = time.monotonic()
    istiod = Istiod(cluster).start()
    istiod.wait_ready()
    return istiod, {"istioctl_install": installed - began, "istiod": time.monotonic() - installed}


def measure(shape: str, rounds: int) -> dict[str, Any]:
    """Start and stop one shape ``rounds`` times; summarise start-up, per-phase and stop seconds."""
    startups: list[float] = []
    stops: list[float] = []
    phases: dict[str, list[float]] = {}
    for _ in range(rounds):
        cluster = LocalCluster(**SHAPES[shape])
        cluster.start()
        istiod, istio_phases = start_istio(cluster) if shape == "istiod" else (None, {})
        startups.append((cluster.startup_seconds or 0.0) + sum(istio_phases.values()))
        for phase, seconds in (cluster.phase_seconds | istio_phases).items():
            phases.setdefault(phase, []).append(seconds)
        began = time.monotonic()
        if istiod is not None:
            istiod.stop()
        cluster.stop()
        stops.append(time.monotonic() - began)
    return {
        "startup_median_s": round(statistics.median(startups), 3),
        "startup_min_s": round(min(startups), 3),
        "startup_max_s": round(max(startups), 3),
        "stop_median_s": round(statistics.median(stops), 3),
        "phases_median_s": {name: round(statistics.median(v), 3) for name, v in phases.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="start/stop cycles per shape (default 3)")
    arguments = parser.parse_args()
    try:
        netns.ensure_private_netns(allow_host_network=False)
    except netns.HostNetworkError as error:
        print(error, file=sys.stderr)
        return 2
    results = {shape: measure(shape, arguments.rounds) for shape in SHAPES}
    print(f"{'shape':<10} {'startup median':>15} {'min':>7} {'max':>7} {'stop':>7}  phases (median s)")
    for shape, figures in results.items():
        phases = ", ".join(f"{name} {seconds:.2f}" for name, seconds in figures["phases_median_s"].items())
        print(
            f"{shape:<10} {figures['startup_median_s']:>14.2f}s {figures['startup_min_s']:>6.2f}s "
            f"{figures['startup_max_s']:>6.2f}s {figures['stop_median_s']:>6.2f}s  {phases}"
        )
    summary = {
        "benchmark": "controlplane_startup",
        "rounds": arguments.rounds,
        "machine": {"cpus": _cpu_count(), "python": platform.python_version()},
        "results": results,
    }
    print(json.dumps(summary, sort_keys=True))
    return 0


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main())

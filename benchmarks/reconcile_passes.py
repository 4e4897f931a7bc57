"""What reconcile passes cost on the local control plane with the real istioctl.

Measures, for the default Istio CR: the first pass (a fresh install), a pass with nothing changed, and the
periodic resync pass, which re-runs ``istioctl install`` for drift repair (``reinstall_on_resync``, as
the reference does on every pass). For each: wall-clock seconds, the time istioctl took, and the write
requests our own client sent (istioctl's own requests are not ours and are not counted). The no-change
and resync passes are repeated ``--rounds`` times and summarised by their median. Prints a table, then
one line of JSON for tracking over time.

Run inside a private network namespace, e.g.::

    unshare --net --fork -- bash -c 'ip link set lo up && .venv/bin/python benchmarks/reconcile_passes.py'
"""

import argparse
import asyncio
import json
import logging
import platform
import statistics
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kyma_istio.api import names
from kyma_istio.cli.demo import bootstrap
from kyma_istio.cluster.kube import Kube
from kyma_istio.devenv import netns
from kyma_istio.devenv.cluster import LocalCluster
from kyma_istio.installer import istioctl
from kyma_istio.k8s import kinds
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.operator.events import KubeEvents
from kyma_istio.operator.main import IstioctlInstaller
from kyma_istio.reconcile import pipeline
from kyma_istio.reconcile.context import Deps, Installer, InstallOutcome, Settings

REPO = Path(__file__).resolve().parents[1]


class RecordingInstaller:
    """Passes calls through and keeps the duration istioctl reported for each install."""

    def __init__(self, inner: Installer) -> None:
        self.inner = inner
        self.durations: list[float] = []

    async def install(self, iop: Mapping[str, Any]) -> InstallOutcome:
        outcome = await self.inner.install(iop)
        self.durations.append(outcome.duration_s)
        return outcome

    async def uninstall(self) -> InstallOutcome:
        return await self.inner.uninstall()


class CountingEvents:
    """Passes Events through and counts them (each is one POST)."""

    def __init__(self, inner: KubeEvents) -> None:
        self.inner = inner
        self.posted = 0

    async def post(self, cr: Mapping[str, Any], *, type_: str, reason: str, message: str) -> None:
        self.posted += 1
        await self.inner.post(cr, type_=type_, reason=reason, message=message)


async def _pass(
    deps: Deps, recorder: RecordingInstaller, events: CountingEvents, *, resync: bool
) -> dict[str, Any]:
    """One pass over kyma-system/default: seconds, istioctl seconds, our write requests (Events apart)."""
    writes_before, installs_before, events_before = deps.kube.writes, len(recorder.durations), events.posted
    started = time.monotonic()
    result = await pipeline.reconcile(names.OPERATOR_NAMESPACE, "default", deps, resync=resync)
    seconds = time.monotonic() - started
    if result.state is None or result.state.value != "Ready":
        raise RuntimeError(f"pass ended {result.state}: {result.description}")
    count = deps.kube.writes - writes_before
    posted = events.posted - events_before
    return {
        "seconds": round(seconds, 3),
        "istioctl_s": round(sum(recorder.durations[installs_before:]), 3),
        "writes": count,
        "event_writes": posted,
        "other_writes": count - posted,
    }


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: round(statistics.median(run[key] for run in runs), 3) for key in runs[0]}


async def measure(cluster: LocalCluster, rounds: int) -> dict[str, Any]:
    kube = Kube.connect(cluster.kubeconfig)
    try:
        await bootstrap(kube)
        settings = Settings(readiness_timeout_s=120, reinstall_on_resync=True)
        tool = istioctl.Istioctl(
            istioctl.find_istioctl(),
            kubeconfig=cluster.kubeconfig,
            log=logging.getLogger("benchmark.istioctl"),
        )
        recorder = RecordingInstaller(IstioctlInstaller(tool, settings))
        events = CountingEvents(KubeEvents(kube))
        deps = Deps(kube=kube, installer=recorder, events=events, settings=settings)
        await kube.create(
            kinds.ISTIO,
            {
                "apiVersion": names.API_VERSION,
                "kind": names.KIND,
                "metadata": {"name": "default", "namespace": names.OPERATOR_NAMESPACE},
                "spec": {},
            },
        )
        first = await _pass(deps, recorder, events, resync=False)
        # The first install's fresh pods get the module label on the pass after it; not a steady state.
        settle = await _pass(deps, recorder, events, resync=False)
        quiet = [await _pass(deps, recorder, events, resync=False) for _ in range(rounds)]
        resync = [await _pass(deps, recorder, events, resync=True) for _ in range(rounds)]
        return {
            "first_install": first,
            "second_pass": settle,
            "no_change": _median(quiet),
            "resync_reinstall": _median(resync),
        }
    finally:
        await kube.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="no-change and resync passes (default 3)")
    arguments = parser.parse_args()
    try:
        netns.ensure_private_netns(allow_host_network=False)
    except netns.HostNetworkError as error:
        print(error, file=sys.stderr)
        return 2
    with LocalCluster(nodes=3, node_cpu="4", node_memory="16Gi") as cluster:
        results = asyncio.run(measure(cluster, arguments.rounds))
    print(f"{'pass':<18} {'seconds':>8} {'istioctl':>9} {'writes':>7} {'events':>7} {'other':>6}")
    for name, figures in results.items():
        print(
            f"{name:<18} {figures['seconds']:>7.2f}s {figures['istioctl_s']:>8.2f}s {figures['writes']:>7} "
            f"{figures['event_writes']:>7} {figures['other_writes']:>6}"
        )
    summary = {
        "benchmark": "reconcile_passes",
        "rounds": arguments.rounds,
        "istio": DEFAULT_LINE.tag,
        "machine": {"cpus": _cpu_count(), "python": platform.python_version()},
        "results": results,
    }
    print(json.dumps(summary, sort_keys=True))
    return 0


def _cpu_count() -> int:
    import os

    return os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main())

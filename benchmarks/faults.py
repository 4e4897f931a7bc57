"""How the operator fares when a share of its API requests fail: time to Ready, requests, retries,
duplicate writes and the final state, at fault rates 0, 5, 20 and 50 %.

The operator's client talks to the local kube-apiserver through the fault-injecting proxy
(``devenv.faultproxy``, seeded, a mix of 500, 503, 429 with Retry-After, and connection resets before
and after the server acted); istioctl talks to the API server directly. For each rate a fresh Istio CR
is reconciled (one ``istioctl install``, since the CR has no record of one) together with ``--owners``
Deployments whose sidecars are outdated, pass after pass as the work queue would run them, until Ready.
Duplicate writes are counted at the server: a Deployment whose template changed more than once
(``metadata.generation`` above 2) and installs beyond one per CR. Prints a table, then one JSON line.

Run inside a private network namespace, e.g.::

    unshare --net --fork -- bash -c 'ip link set lo up && .venv/bin/python benchmarks/faults.py'
"""

import argparse
import asyncio
import json
import logging
import os
import platform
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kyma_istio.api import names
from kyma_istio.cli.demo import bootstrap
from kyma_istio.cluster.kube import Kube
from kyma_istio.devenv import netns
from kyma_istio.devenv.cluster import LocalCluster
from kyma_istio.devenv.faultproxy import FaultProxy, mixed
from kyma_istio.installer import istioctl
from kyma_istio.k8s import kinds
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.operator.events import KubeEvents
from kyma_istio.operator.main import IstioctlInstaller
from kyma_istio.reconcile import pipeline
from kyma_istio.reconcile.context import Deps, Installer, InstallOutcome, Settings

RATES = (0.0, 0.05, 0.2, 0.5)
OLD_PROXY = "docker.io/istio/proxyv2:1.22.0-distroless"
MAX_PASSES = 12


class CountingInstaller:
    def __init__(self, inner: Installer) -> None:
        self.inner = inner
        self.installs = 0

    async def install(self, iop: Mapping[str, Any]) -> InstallOutcome:
        self.installs += 1
        return await self.inner.install(iop)

    async def uninstall(self) -> InstallOutcome:
        return await self.inner.uninstall()


def _deployment(name: str, namespace: str) -> dict[str, Any]:
    template = {
        "metadata": {"labels": {"app": name}, "annotations": {names.SIDECAR_STATUS_ANNOTATION: "{}"}},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {"name": "app", "image": "registry.example/app:1"},
                {"name": names.PROXY_CONTAINER, "image": OLD_PROXY},
            ],
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": template},
    }


async def _owners_running(admin: Kube, namespace: str, count: int) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        pods = await admin.list_all(kinds.POD, namespace=namespace)
        if sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Running") >= count:
            return
        await asyncio.sleep(1)
    raise RuntimeError(f"pods of {namespace} not running in time")


async def _drop_cr(admin: Kube) -> None:
    for cr in await admin.list_all(kinds.ISTIO, namespace=names.OPERATOR_NAMESPACE):
        name = cr["metadata"]["name"]
        await admin.patch(
            kinds.ISTIO, name, {"metadata": {"finalizers": None}}, namespace=names.OPERATOR_NAMESPACE
        )
        await admin.delete(kinds.ISTIO, name, namespace=names.OPERATOR_NAMESPACE)


async def one_rate(
    cluster: LocalCluster, admin: Kube, rate: float, *, owners: int, seed: int, workdir: Path
) -> dict[str, Any]:
    namespace = f"faults-{int(rate * 100):02d}"
    await admin.create(kinds.NAMESPACE, {"metadata": {"name": namespace}})
    for index in range(owners):
        await admin.create(kinds.DEPLOYMENT, _deployment(f"svc-{index:02d}", namespace))
    await _owners_running(admin, namespace, owners)
    await _drop_cr(admin)
    async with FaultProxy(
        upstream=cluster.server, files=cluster.layout.pki, rules=mixed(rate), seed=seed, workdir=workdir
    ) as proxy:
        kube = Kube.connect(proxy.write_kubeconfig(workdir / "via-proxy.kubeconfig"))
        settings = Settings(readiness_timeout_s=180, restart_wave_size=owners, restart_wave_timeout_s=60)
        tool = istioctl.Istioctl(
            istioctl.find_istioctl(), kubeconfig=cluster.kubeconfig, log=logging.getLogger("bench.istioctl")
        )
        installer = CountingInstaller(IstioctlInstaller(tool, settings))
        deps = Deps(kube=kube, installer=installer, events=KubeEvents(kube), settings=settings)
        try:
            await admin.create(
                kinds.ISTIO,
                {
                    "apiVersion": names.API_VERSION,
                    "kind": names.KIND,
                    "metadata": {"name": "default", "namespace": names.OPERATOR_NAMESPACE},
                    "spec": {},
                },
            )
            started = time.monotonic()
            passes, errors, state = 0, 0, "none"
            while passes < MAX_PASSES:
                passes += 1
                try:
                    result = await pipeline.reconcile(names.OPERATOR_NAMESPACE, "default", deps)
                    state = result.state.value if result.state else "Gone"
                except Exception as err:  # a pass that raises: the work queue would retry it
                    errors += 1
                    state = f"raised {type(err).__name__}"
                    continue
                if result.failed:
                    errors += 1
                if state == "Ready":
                    break
                if result.failed or result.warning or result.requeue_after:
                    await asyncio.sleep(1)  # the queue would wait longer; the work left is the same
            seconds = time.monotonic() - started
        finally:
            await kube.close()
        generations = [
            int(d["metadata"].get("generation", 1))
            for d in await admin.list_all(kinds.DEPLOYMENT, namespace=namespace)
        ]
        duplicate_restarts = sum(max(g - 2, 0) for g in generations)
        return {
            "rate": rate,
            "seconds_to_ready": round(seconds, 2),
            "passes": passes,
            "failed_passes": errors,
            "requests": sum(proxy.counts.requests.values()),
            "faults_injected": sum(proxy.counts.injected.values()),
            "retries": kube.retrier.retries,
            "gave_up": kube.retrier.gave_up,
            "installs": installer.installs,
            "owners_restarted": sum(1 for g in generations if g >= 2),
            "duplicate_writes": duplicate_restarts + max(installer.installs - 1, 0),
            "final_state": state,
        }


async def measure(cluster: LocalCluster, owners: int, seed: int) -> list[dict[str, Any]]:
    admin = Kube.connect(cluster.kubeconfig)
    try:
        await bootstrap(admin)
        with tempfile.TemporaryDirectory(prefix="faults-") as tmp:
            return [
                await one_rate(
                    cluster, admin, rate, owners=owners, seed=seed, workdir=Path(tmp) / f"rate-{index}"
                )
                for index, rate in enumerate(RATES)
            ]
    finally:
        await admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--owners", type=int, default=20, help="outdated Deployments per rate (default 20)")
    parser.add_argument("--seed", type=int, default=11)
    arguments = parser.parse_args()
    try:
        netns.ensure_private_netns(allow_host_network=False)
    except netns.HostNetworkError as error:
        print(error, file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING)
    with LocalCluster(nodes=3, node_cpu="4", node_memory="16Gi") as cluster:
        results = asyncio.run(measure(cluster, arguments.owners, arguments.seed))
    header = f"{'rate':>5} {'to Ready':>9} {'passes':>6} {'requests':>8} {'faults':>6} {'retries':>7} "
    print(header + f"{'installs':>8} {'restarted':>9} {'dup':>4} state")
    for r in results:
        print(
            f"{r['rate'] * 100:>4.0f}% {r['seconds_to_ready']:>8.1f}s {r['passes']:>6} {r['requests']:>8} "
            f"{r['faults_injected']:>6} {r['retries']:>7} {r['installs']:>8} {r['owners_restarted']:>9} "
            f"{r['duplicate_writes']:>4} {r['final_state']}"
        )
    summary = {
        "benchmark": "faults",
        "owners": arguments.owners,
        "seed": arguments.seed,
        "istio": DEFAULT_LINE.tag,
        "machine": {"cpus": os.cpu_count() or 1, "python": platform.python_version()},
        "results": results,
    }
    print(json.dumps(summary, sort_keys=True))
    return 0 if all(r["duplicate_writes"] == 0 and r["final_state"] == "Ready" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""``kyma-istio demo``: the main job end to end on a throw-away local control plane.

Starts the cluster (etcd, kube-apiserver, controller-manager, scheduler, kwok) with the real istiod
(pilot-discovery, which takes over once the operator has installed Istio), installs the CRD and the
module's PriorityClass, runs the operator in this process, applies the default Istio CR, shows live
progress until ``Ready``, prints a summary and stops everything, also on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.live import Live
from rich.table import Table

from kyma_istio import lines
from kyma_istio.api import names
from kyma_istio.cluster.kube import Kube
from kyma_istio.devenv import netns, processes, tools
from kyma_istio.devenv.cluster import LocalCluster
from kyma_istio.devenv.istiod import Istiod
from kyma_istio.k8s import kinds
from kyma_istio.k8s.kinds import Kind
from kyma_istio.operator.logs import LogSettings
from kyma_istio.operator.main import Options, serve
from kyma_istio.reconcile.context import Settings

REPO = Path(__file__).resolve().parents[3]
CRD_FILE = REPO / "deploy" / "crds" / "operator.kyma-project.io_istios.yaml"
SAMPLE = REPO / "deploy" / "samples" / "istio-default.yaml"
PRIORITY_CLASS = Kind("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", namespaced=False)


def _status_table(cr: dict[str, Any] | None, elapsed: float) -> Table:
    table = Table(title=f"Istio CR kyma-system/default  ({elapsed:.0f}s)")
    table.add_column("field")
    table.add_column("value")
    status = (cr or {}).get("status") or {}
    table.add_row("state", str(status.get("state", "-")))
    table.add_row("description", str(status.get("description") or ""))
    for condition in status.get("conditions") or []:
        table.add_row(condition["type"], f"{condition['status']} / {condition['reason']}")
    return table


async def bootstrap(kube: Kube) -> None:
    """What the module manifest provides before the operator starts: the CRD (Established), kyma-system
    and the PriorityClass Istio's pods use. The demo and the benchmarks share it."""
    await kube.apply(kinds.CRD, yaml.safe_load(CRD_FILE.read_text()))
    while True:
        crd = await kube.get(kinds.CRD, names.CRD_NAME)
        conditions = ((crd or {}).get("status") or {}).get("conditions") or []
        if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
            break
        await asyncio.sleep(0.2)
    await kube.apply(
        kinds.NAMESPACE,
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": names.OPERATOR_NAMESPACE}},
    )
    await kube.apply(
        PRIORITY_CLASS,
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": names.PRIORITY_CLASS},
            "value": names.PRIORITY_CLASS_VALUE,
            "globalDefault": False,
        },
    )


async def _run(cluster: LocalCluster, istiod: Istiod, console: Console, timeout_s: float) -> int:
    kube = Kube.connect(cluster.kubeconfig)
    stop = asyncio.Event()
    options = Options(
        kubeconfig=cluster.kubeconfig,
        metrics_address="127.0.0.1:0",
        health_address="127.0.0.1:0",
        logging=LogSettings(fmt="console", level="warning"),
        settings=Settings(readiness_timeout_s=120),
    )
    started = time.monotonic()
    # The CRD comes first, as in a real installation: the operator resolves the kind at start-up.
    await bootstrap(kube)
    operator = asyncio.create_task(serve(options, stop=stop))
    try:
        await kube.apply(kinds.ISTIO, yaml.safe_load(SAMPLE.read_text()))
        cr: dict[str, Any] | None = None
        with Live(_status_table(cr, 0), console=console, refresh_per_second=4) as live:
            while time.monotonic() - started < timeout_s:
                cr = await kube.get(kinds.ISTIO, "default", names.OPERATOR_NAMESPACE)
                live.update(_status_table(cr, time.monotonic() - started))
                if ((cr or {}).get("status") or {}).get("state") in ("Ready", "Error", "Warning"):
                    break
                await asyncio.sleep(0.5)
        state = ((cr or {}).get("status") or {}).get("state")
        deployments = await kube.list_all(kinds.DEPLOYMENT, namespace=names.ISTIO_NAMESPACE)
        summary = Table(title="Summary")
        summary.add_column("item")
        summary.add_column("value")
        summary.add_row(
            "Istio", f"{lines.DEFAULT.version} (Envoy {lines.DEFAULT.envoy}, tag {lines.DEFAULT.tag})"
        )
        for d in deployments:
            status = d.get("status") or {}
            summary.add_row(
                f"Deployment {d['metadata']['name']}",
                f"{status.get('availableReplicas', 0)}/{d['spec'].get('replicas', 1)} available",
            )
        if state == "Ready":
            await asyncio.to_thread(istiod.wait_ready)
        served = f"ready in {istiod.startup_seconds[-1]:.1f}s" if istiod.startup_seconds else "not serving"
        summary.add_row("istiod (pilot-discovery on the host)", served)
        summary.add_row("state", str(state))
        summary.add_row("time to Ready", f"{time.monotonic() - started:.1f}s")
        console.print(summary)
        return 0 if state == "Ready" else 1
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(operator, 30)
        await kube.close()


def demo_command(*, nodes: int = 3, timeout_s: float = 600.0, allow_host_network: bool = False) -> int:
    """Run the demo; exit code 0 when the CR reached Ready."""
    console = Console()
    try:
        netns.ensure_private_netns(allow_host_network=allow_host_network)
    except RuntimeError as err:
        console.print(f"[red]error:[/red] {err}")
        return 2
    console.print(
        "[bold]Starting the local control plane[/bold] (etcd, kube-apiserver, kcm, scheduler, kwok, istiod)"
    )
    try:
        with (
            LocalCluster(nodes=nodes, node_cpu="4", node_memory="16Gi") as cluster,
            Istiod(cluster) as istiod,
        ):
            console.print(f"cluster up in {cluster.startup_seconds or 0:.1f}s; running the operator")
            return asyncio.run(_run(cluster, istiod, console, timeout_s))
    except (tools.MissingToolError, processes.StartupError) as err:
        console.print(f"[red]error:[/red] {err}")
        return 2
    except KeyboardInterrupt:
        console.print("interrupted; stopping everything")
        return 130

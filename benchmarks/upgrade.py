"""A real upgrade at mesh scale: Istio of the line before the default one (today 1.28.3) with N sidecar
pods -> Ready on the default line (1.29.1), every workload restarted, on the local control plane with kwok.

Set-up (the script's own process): a ``LocalCluster`` (private network namespace only), the module's
prerequisites, the previous line's Istio installed by that line's istioctl (``istioctl-1.28.3``, from
``testenv/build istio-1.28``, part of ``all``) from Kyma's registry with Kyma's IstioOperator, the CR with
that release's last-applied annotation, and N pods in N/10 Deployments across 20 injection-enabled
namespaces, whose sidecars Istio's own injector adds (the real istiod, ``devenv.istiod``, running the
installed release's pilot-discovery and serving the installed injector templates).

The operator runs in a separate process, so its memory is its own: it first times one bare paginated
LIST of every pod (``list_seconds``, the floor any planning is compared with on this noisy shared
machine), then runs reconcile passes with default settings as the work queue would (waiting each
pass's ``requeue_after``) until the CR is Ready on the default line. It reports the seconds that took, the
passes, requests by verb, PATCHes per workload owner (must all be 1) and its peak RSS. Figures, then one
JSON line.

    unshare --net --fork -- bash -c 'ip link set lo up && .venv/bin/python benchmarks/upgrade.py'
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import json
import logging
import math
import os
import platform
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import restart_scale  # benchmarks/ is on sys.path when this runs as a script
from kyma_istio import lines
from kyma_istio.lines import DEFAULT as DEFAULT_LINE

NAMESPACES = 20
PODS_PER_DEPLOYMENT = 10
PODS_PER_NODE = 1_000
PREVIOUS_LINE = lines.LINES[lines.LINES.index(DEFAULT_LINE) - 1]
"""The line before the default one (the newest), which the upgrade starts from."""
PREVIOUS_TAG = PREVIOUS_LINE.tag


# --- the operator process ---------------------------------------------------------------------------


class WaveClock:
    """An observer of the passes that keeps the restart waves' durations and when each pass's waves
    began and ended, so the restart's wall time can be set against the waves' own."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.first_start: float | None = None
        self.last_end: float | None = None

    def observe_install(self, duration_s: float, ok: bool) -> None:
        return None

    def observe_restarts(self, summary: Any) -> None:
        return None

    def observe_waves(self, seconds: Any) -> None:
        if not seconds:
            return
        now = time.perf_counter()
        if self.first_start is None:
            self.first_start = now - sum(seconds)
        self.last_end = now
        self.seconds.extend(seconds)

    def span(self) -> float:
        if self.first_start is None or self.last_end is None:
            return 0.0
        return self.last_end - self.first_start


async def _operator(kubeconfig: Path) -> dict[str, Any]:
    from kyma_istio.api import names
    from kyma_istio.cluster.kube import Kube
    from kyma_istio.installer import istioctl
    from kyma_istio.k8s import kinds
    from kyma_istio.operator.events import KubeEvents
    from kyma_istio.operator.main import IstioctlInstaller
    from kyma_istio.reconcile import pipeline
    from kyma_istio.reconcile.context import Deps, Settings

    list_seconds = await restart_scale.list_floor(kubeconfig)
    kube = Kube.connect(kubeconfig)
    patches: collections.Counter[str] = collections.Counter()

    async def count_patch(request: Any) -> None:
        # Restarts of the benchmark's workloads only; istio-system's own Deployments are not sidecars.
        if request.method == "PATCH" and "/namespaces/bench-" in request.url.path:
            patches[request.url.path] += 1

    kube._client._client._client.event_hooks["request"].append(count_patch)  # as restart_scale.py
    settings = Settings()  # the defaults a user gets
    tool = istioctl.Istioctl(
        istioctl.find_istioctl(), kubeconfig=kubeconfig, log=logging.getLogger("benchmark.istioctl")
    )
    waves = WaveClock()
    deps = Deps(
        kube=kube,
        installer=IstioctlInstaller(tool, settings),
        events=KubeEvents(kube),
        settings=settings,
        observer=waves,
    )
    passes: list[dict[str, Any]] = []
    began = time.perf_counter()
    while True:
        started = time.perf_counter()
        result = await pipeline.reconcile(names.OPERATOR_NAMESPACE, "default", deps)
        state = result.state.value if result.state else None
        passes.append({"seconds": round(time.perf_counter() - started, 2), "state": state})
        cr = await kube.get(kinds.ISTIO, "default", names.OPERATOR_NAMESPACE) or {}
        annotations = cr.get("metadata", {}).get("annotations") or {}
        applied = json.loads(annotations.get(names.LAST_APPLIED_ANNOTATION, "{}"))
        if state == "Ready" and applied.get("IstioTag") == DEFAULT_LINE.tag:
            break
        if result.failed or state in ("Error", "Warning") or len(passes) > 100:
            raise RuntimeError(f"pass {len(passes)} ended {state}: {result.description}")
        await asyncio.sleep(result.requeue_after or 0)
    upgrade_seconds = time.perf_counter() - began
    per_owner = collections.Counter(patches.values())
    figures = {
        "upgrade_seconds": round(upgrade_seconds, 2),
        # The restart from its first wave to its last, against the waves' own durations back to back.
        "restart_seconds": round(waves.span(), 2),
        "waves_seconds": round(sum(waves.seconds), 2),
        "waves": len(waves.seconds),
        "list_seconds": round(list_seconds, 3),
        "passes": passes,
        "requests_by_verb": dict(kube.requests),
        "patched_owners": len(patches),
        "restarts_per_owner": {str(k): v for k, v in sorted(per_owner.items())},
        "peak_rss_mb": round(restart_scale.rss_mb("VmHWM"), 1),
    }
    await kube.close()
    return figures


def run_operator(kubeconfig: Path) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--operator-stage", str(kubeconfig)]
    done = subprocess.run(argv, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"operator stage failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# --- the cluster ----------------------------------------------------------------------------------


def _deployment(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": PODS_PER_DEPLOYMENT,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "containers": [{"name": "app", "image": "registry.example/app:1"}],
                },
            },
        },
    }


def _proxies(client: Any) -> collections.Counter[str]:
    """Running injected pods by sidecar image."""
    from lightkube.resources.core_v1 import Pod

    found: collections.Counter[str] = collections.Counter()
    for pod in client.list(Pod, namespace="*", fields={"status.phase": "Running"}, chunk_size=1000):
        if pod.metadata.namespace.startswith("bench-") and pod.metadata.deletionTimestamp is None:
            images = [c.image for c in pod.spec.containers if c.name == "istio-proxy"]
            found[images[0] if images else "(none)"] += 1
    return found


def wait_pods(client: Any, image: str, wanted: int, *, timeout_s: float) -> float:
    began = time.monotonic()
    while True:
        found = _proxies(client)
        elapsed = time.monotonic() - began
        if found[image] >= wanted and sum(found.values()) == found[image]:
            return elapsed
        if elapsed > timeout_s:
            raise TimeoutError(f"after {elapsed:.0f}s: {dict(found)}, wanted {wanted} on {image}")
        time.sleep(2.0)


async def previous_release(cluster: Any, start: lines.Line = PREVIOUS_LINE) -> None:
    """``start``'s Istio (default: the previous line's) by its own istioctl from Kyma's registry, and the
    CR as Kyma left it."""
    from kyma_istio import pins
    from kyma_istio.api import names
    from kyma_istio.api.v1alpha2 import IstioSpec
    from kyma_istio.cli.demo import bootstrap
    from kyma_istio.cluster.kube import Kube
    from kyma_istio.devenv import tools
    from kyma_istio.installer import istioctl
    from kyma_istio.k8s import kinds
    from kyma_istio.mesh.desired import cluster_facts, desired_istio
    from kyma_istio.mesh.lastapplied import render_last_applied

    kube = Kube.connect(cluster.kubeconfig)
    try:
        await bootstrap(kube)
        facts = cluster_facts(await kube.list_all(kinds.NODE))
        line = lines.at(start.tag)
        iop = desired_istio(IstioSpec(), facts, hub=pins.KYMA_HUB, experimental=False, line=line).iop
        binary = tools.find_tool(start.istioctl)
        tool = istioctl.Istioctl(binary, kubeconfig=cluster.kubeconfig, log=logging.getLogger("bench"))
        installed = await tool.install(iop, readiness_timeout_s=300)
        if not installed.ok:
            raise RuntimeError(f"{start.istioctl} install failed: {installed.summary}")
        annotation = render_last_applied(IstioSpec(), start.tag)
        await kube.create(
            kinds.ISTIO,
            {
                "apiVersion": names.API_VERSION,
                "kind": names.KIND,
                "metadata": {
                    "name": "default",
                    "namespace": names.OPERATOR_NAMESPACE,
                    "annotations": {names.LAST_APPLIED_ANNOTATION: annotation},
                    "finalizers": [names.FINALIZER],
                },
                "spec": {},
            },
        )
    finally:
        await kube.close()


def bench(pods: int, timeout_s: float) -> int:
    from lightkube import codecs

    from kyma_istio import pins
    from kyma_istio.devenv import netns
    from kyma_istio.devenv.cluster import LocalCluster
    from kyma_istio.devenv.istiod import Istiod

    try:
        netns.ensure_private_netns(allow_host_network=False)
    except netns.HostNetworkError as error:
        print(error, file=sys.stderr)
        return 2
    if pods < PODS_PER_DEPLOYMENT or pods % PODS_PER_DEPLOYMENT:
        print(f"--pods must be a positive multiple of {PODS_PER_DEPLOYMENT}", file=sys.stderr)
        return 2
    deployments = pods // PODS_PER_DEPLOYMENT
    nodes = max(3, math.ceil(pods / PODS_PER_NODE) + 1)
    cluster = LocalCluster(nodes=nodes, node_cpu="64", node_memory="256Gi")
    cluster.node_pool = dataclasses.replace(cluster.node_pool, pods=str(PODS_PER_NODE + 100))
    old, new = f"{pins.KYMA_HUB}/proxyv2:{PREVIOUS_TAG}", f"{pins.KYMA_HUB}/proxyv2:{DEFAULT_LINE.tag}"
    print(f"upgrade: {pods} pods in {deployments} Deployments across {NAMESPACES} namespaces, {nodes} nodes")
    with cluster, cluster.client() as client, Istiod(cluster) as istiod:
        asyncio.run(previous_release(cluster))
        istiod.wait_ready()
        print(f"Istio {PREVIOUS_LINE.version} installed by {PREVIOUS_LINE.istioctl}", flush=True)
        for index in range(NAMESPACES):
            manifest = {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": f"bench-{index:02d}", "labels": {"istio-injection": "enabled"}},
            }
            client.create(codecs.from_dict(manifest))
        for index in range(deployments):
            namespace = f"bench-{index % NAMESPACES:02d}"
            client.create(codecs.from_dict(_deployment(f"app-{index:05d}", namespace)))
        setup = wait_pods(client, old, pods, timeout_s=timeout_s)
        print(f"{pods} pods on {old} after {setup:.0f}s; upgrading (operator process)", flush=True)
        figures = run_operator(cluster.kubeconfig)
        settled = wait_pods(client, new, pods, timeout_s=timeout_s)
    ratio = figures["upgrade_seconds"] / max(figures["list_seconds"], 1e-6)
    took = f"{figures['upgrade_seconds']:.1f}s in {len(figures['passes'])} passes"
    print(f"\nupgrade to Ready on {DEFAULT_LINE.tag}: {took}")
    print(f"  bare LIST of the pods: {figures['list_seconds']:.2f}s (upgrade/list {ratio:.0f}x)")
    print(f"  passes: {figures['passes']}")
    pace = figures["restart_seconds"] / max(figures["waves_seconds"], 1e-6)
    print(
        f"  restart: {figures['restart_seconds']:.1f}s from first wave to last; the {figures['waves']} waves"
        f" back to back {figures['waves_seconds']:.1f}s (restart/waves {pace:.2f}x)"
    )
    print(f"  requests: {figures['requests_by_verb']}")
    print(f"  owners patched: {figures['patched_owners']}, by patch count {figures['restarts_per_owner']}")
    print(f"  every pod on {new} {settled:.1f}s after Ready; peak RSS {figures['peak_rss_mb']:.1f} MB")
    summary = {
        "benchmark": "upgrade",
        "from": PREVIOUS_TAG,
        "to": DEFAULT_LINE.tag,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "pods": pods,
        "owners": deployments,
        "upgrade_seconds": figures["upgrade_seconds"],
        "list_seconds": figures["list_seconds"],
        "upgrade_to_list_ratio": round(ratio, 1),
        "passes": len(figures["passes"]),
        "restart_seconds": figures["restart_seconds"],
        "waves_seconds": figures["waves_seconds"],
        "restart_to_waves_ratio": round(pace, 2),
        "requests_by_verb": figures["requests_by_verb"],
        "patched_owners": figures["patched_owners"],
        "restarts_per_owner": figures["restarts_per_owner"],
        "peak_rss_mb": figures["peak_rss_mb"],
        "pods_on_target_after_ready_s": round(settled, 1),
        "run": uuid.uuid4().hex[:8],
    }
    print(json.dumps(summary, sort_keys=True))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=1_000, help="sidecar pods (default 1,000)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for pods")
    parser.add_argument("--operator-stage", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.operator_stage is not None:
        print(json.dumps(asyncio.run(_operator(args.operator_stage))))
        return 0
    return bench(args.pods, args.timeout)


if __name__ == "__main__":
    sys.exit(main())

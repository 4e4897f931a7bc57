"""The sidecar restarter at cluster scale: N pods in N/10 Deployments across 50 namespaces, all with an
outdated sidecar, on the local control plane with kwok.

The script starts its own ``LocalCluster`` (inside a private network namespace only), creates the
Deployments and waits until kwok runs every pod. The restarter then runs in a separate process, the
"operator", so its memory is measured without the set-up's: that process streams the pods into the
plan (``restart.gather.build_plan``, the controller's code) and, in the last stage, executes it
(``reconcile.sidecars.execute``) with a wave size and a limit large enough to restart everything in
one pass. It reports plan and restart seconds, API requests by verb, PATCHes per owner and its peak
RSS (``VmHWM`` from ``/proc/self/status``).

Memory is compared at two sizes: the operator plans once at 1,000 pods (plan only), then the cluster
grows to N and the operator plans and restarts. Figures are printed, then one line of JSON.

    unshare --net --fork -- bash -c \
        'ip link set lo up && .venv/bin/python benchmarks/restart_scale.py --pods 1000'
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import json
import math
import os
import platform
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

NAMESPACES = 50
PODS_PER_DEPLOYMENT = 10
FIRST_STAGE_PODS = 1_000
OLD_PROXY = "docker.io/istio/proxyv2:1.22.0-distroless"
PODS_PER_NODE = 1_000


# --- the operator process ---------------------------------------------------------------------------


def rss_mb(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


async def list_floor(kubeconfig: Path) -> float:
    """The floor planning is compared with, timed in the same run (the machine is shared and noisy):
    seconds of one bare paginated LIST of every pod, on a client of its own so no request is counted."""
    from kyma_istio.cluster.kube import Kube
    from kyma_istio.k8s import kinds
    from kyma_istio.restart import gather

    kube = Kube.connect(kubeconfig)
    try:
        began = time.perf_counter()
        async for _ in kube.stream(kinds.POD, chunk_size=gather.PAGE_SIZE):
            pass
        return time.perf_counter() - began
    finally:
        await kube.close()


async def _operator(
    kubeconfig: Path, *, restart: bool, wave_size: int, wave_timeout_s: float
) -> dict[str, Any]:
    import httpx2  # noqa: F401  (imported before measuring the baseline, like every module below)

    from kyma_istio.api.v1alpha2 import IstioSpec
    from kyma_istio.cluster.kube import Kube
    from kyma_istio.mesh.merge import merge
    from kyma_istio.mesh.profile import Profile
    from kyma_istio.reconcile import sidecars
    from kyma_istio.reconcile.context import Deps, InstallOutcome, Settings
    from kyma_istio.restart import gather
    from kyma_istio.restart.plan import PlanBuilder

    class NoInstaller:
        async def install(self, iop: Any) -> InstallOutcome:
            raise AssertionError("not installing")

        async def uninstall(self) -> InstallOutcome:
            raise AssertionError("not uninstalling")

    class CountedEvents:
        """Events go to a stand-in CR; counted rather than posted, so requests are the restarter's own."""

        def __init__(self) -> None:
            self.posted: collections.Counter[str] = collections.Counter()

        async def post(self, cr: Any, *, type_: str, reason: str, message: str) -> None:
            self.posted[reason] += 1

    kube = Kube.connect(kubeconfig)
    patches: collections.Counter[str] = collections.Counter()

    async def count_patch(request: Any) -> None:
        if request.method == "PATCH":
            patches[request.url.path] += 1

    http = kube._client._client._client  # the hook the facade's own counter uses
    http.event_hooks["request"].append(count_patch)
    settings = Settings(
        restart_wave_size=wave_size, restart_limit=1_000_000, restart_wave_timeout_s=wave_timeout_s
    )
    events = CountedEvents()
    deps = Deps(kube=kube, installer=NoInstaller(), events=events, settings=settings)
    iop = merge(IstioSpec(), profile=Profile.PRODUCTION, line=Settings().line)
    expectation = sidecars.expectation_of(
        iop, IstioSpec(), None, status_port=await sidecars.read_status_port(kube)
    )
    baseline_mb = rss_mb("VmRSS")

    list_seconds = await list_floor(kubeconfig)

    began = time.perf_counter()
    builder = PlanBuilder.for_restart(expectation)
    plan = await gather.build_plan(deps.kube, builder, running_only=True, limit=settings.restart_limit)
    plan_seconds = time.perf_counter() - began
    plan_requests = dict(kube.requests)
    summary = plan.summary()
    result: dict[str, Any] = {
        "pods": summary.current + sum(summary.outdated.values()),
        "outdated": sum(summary.outdated.values()),
        "owners": len(plan.actions),
        "plan_seconds": round(plan_seconds, 3),
        "list_seconds": round(list_seconds, 3),
        "plan_to_list_ratio": round(plan_seconds / max(list_seconds, 1e-6), 1),
        "plan_requests_by_verb": plan_requests,
        "baseline_rss_mb": round(baseline_mb, 1),
        "plan_peak_rss_mb": round(rss_mb("VmHWM"), 1),
    }
    if restart:
        cr = {
            "apiVersion": "operator.kyma-project.io/v1alpha2",
            "kind": "Istio",
            "metadata": {"name": "bench"},
        }
        began = time.perf_counter()
        executed = await sidecars.execute(deps, plan, builder.selection, cr)
        result["restart_seconds"] = round(time.perf_counter() - began, 3)
        result["waves_seconds"] = round(sum(executed.wave_seconds), 3)
        result["failures"] = len(executed.failures)
        result["slow_waves"] = events.posted["RolloutSlow"]
        per_owner = collections.Counter(patches.values())
        result["patches"] = sum(patches.values())
        result["patched_owners"] = len(patches)
        result["patches_per_owner"] = {str(k): v for k, v in sorted(per_owner.items())}
        again = PlanBuilder.for_restart(expectation)
        second = await gather.build_plan(deps.kube, again, running_only=True, limit=settings.restart_limit)
        result["second_pass_actions"] = len(second.actions)
    result["requests_by_verb"] = dict(kube.requests)
    result["peak_rss_mb"] = round(rss_mb("VmHWM"), 1)
    await kube.close()
    return result


def run_operator(kubeconfig: Path, *, restart: bool, wave_size: int, wave_timeout_s: float) -> dict[str, Any]:
    """Run the operator stage in a fresh interpreter and return what it measured."""
    argv = [
        sys.executable,
        __file__,
        "--operator-stage",
        str(kubeconfig),
        "--wave-size",
        str(wave_size),
        "--wave-timeout",
        str(wave_timeout_s),
    ]
    if restart:
        argv.append("--restart")
    done = subprocess.run(argv, check=True, capture_output=True, text=True)
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
                "metadata": {"labels": {"app": name}, "annotations": {"sidecar.istio.io/status": "{}"}},
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "containers": [
                        {"name": "app", "image": "registry.example/app:1"},
                        {"name": "istio-proxy", "image": OLD_PROXY},
                    ],
                },
            },
        },
    }


def _count_running(client: Any) -> int:
    from lightkube.resources.core_v1 import Pod

    return sum(
        1 for _ in client.list(Pod, namespace="*", fields={"status.phase": "Running"}, chunk_size=5000)
    )


def grow(client: Any, deployments: int, start: int, wanted_pods: int, *, timeout_s: float) -> float:
    """Create Deployments ``start`` .. ``deployments - 1`` round-robin over the namespaces, wait for pods."""
    from lightkube import codecs

    began = time.monotonic()
    for index in range(start, deployments):
        namespace = f"bench-{index % NAMESPACES:02d}"
        client.create(codecs.from_dict(_deployment(f"app-{index:05d}", namespace)))
    last_report = 0.0
    while True:
        running = _count_running(client)
        elapsed = time.monotonic() - began
        if running >= wanted_pods:
            return elapsed
        if elapsed - last_report > 15:
            print(f"  ... {running}/{wanted_pods} pods running after {elapsed:.0f}s", flush=True)
            last_report = elapsed
        if elapsed > timeout_s:
            raise TimeoutError(f"only {running}/{wanted_pods} pods running after {elapsed:.0f}s")
        time.sleep(2.0)


def settle(client: Any, *, timeout_s: float) -> float:
    """Seconds until every Deployment's rollout is done (all replicas updated and available)."""
    from lightkube.resources.apps_v1 import Deployment

    began = time.monotonic()
    while True:
        pending = 0
        for deployment in client.list(Deployment, namespace="*", chunk_size=1000):
            spec, status, meta = deployment.spec, deployment.status, deployment.metadata
            done = (
                status is not None
                and (status.observedGeneration or 0) >= (meta.generation or 0)
                and status.updatedReplicas == spec.replicas == status.availableReplicas == status.replicas
            )
            pending += 0 if done else 1
        elapsed = time.monotonic() - began
        if pending == 0:
            return elapsed
        if elapsed > timeout_s:
            raise TimeoutError(f"{pending} Deployments still rolling out after {elapsed:.0f}s")
        time.sleep(1.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=10_000, help="pods in total (default 10,000)")
    parser.add_argument("--wave-size", type=int, default=100, help="owners per wave (default 100)")
    parser.add_argument("--wave-timeout", type=float, default=120.0, help="seconds a wave may take")
    parser.add_argument("--setup-timeout", type=float, default=1800.0, help="seconds to wait for pods")
    parser.add_argument("--operator-stage", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--restart", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.operator_stage is not None:
        figures = asyncio.run(
            _operator(
                args.operator_stage,
                restart=args.restart,
                wave_size=args.wave_size,
                wave_timeout_s=args.wave_timeout,
            )
        )
        print(json.dumps(figures))
        return 0
    return bench(
        args.pods,
        wave_size=args.wave_size,
        wave_timeout_s=args.wave_timeout,
        setup_timeout_s=args.setup_timeout,
    )


def private_netns() -> bool:
    """Whether this runs in a private network namespace (the local cluster's only home); else why not,
    on stderr."""
    from kyma_istio.devenv import netns

    try:
        netns.ensure_private_netns(allow_host_network=False)
    except netns.HostNetworkError as error:
        print(error, file=sys.stderr)
        return False
    return True


def bench(pods: int, *, wave_size: int, wave_timeout_s: float, setup_timeout_s: float) -> int:
    from lightkube import codecs

    from kyma_istio.devenv.cluster import LocalCluster

    if not private_netns():
        return 2
    if pods < PODS_PER_DEPLOYMENT or pods % PODS_PER_DEPLOYMENT:
        print(f"--pods must be a positive multiple of {PODS_PER_DEPLOYMENT}", file=sys.stderr)
        return 2
    deployments = pods // PODS_PER_DEPLOYMENT
    nodes = max(3, math.ceil(pods / PODS_PER_NODE) + 1)
    cluster = LocalCluster(nodes=nodes, node_cpu="64", node_memory="256Gi")
    cluster.node_pool = dataclasses.replace(cluster.node_pool, pods=str(PODS_PER_NODE + 100))
    print(
        f"restart_scale: {pods} pods in {deployments} Deployments across {NAMESPACES} namespaces, "
        f"{nodes} nodes"
    )
    with cluster, cluster.client() as client:
        print(f"cluster up in {cluster.startup_seconds:.1f}s", flush=True)
        for index in range(NAMESPACES):
            client.create(
                codecs.from_dict(
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"bench-{index:02d}"}}
                )
            )
        stages: list[tuple[str, dict[str, Any]]] = []
        created = 0
        if pods > FIRST_STAGE_PODS:
            first = FIRST_STAGE_PODS // PODS_PER_DEPLOYMENT
            setup = grow(client, first, 0, FIRST_STAGE_PODS, timeout_s=setup_timeout_s)
            print(
                f"{FIRST_STAGE_PODS} pods running after {setup:.1f}s; planning (operator process)", flush=True
            )
            small = run_operator(
                cluster.kubeconfig, restart=False, wave_size=wave_size, wave_timeout_s=wave_timeout_s
            )
            stages.append(("plan", small))
            created = first
        setup = grow(client, deployments, created, pods, timeout_s=setup_timeout_s)
        print(
            f"{pods} pods running after {setup:.1f}s more; planning and restarting (operator process)",
            flush=True,
        )
        full = run_operator(
            cluster.kubeconfig, restart=True, wave_size=wave_size, wave_timeout_s=wave_timeout_s
        )
        stages.append(("plan+restart", full))
        full["rollouts_settled_after_s"] = round(settle(client, timeout_s=setup_timeout_s), 1)
        print(f"every rollout done {full['rollouts_settled_after_s']:.1f}s after the operator finished")
    _print(stages)
    at_1000 = [figures for figures in (f for _, f in stages) if figures["pods"] == FIRST_STAGE_PODS]
    small_peak = at_1000[0]["plan_peak_rss_mb"] if at_1000 else None
    summary = {
        "benchmark": "restart_scale",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "pods": full["pods"],
        "owners": full["owners"],
        "namespaces": NAMESPACES,
        "plan_seconds": full["plan_seconds"],
        "list_seconds": full["list_seconds"],
        "plan_to_list_ratio": full["plan_to_list_ratio"],
        "restart_seconds": full["restart_seconds"],
        "waves_seconds": full["waves_seconds"],
        "patches": full["patches"],
        "patches_per_owner": full["patches_per_owner"],
        "requests_by_verb": full["requests_by_verb"],
        "plan_requests_by_verb": full["plan_requests_by_verb"],
        "peak_rss_mb": full["peak_rss_mb"],
        "plan_peak_rss_mb": full["plan_peak_rss_mb"],
        "plan_peak_rss_mb_at_1000": small_peak,
        "baseline_rss_mb": full["baseline_rss_mb"],
        "wave_size": wave_size,
        "slow_waves": full["slow_waves"],
        "failures": full["failures"],
        "second_pass_actions": full["second_pass_actions"],
        "rollouts_settled_after_s": full["rollouts_settled_after_s"],
        "run": uuid.uuid4().hex[:8],
    }
    print(json.dumps(summary, sort_keys=True))
    return 0


def _print(stages: list[tuple[str, dict[str, Any]]]) -> None:
    for name, f in stages:
        print(f"\n[{name}] {f['pods']} pods, {f['outdated']} outdated, {f['owners']} owners")
        print(f"  plan:     {f['plan_seconds']:.2f}s, requests {f['plan_requests_by_verb']}")
        floor = f"{f['list_seconds']:.2f}s, plan/list {f['plan_to_list_ratio']:.1f}x"
        print(f"  LIST:     bare paginated LIST of the same pods {floor}")
        print(
            f"  RSS:      baseline {f['baseline_rss_mb']:.1f} MB, after plan {f['plan_peak_rss_mb']:.1f} MB"
        )
        if "restart_seconds" in f:
            waves = f"{f['failures']} failed, {f['slow_waves']} slow waves"
            print(f"  restart:  {f['restart_seconds']:.2f}s (waves' own {f['waves_seconds']:.2f}s), {waves}")
            per_owner = f"owners by patch count {f['patches_per_owner']}"
            print(f"  patches:  {f['patches']} on {f['patched_owners']} owners, {per_owner}")
            print(f"  requests: {f['requests_by_verb']}")
            print(f"  peak RSS: {f['peak_rss_mb']:.1f} MB; second pass actions: {f['second_pass_actions']}")


if __name__ == "__main__":
    sys.exit(main())

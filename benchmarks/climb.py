"""The climb at mesh scale: Istio of the oldest line (today 1.23.2) with N sidecar pods climbs one minor at a
time to the default line (1.29.1), every hop a full upgrade, on the local control plane with kwok.

Set-up (the script's own process), as ``upgrade.py`` does it but from ``lines.LINES[0]``: a
``LocalCluster`` (private network namespace only), the module's prerequisites, the oldest line's Istio
installed by that line's istioctl (``istioctl-1.23.2``) from Kyma's registry with Kyma's IstioOperator,
the CR with that release's last-applied annotation (and no ``allow-climb`` annotation), and N pods in
N/10 Deployments across 20 injection-enabled namespaces, whose sidecars the real istiod injects
(``devenv.istiod``, which follows every hop's release with that release's pilot-discovery).

The operator runs in a separate process, so its memory is its own: it times one bare paginated LIST of
every pod (``list_seconds``), then runs reconcile passes with ``Settings(allow_climb=True)`` as the work
queue would (waiting each pass's ``requeue_after``) until the CR is Ready on the default line. The CR's
last-applied IstioTag, read after every pass, says where a hop ended. Per hop it reports the wall time
(from the start of the hop's first pass to the end of its last), the passes, the istioctl install and
restart-wave seconds, requests by verb, PATCHes per workload owner (must be 1 for every owner) and, read on
a client of its own, the running bench pods by proxy release and how many minors the oldest proxy is
behind the installed release (must stay below 2); then totals: the climb's seconds, restarts per owner
over the whole climb (one per hop), Events by reason and peak RSS. Figures, then one JSON line.

    unshare --net --fork -- bash -c 'ip link set lo up && .venv/bin/python benchmarks/climb.py'
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
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import restart_scale  # benchmarks/ is on sys.path when this runs as a script
import upgrade
from kyma_istio import lines
from kyma_istio.lines import DEFAULT as DEFAULT_LINE

OLDEST_LINE = lines.LINES[0]
"""Where the climb starts: the oldest line this build has."""
MAX_PASSES = 300
PROXY_SKEW_LIMIT = 2
"""Minors a proxy may never be behind istiod (Istio supports one)."""


# --- the operator process ---------------------------------------------------------------------------


class HopClock(upgrade.WaveClock):
    """``upgrade.WaveClock`` that also keeps the istioctl installs' seconds: one per hop."""

    def __init__(self) -> None:
        super().__init__()
        self.installs: list[float] = []

    def observe_install(self, duration_s: float, ok: bool) -> None:
        self.installs.append(duration_s)

    def figures(self) -> dict[str, Any]:
        return {
            "install_seconds": [round(seconds, 2) for seconds in self.installs],
            "restart_seconds": round(self.span(), 2),
            "waves": len(self.seconds),
            "waves_seconds": round(sum(self.seconds), 2),
        }


async def proxy_skew(kubeconfig: Path, installed_tag: str) -> dict[str, Any]:
    """The running bench pods by proxy release, and the most minors any of them is behind
    ``installed_tag``; read on a client of its own, so the operator's requests stay its own. Pods being
    deleted (phase still Running) are counted apart, under ``terminating``, and not in the skew."""
    from kyma_istio.cluster.kube import Kube
    from kyma_istio.devenv.istiod import image_release
    from kyma_istio.k8s import kinds
    from kyma_istio.restart.podview import reduce_pod

    releases: collections.Counter[str] = collections.Counter()
    terminating: collections.Counter[str] = collections.Counter()
    kube = Kube.connect(kubeconfig)
    try:
        async for pod in kube.stream(kinds.POD, fields={"status.phase": "Running"}, chunk_size=500):
            view = reduce_pod(pod)
            if view.namespace.startswith("bench-"):
                image = view.proxies[0].image if view.proxies else None
                (terminating if view.terminating else releases)[image_release(image) or "(none)"] += 1
    finally:
        await kube.close()
    installed = lines.release_parts(installed_tag)
    assert installed is not None, installed_tag
    minors = [parts[1] for release in releases if (parts := lines.release_parts(release)) is not None]
    return {
        "proxies": dict(sorted(releases.items())),
        "terminating": dict(sorted(terminating.items())),
        "max_skew_minors": installed[1] - min(minors) if minors else None,
    }


@dataclasses.dataclass
class Hop:
    """One hop's passes as they come: the requests before it, its clock and the PATCHes during it."""

    start_tag: str
    requests_before: collections.Counter[str]
    clock: HopClock = dataclasses.field(default_factory=HopClock)
    began: float = 0.0
    passes: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    patches: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)


async def _operator(kubeconfig: Path) -> dict[str, Any]:
    from kyma_istio.api import names
    from kyma_istio.cluster.kube import Kube
    from kyma_istio.installer import istioctl
    from kyma_istio.k8s import kinds
    from kyma_istio.operator.events import KubeEvents
    from kyma_istio.operator.main import IstioctlInstaller
    from kyma_istio.reconcile import pipeline
    from kyma_istio.reconcile.context import Deps, Settings

    class CountedEvents(KubeEvents):
        """The operator's Events, posted as always and counted by reason."""

        def __init__(self, kube: Kube) -> None:
            super().__init__(kube)
            self.posted: collections.Counter[str] = collections.Counter()

        async def post(self, cr: Any, *, type_: str, reason: str, message: str) -> None:
            self.posted[reason] += 1
            await super().post(cr, type_=type_, reason=reason, message=message)

    list_seconds = await restart_scale.list_floor(kubeconfig)
    kube = Kube.connect(kubeconfig)
    overall: collections.Counter[str] = collections.Counter()
    hop = Hop(OLDEST_LINE.tag, collections.Counter(kube.requests))

    async def count_bench_patch(request: Any) -> None:
        # Restarts of the benchmark's workloads only; istio-system's own Deployments are not sidecars.
        if request.method == "PATCH" and "/namespaces/bench-" in request.url.path:
            hop.patches[request.url.path] += 1
            overall[request.url.path] += 1

    kube._client._client._client.event_hooks["request"].append(count_bench_patch)  # as upgrade.py
    settings = Settings(allow_climb=True)
    log = logging.getLogger("benchmark.istioctl")
    tool = istioctl.Istioctl(istioctl.find_istioctl(), kubeconfig=kubeconfig, log=log)
    events = CountedEvents(kube)
    deps = Deps(kube=kube, installer=IstioctlInstaller(tool, settings), events=events, settings=settings)
    hops: list[dict[str, Any]] = []
    checking = 0.0  # seconds spent on the skew checks, left out of the climb's time
    began = time.perf_counter()
    for number in range(1, MAX_PASSES + 1):
        started = time.perf_counter()
        hop.began = hop.began or started
        deps = dataclasses.replace(deps, observer=hop.clock)
        result = await pipeline.reconcile(names.OPERATOR_NAMESPACE, "default", deps)
        state = result.state.value if result.state else None
        hop.passes.append({"seconds": round(time.perf_counter() - started, 2), "state": state})
        cr = await kube.get(kinds.ISTIO, "default", names.OPERATOR_NAMESPACE) or {}
        status = cr.get("status") or {}
        annotations = cr.get("metadata", {}).get("annotations") or {}
        tag = json.loads(annotations.get(names.LAST_APPLIED_ANNOTATION, "{}")).get("IstioTag")
        if result.failed or state in ("Error", "Warning"):
            pods = await proxy_skew(kubeconfig, str(tag))  # what the pass may have seen, a moment later
            raise RuntimeError(
                f"pass {number} ended {state}: {json.dumps(status, indent=1)}\nbench pods {pods}"
            )
        if tag != hop.start_tag:
            ended = time.perf_counter()
            hops.append(
                {
                    "from": hop.start_tag,
                    "to": tag,
                    "seconds": round(ended - hop.began, 2),
                    "passes": hop.passes,
                    **hop.clock.figures(),
                    "requests_by_verb": dict(kube.requests - hop.requests_before),
                    "patched_owners": len(hop.patches),
                    "patches_per_owner": _by_count(hop.patches),
                    "state": state,
                    "description": status.get("description", ""),
                    **await proxy_skew(kubeconfig, str(tag)),
                }
            )
            checking += time.perf_counter() - ended
            hop = Hop(str(tag), collections.Counter(kube.requests))
        if state == "Ready" and tag == DEFAULT_LINE.tag:
            break
        await asyncio.sleep(result.requeue_after or 0)
    else:
        raise RuntimeError(f"not Ready on {DEFAULT_LINE.tag} after {MAX_PASSES} passes")
    figures = {
        "climb_seconds": round(time.perf_counter() - began - checking, 2),
        "skew_check_seconds": round(checking, 2),
        "list_seconds": round(list_seconds, 3),
        "hops": hops,
        "requests_by_verb": dict(kube.requests),
        "patched_owners": len(overall),
        "restarts_per_owner": _by_count(overall),
        "events": dict(events.posted),
        "peak_rss_mb": round(restart_scale.rss_mb("VmHWM"), 1),
    }
    await kube.close()
    return figures


def _by_count(patches: collections.Counter[str]) -> dict[str, int]:
    """Owners by how many PATCHes each got: ``{"1": 100}``."""
    return {str(count): owners for count, owners in sorted(collections.Counter(patches.values()).items())}


def run_operator(kubeconfig: Path, log: Path) -> dict[str, Any]:
    """The operator stage in a fresh interpreter, its log (stderr) kept in ``log``."""
    with log.open("w") as stderr:
        done = subprocess.run(
            [sys.executable, __file__, "--operator-stage", str(kubeconfig)],
            check=False,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    if done.returncode != 0:
        raise RuntimeError(f"operator stage failed (its log: {log}):\n{log.read_text()[-6000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# --- the cluster ----------------------------------------------------------------------------------


async def oldest_release(cluster: Any) -> None:
    """The oldest line's Istio by its own istioctl from Kyma's registry, and the CR as Kyma left it."""
    await upgrade.previous_release(cluster, OLDEST_LINE)


def populate(client: Any, deployments: int) -> None:
    """The injection-enabled namespaces and ``deployments`` Deployments round-robin over them."""
    from lightkube import codecs

    spaces = [f"bench-{index:02d}" for index in range(upgrade.NAMESPACES)]
    labels = {"istio-injection": "enabled"}
    manifests = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "labels": labels}} for n in spaces
    ]
    manifests += [upgrade._deployment(f"app-{i:05d}", spaces[i % len(spaces)]) for i in range(deployments)]
    for manifest in manifests:
        client.create(codecs.from_dict(manifest))


def kwok_cluster(pods: int) -> Any:
    """A ``LocalCluster`` with room for ``pods`` on kwok nodes of ``upgrade.PODS_PER_NODE`` pods each."""
    from kyma_istio.devenv.cluster import LocalCluster

    nodes = max(3, math.ceil(pods / upgrade.PODS_PER_NODE) + 1)
    cluster = LocalCluster(nodes=nodes, node_cpu="64", node_memory="256Gi")
    cluster.node_pool = dataclasses.replace(cluster.node_pool, pods=str(upgrade.PODS_PER_NODE + 100))
    return cluster


def proxy(tag: str) -> str:
    """The proxy image Kyma's registry serves for ``tag``."""
    from kyma_istio import pins

    return f"{pins.KYMA_HUB}/proxyv2:{tag}"


def bench(pods: int, timeout_s: float) -> int:
    from kyma_istio.devenv.istiod import Istiod

    owners = pods // upgrade.PODS_PER_DEPLOYMENT
    cluster = kwok_cluster(pods)
    run = uuid.uuid4().hex[:8]
    log = Path(tempfile.gettempdir()) / f"climb-operator-{run}.log"
    spread = f"across {upgrade.NAMESPACES} namespaces, {cluster.node_pool.count} nodes"
    print(f"climb: {pods} pods in {owners} Deployments {spread}")
    with cluster, cluster.client() as client, Istiod(cluster) as istiod:
        asyncio.run(oldest_release(cluster))
        istiod.wait_ready()
        print(f"Istio {OLDEST_LINE.version} installed by {OLDEST_LINE.istioctl}", flush=True)
        populate(client, owners)
        setup = upgrade.wait_pods(client, proxy(OLDEST_LINE.tag), pods, timeout_s=timeout_s)
        print(f"{pods} pods on {OLDEST_LINE.tag} after {setup:.0f}s; climbing (operator process)", flush=True)
        figures = run_operator(cluster.kubeconfig, log)
        settled = upgrade.wait_pods(client, proxy(DEFAULT_LINE.tag), pods, timeout_s=timeout_s)
    _print(figures, settled, log)
    summary = {
        "benchmark": "climb",
        "from": OLDEST_LINE.tag,
        "to": DEFAULT_LINE.tag,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "pods": pods,
        "owners": owners,
        "hops": [_hop_summary(hop) for hop in figures["hops"]],
        "pods_on_target_after_ready_s": round(settled, 1),
        "run": run,
        **{key: value for key, value in figures.items() if key != "hops"},
    }
    summary["max_proxy_skew_minors"] = max((hop["max_skew_minors"] or 0) for hop in figures["hops"])
    summary["passes"] = sum(len(hop["passes"]) for hop in figures["hops"])
    print(json.dumps(summary, sort_keys=True))
    return 0


def _hop_summary(hop: dict[str, Any]) -> dict[str, Any]:
    """The hop for the JSON line: its passes counted, not listed."""
    return {**hop, "passes": len(hop["passes"]), "pass_seconds": [p["seconds"] for p in hop["passes"]]}


def _print(figures: dict[str, Any], settled: float, log: Path) -> None:
    hops = figures["hops"]
    passes = sum(len(hop["passes"]) for hop in hops)
    ratio = figures["climb_seconds"] / max(figures["list_seconds"], 1e-6)
    print(f"\nclimb {OLDEST_LINE.version} -> {DEFAULT_LINE.version}: {figures['climb_seconds']:.1f}s")
    listed = f"bare LIST of the pods {figures['list_seconds']:.2f}s (climb/list {ratio:.0f}x)"
    print(f"  {len(hops)} hops, {passes} passes; {listed}")
    for number, hop in enumerate(hops, 1):
        walls = [p["seconds"] for p in hop["passes"]]
        print(
            f"  hop {number} {hop['from']} -> {hop['to']}: {hop['seconds']:.1f}s, {len(walls)} passes {walls}"
        )
        installs = ", ".join(f"{seconds:.1f}s" for seconds in hop["install_seconds"])
        restart = f"restart {hop['restart_seconds']:.1f}s ({hop['waves']} waves, {hop['waves_seconds']:.1f}s)"
        print(f"    installs {installs}; {restart}")
        print(f"    requests {hop['requests_by_verb']}")
        patched = f"owners patched {hop['patched_owners']}, by patch count {hop['patches_per_owner']}"
        print(f"    {patched}; proxies {hop['proxies']}, max skew {hop['max_skew_minors']} minors")
        print(f"    still terminating at hop end (phase Running): {hop['terminating']}")
        print(f"    ended {hop['state']}: {hop['description']!r}")
    print(f"  requests: {figures['requests_by_verb']}")
    print(f"  owners patched: {figures['patched_owners']}, by patch count {figures['restarts_per_owner']}")
    print(f"  events: {figures['events']}")
    skews = [hop["max_skew_minors"] for hop in hops]
    within = all(skew is not None and skew < PROXY_SKEW_LIMIT for skew in skews)
    print(f"  max proxy skew at hop ends {skews} ({'within' if within else 'BEYOND'} Istio's support)")
    print(f"  every pod on {DEFAULT_LINE.tag} {settled:.1f}s after Ready")
    print(f"  peak RSS {figures['peak_rss_mb']:.1f} MB; operator log: {log}")


def _pods(text: str) -> int:
    pods = int(text)
    if pods < upgrade.PODS_PER_DEPLOYMENT or pods % upgrade.PODS_PER_DEPLOYMENT:
        raise argparse.ArgumentTypeError(f"a positive multiple of {upgrade.PODS_PER_DEPLOYMENT}")
    return pods


def operator_stage(kubeconfig: Path) -> int:
    """The operator process (``run_operator``): its log on stderr, its figures as the last stdout line."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("kyma_istio").setLevel(logging.INFO)
    print(json.dumps(asyncio.run(_operator(kubeconfig))))
    return 0


def main() -> int:
    if sys.argv[1:2] == ["--operator-stage"]:  # run_operator's own call, not for people
        return operator_stage(Path(sys.argv[2]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=_pods, default=1_000, help="sidecar pods (default 1,000)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for pods")
    args = parser.parse_args()
    return bench(args.pods, args.timeout) if restart_scale.private_netns() else 2


if __name__ == "__main__":
    sys.exit(main())

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

With ``--windowed-third`` every third Deployment (``app-00000``, ``app-00003``, ...) carries a maintenance
window (``restart.policy.WINDOW_ANNOTATION``, 30 minutes, UTC) that opens at the first whole minute at
least 90 s after the operator stage starts. The first ``Ready`` then still says that those workloads wait,
so the passes go on (each after its ``requeue_after``, which points one second past the opening) until a
``Ready`` says nothing waits. Added: each pass's description and ``requeue_after``, restarts per owner of
the windowed and of the other owners, windowed restarts sent before the opening (must be 0), the seconds
from the opening to the first and to the last windowed restart, and how long the others took.

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
from datetime import UTC, datetime, timedelta
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
WINDOW_EVERY = 3
"""With ``--windowed-third``: every this many Deployments, counting from the first, one waits for a window."""
WINDOW_LEAD_S = 90.0
"""The window opens at the first whole minute at least this long after the operator stage starts."""
WINDOW_MINUTES = 30
WAITING_MARKER = "maintenance window"
"""In a description (``api.conditions.held_message``): some workloads still wait for their window."""


def _placement(index: int) -> tuple[str, str]:
    """The name and namespace of the ``index``-th Deployment."""
    return f"app-{index:05d}", f"bench-{index % NAMESPACES:02d}"


def _is_windowed(path: str) -> bool:
    """Whether the Deployment an API path names (``.../deployments/app-00003``) has the window."""
    return int(path.rsplit("/", 1)[-1].removeprefix("app-")) % WINDOW_EVERY == 0


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


def _note_pass(entry: dict[str, Any], cr: dict[str, Any], requeue_after: float | None, began: float) -> bool:
    """With ``--windowed-third``: adds the pass's description, ``requeue_after`` and when it ended (seconds
    after ``began``, wall clock) to its ``entry``; whether the description says that workloads still wait.
    The first ``Ready`` comes while the windowed third waits: not done yet."""
    # A Ready pass's PassResult carries no description; the CR's status has it.
    description = str((cr.get("status") or {}).get("description", ""))
    requeue = None if requeue_after is None else round(requeue_after, 1)
    entry.update(description=description, requeue_after=requeue, ended_after_s=round(time.time() - began, 1))
    return WAITING_MARKER in description


def _window_figures(
    patch_times: dict[str, list[float]], opens: datetime, began: float, passes: list[dict[str, Any]]
) -> dict[str, Any]:
    """The windowed run's figures from each owner's PATCH times (wall clock, seconds since the epoch),
    the opening, when the passes began (wall clock) and the passes as ``_note_pass`` noted them."""
    opening = opens.timestamp()
    first_ready = next((p["ended_after_s"] for p in passes if p["state"] == "Ready"), None)
    windowed = {path: times for path, times in patch_times.items() if _is_windowed(path)}
    others = {path: times for path, times in patch_times.items() if not _is_windowed(path)}
    windowed_times = [t for times in windowed.values() for t in times]
    other_times = [t for times in others.values() for t in times]

    def by_count(owners: dict[str, list[float]]) -> dict[str, int]:
        counted = collections.Counter(len(times) for times in owners.values())
        return {str(k): v for k, v in sorted(counted.items())}

    def since(t: float | None, start: float) -> float | None:
        return None if t is None else round(t - start, 2)

    return {
        "opening_after_passes_began_s": round(opening - began, 2),
        "windowed_owners": len(windowed),
        "windowed_restarts_per_owner": by_count(windowed),
        "other_owners": len(others),
        "other_restarts_per_owner": by_count(others),
        "windowed_restarts_before_opening": sum(1 for t in windowed_times if t < opening),
        "opening_to_first_windowed_restart_s": since(min(windowed_times, default=None), opening),
        "opening_to_last_windowed_restart_s": since(max(windowed_times, default=None), opening),
        # From the first pass's start, the istioctl install included, and from their first restart.
        "others_restarted_after_s": since(max(other_times, default=None), began),
        "others_restart_span_s": since(max(other_times, default=None), min(other_times, default=began)),
        "first_ready_after_s": first_ready,
    }


async def _operator(kubeconfig: Path, opens: datetime | None = None) -> dict[str, Any]:
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
    patch_times: dict[str, list[float]] = collections.defaultdict(list)

    async def count_patch(request: Any) -> None:
        # Restarts of the benchmark's workloads only; istio-system's own Deployments are not sidecars.
        # Each one's wall-clock time, to set the windowed owners' restarts against their window's opening.
        if request.method == "PATCH" and "/namespaces/bench-" in request.url.path:
            patch_times[request.url.path].append(time.time())

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
    began_wall = time.time()
    while True:
        started = time.perf_counter()
        result = await pipeline.reconcile(names.OPERATOR_NAMESPACE, "default", deps)
        state = result.state.value if result.state else None
        passes.append({"seconds": round(time.perf_counter() - started, 2), "state": state})
        cr = await kube.get(kinds.ISTIO, "default", names.OPERATOR_NAMESPACE) or {}
        annotations = cr.get("metadata", {}).get("annotations") or {}
        applied = json.loads(annotations.get(names.LAST_APPLIED_ANNOTATION, "{}"))
        waiting = opens is not None and _note_pass(passes[-1], cr, result.requeue_after, began_wall)
        if state == "Ready" and applied.get("IstioTag") == DEFAULT_LINE.tag and not waiting:
            break
        if result.failed or state in ("Error", "Warning") or len(passes) > 100:
            raise RuntimeError(f"pass {len(passes)} ended {state}: {result.description}")
        await asyncio.sleep(result.requeue_after or 0)
    upgrade_seconds = time.perf_counter() - began
    per_owner = collections.Counter(len(times) for times in patch_times.values())
    figures = {
        "upgrade_seconds": round(upgrade_seconds, 2),
        # The restart from its first wave to its last, against the waves' own durations back to back.
        "restart_seconds": round(waves.span(), 2),
        "waves_seconds": round(sum(waves.seconds), 2),
        "waves": len(waves.seconds),
        "list_seconds": round(list_seconds, 3),
        "passes": passes,
        "requests_by_verb": dict(kube.requests),
        "patched_owners": len(patch_times),
        "restarts_per_owner": {str(k): v for k, v in sorted(per_owner.items())},
        "peak_rss_mb": round(restart_scale.rss_mb("VmHWM"), 1),
    }
    if opens is not None:
        figures["window"] = _window_figures(patch_times, opens, began_wall, passes)
    await kube.close()
    return figures


def run_operator(kubeconfig: Path, opens: datetime | None = None) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--operator-stage", str(kubeconfig)]
    if opens is not None:
        argv += ["--window-opens", opens.isoformat()]
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


def next_opening(now: datetime) -> datetime:
    """The first whole minute at least ``WINDOW_LEAD_S`` after ``now``."""
    ahead = now + timedelta(seconds=WINDOW_LEAD_S)
    minute = ahead.replace(second=0, microsecond=0)
    return minute if minute == ahead else minute + timedelta(minutes=1)


def window_value(opens: datetime) -> str:
    """The annotation value of a ``WINDOW_MINUTES`` window opening at ``opens`` (UTC): ``Sat 18:02-18:32``."""
    from kyma_istio.restart import windows

    closes = opens + timedelta(minutes=WINDOW_MINUTES)
    value = f"{windows.DAYS[opens.weekday()]} {opens:%H:%M}-{closes:%H:%M}"
    window = windows.parse(value)
    if window.next_open(opens - timedelta(seconds=1)) != opens:
        raise AssertionError(f"{value!r} does not open at {opens}")
    return value


def annotate_windows(client: Any, deployments: int) -> datetime:
    """Every ``WINDOW_EVERY``-th Deployment gets a maintenance window opening at the first whole minute
    at least ``WINDOW_LEAD_S`` from now; the opening.

    Annotated in this process, just before the operator stage starts, rather than in that stage: the
    annotations are in place before its first pass can plan, and its counters (requests by verb, PATCHes
    per owner, which would count these PATCHes as restarts) see only the operator's own requests. The
    lead is long enough for the other owners to be done first, so a Ready that says the third waits comes
    before the opening, and short enough not to idle long."""
    from lightkube.resources.apps_v1 import Deployment

    from kyma_istio.restart.policy import WINDOW_ANNOTATION

    opens = next_opening(datetime.now(UTC))
    value = window_value(opens)
    patch = {"metadata": {"annotations": {WINDOW_ANNOTATION: value}}}
    indices = range(0, deployments, WINDOW_EVERY)
    for index in indices:
        name, namespace = _placement(index)
        client.patch(Deployment, name, patch, namespace=namespace)
    lead = (opens - datetime.now(UTC)).total_seconds()
    print(
        f"{len(indices)} of {deployments} Deployments get window {value!r}, opening in {lead:.0f}s",
        flush=True,
    )
    return opens


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


def bench(pods: int, timeout_s: float, *, windowed_third: bool = False) -> int:
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
            client.create(codecs.from_dict(_deployment(*_placement(index))))
        setup = wait_pods(client, old, pods, timeout_s=timeout_s)
        print(f"{pods} pods on {old} after {setup:.0f}s; upgrading (operator process)", flush=True)
        opens = annotate_windows(client, deployments) if windowed_third else None
        figures = run_operator(cluster.kubeconfig, opens)
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
    window = figures.get("window")
    if window is not None:
        windowed = len(range(0, deployments, WINDOW_EVERY))
        window |= {"windowed_owners_annotated": windowed, "other_owners_expected": deployments - windowed}
        _print_window(window)
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
    if window is not None:
        summary["windowed_third"] = window | {"passes": figures["passes"]}
    print(json.dumps(summary, sort_keys=True))
    return 0


def _print_window(window: dict[str, Any]) -> None:
    """The windowed run's figures (``_window_figures``), for people."""
    print(
        f"  windowed third: {window['windowed_owners']} of {window['windowed_owners_annotated']} windowed"
        f" and {window['other_owners']} of {window['other_owners_expected']} other owners patched; opening"
        f" {window['opening_after_passes_began_s']:.1f}s after the first pass began;"
        f" by patch count {window['windowed_restarts_per_owner']} (the others"
        f" {window['other_restarts_per_owner']}); windowed restarts before the opening:"
        f" {window['windowed_restarts_before_opening']}"
    )
    print(
        f"  the others: last restarted {window['others_restarted_after_s']}s after the first pass began"
        f" (first to last {window['others_restart_span_s']}s); first Ready after"
        f" {window['first_ready_after_s']}s"
    )
    print(
        f"  opening -> first windowed restart {window['opening_to_first_windowed_restart_s']}s,"
        f" -> last {window['opening_to_last_windowed_restart_s']}s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=1_000, help="sidecar pods (default 1,000)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for pods")
    parser.add_argument(
        "--windowed-third",
        action="store_true",
        help=f"every third Deployment waits for a maintenance window opening about {WINDOW_LEAD_S:.0f}s in",
    )
    parser.add_argument("--operator-stage", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--window-opens", type=datetime.fromisoformat, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.operator_stage is not None:
        print(json.dumps(asyncio.run(_operator(args.operator_stage, args.window_opens))))
        return 0
    return bench(args.pods, args.timeout, windowed_third=args.windowed_third)


if __name__ == "__main__":
    sys.exit(main())

"""``kyma-istio run``: assemble the operator (client, installer, events, metrics), serve probes and metrics,
take the Lease if asked to, and reconcile until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kyma_istio import lines
from kyma_istio.api import names
from kyma_istio.cluster.kube import Kube
from kyma_istio.cluster.kubeconfig import Resolved, resolve
from kyma_istio.installer import istioctl
from kyma_istio.k8s.ratelimit import TokenBucket
from kyma_istio.operator import leader as leader_mod
from kyma_istio.operator import logs
from kyma_istio.operator.events import KubeEvents
from kyma_istio.operator.metrics import Metrics
from kyma_istio.operator.runtime import Controller, run_controller
from kyma_istio.operator.workqueue import Backoff
from kyma_istio.reconcile.context import Deps, InstallOutcome, Settings

log = logging.getLogger("kyma_istio.operator")


@dataclass(frozen=True)
class Options:
    """Command-line options of ``kyma-istio run`` (defaults as in the reference, spec section 11.1)."""

    kubeconfig: Path | None = None
    context: str | None = None
    metrics_address: str = ":8090"
    health_address: str = ":8091"
    leader_elect: bool = False
    leader_namespace: str = names.OPERATOR_NAMESPACE
    failure_base_delay_s: float = 1.0
    failure_max_delay_s: float = 1000.0
    rate_limiter_burst: int = 200
    rate_limiter_frequency: float = 30.0
    """API requests per second, saved up to ``rate_limiter_burst`` (client-go's token bucket)."""
    logging: logs.LogSettings = field(default_factory=logs.LogSettings)
    istioctl_path: Path | None = None
    settings: Settings = field(default_factory=Settings)


class IstioctlInstaller:
    """Adapts ``installer.istioctl.Istioctl`` to the reconciler's ``Installer`` protocol.

    The IstioOperator names the Istio it installs (``spec.tag``); the istioctl of that minor installs it:
    the configured one for the operator's own line (a later patch of it included, ``Line.keeping``), the
    line's own build for the lines a climb passes through (``mesh.climb``), found when first needed."""

    def __init__(self, tool: istioctl.Istioctl, settings: Settings) -> None:
        self.tool = tool
        self.settings = settings
        self._tools: dict[str, istioctl.Istioctl] = {settings.line.minor: tool}

    def _tool_for(self, iop: Mapping[str, Any]) -> istioctl.Istioctl:
        tag = str((iop.get("spec") or {}).get("tag") or self.settings.line.tag)
        line = lines.line(tag)
        if line.minor not in self._tools:
            # Only the versioned build on PATH or in the tool directory: ISTIOCTL_PATH names the
            # operator's own line's binary, never another minor's.
            binary = istioctl.find_istioctl(line=line, environ={"PATH": os.environ.get("PATH", "")})
            self._tools[line.minor] = istioctl.Istioctl(
                binary, kubeconfig=self.tool.kubeconfig, context=self.tool.context, log=self.tool.log
            )
        return self._tools[line.minor]

    async def install(self, iop: Mapping[str, Any]) -> InstallOutcome:
        try:
            tool = self._tool_for(iop)
        except istioctl.IstioctlNotFoundError as err:
            wanted = lines.line(str(iop["spec"]["tag"]))
            summary = (
                f"{wanted.istioctl} (the istioctl of the {wanted.minor} line) is not on the operator's PATH: "
                "run an image that adds it, or in a development checkout testenv/build "
                f"istio-{wanted.minor} ({err})"
            )
            return InstallOutcome(ok=False, duration_s=0.0, summary=summary)
        except ValueError as err:
            return InstallOutcome(ok=False, duration_s=0.0, summary=str(err))
        return await tool.install(
            iop,
            timeout_s=self.settings.install_timeout_s,
            readiness_timeout_s=self.settings.readiness_timeout_s,
        )

    async def uninstall(self) -> InstallOutcome:
        return await self.tool.uninstall_purge(timeout_s=self.settings.install_timeout_s)


def _split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return (host or "0.0.0.0", int(port))


async def _serve(app: web.Application, address: str) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, port = _split_address(address)
    await web.TCPSite(runner, host, port).start()
    return runner


def build_apps(metrics: Metrics, ready: asyncio.Event) -> tuple[web.Application, web.Application]:
    """The metrics app (``/metrics``) and the probes app (``/healthz``, ``/readyz``)."""

    async def metrics_handler(_: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(_: web.Request) -> web.Response:
        return web.Response(text="ok") if ready.is_set() else web.Response(status=503, text="not ready")

    metrics_app = web.Application()
    metrics_app.router.add_get("/metrics", metrics_handler)
    probes = web.Application()
    probes.router.add_get("/healthz", healthz)
    probes.router.add_get("/readyz", readyz)
    return metrics_app, probes


def assemble(options: Options, kube: Kube, metrics: Metrics, cluster: Resolved | None = None) -> Controller:
    """The controller with its dependencies, ready to run; kopf logs in to ``cluster`` too."""
    tool = istioctl.Istioctl(
        istioctl.find_istioctl(options.istioctl_path, line=options.settings.line),
        kubeconfig=options.kubeconfig,
        context=options.context,
        log=log.getChild("istioctl"),
    )
    deps = Deps(
        kube=kube,
        installer=IstioctlInstaller(tool, options.settings),
        events=KubeEvents(kube),
        settings=options.settings,
        observer=metrics,
    )
    backoff = Backoff(options.failure_base_delay_s, options.failure_max_delay_s)
    return Controller.create(deps, metrics, backoff=backoff, cluster=cluster)


async def serve(options: Options, *, stop: asyncio.Event | None = None) -> None:
    """Run the operator until ``stop`` is set or SIGTERM/SIGINT arrives."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    # One resolution for both clients: ours and kopf's watch (its login handler) connect to the same context.
    cluster = resolve(options.kubeconfig, options.context)
    cluster.connection()  # what kopf's login will hand over: refused now, in one line, if unusable
    limiter = TokenBucket(options.rate_limiter_frequency, options.rate_limiter_burst)
    kube = Kube.connect(resolved=cluster, limiter=limiter)
    log.info("connecting to %s", cluster.target, extra={"step": "startup"})
    metrics = Metrics(line=options.settings.line)
    ready = asyncio.Event()
    metrics_app, probes_app = build_apps(metrics, ready)
    runners = [
        await _serve(metrics_app, options.metrics_address),
        await _serve(probes_app, options.health_address),
    ]
    try:
        controller = assemble(options, kube, metrics, cluster)
        if options.leader_elect:
            elector = leader_mod.LeaseElector(
                kube,
                names.LEADER_ELECTION_ID,
                options.leader_namespace,
                f"{socket.gethostname()}-{os.getpid()}",
            )
            await elector.acquire()
            keeper = asyncio.create_task(elector.keep())
            keeper.add_done_callback(lambda _: stop.set())
        log.info("operator started", extra={"step": "startup"})
        await run_controller(controller, stop=stop, ready=ready)
    finally:
        for runner in runners:
            await runner.cleanup()
        await kube.close()
        log.info("operator stopped", extra={"step": "shutdown"})


def run(options: Options) -> None:
    logs.configure(options.logging)
    asyncio.run(serve(options))

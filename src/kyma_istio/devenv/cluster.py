"""A real Kubernetes control plane on loopback: etcd, kube-apiserver and, optionally, the controllers,
the scheduler and kwok with fake nodes.

``LocalCluster`` is what integration tests, benchmarks and ``kyma-istio dev-cluster`` share. It starts the
components in dependency order, waits until each is healthy (so ``startup_seconds`` measures a usable
cluster, not spawned processes), and on any failure, Ctrl-C or SIGTERM ends every process group it
started and removes its work directory. Failures quote the last lines of the failing component's log.
"""

import atexit
import base64
import contextlib
import functools
import http.client
import shutil
import signal
import ssl
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self

import yaml
from lightkube import ApiError, Client, KubeConfig
from lightkube.resources.core_v1 import ServiceAccount

from kyma_istio.devenv import components, netns, pki, processes, tools
from kyma_istio.devenv import nodes as fake_nodes
from kyma_istio.devenv.state import ClusterState

ProgressCallback = Callable[[str], None]
"""Receives a short description of each start-up phase as it begins."""

FIELD_MANAGER = "kyma-istio-devenv"


def _no_progress(_: str) -> None:
    pass


def write_kubeconfig(path: Path, *, server: str, files: pki.PkiFiles) -> None:
    """A self-contained admin kubeconfig (credentials embedded), readable only by the owner."""

    def encoded(source: Path) -> str:
        return base64.b64encode(source.read_bytes()).decode()

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "kyma-istio-dev",
                "cluster": {"server": server, "certificate-authority-data": encoded(files.ca_cert)},
            }
        ],
        "users": [
            {
                "name": "admin",
                "user": {
                    "client-certificate-data": encoded(files.admin_cert),
                    "client-key-data": encoded(files.admin_key),
                },
            }
        ],
        "contexts": [{"name": "kyma-istio-dev", "context": {"cluster": "kyma-istio-dev", "user": "admin"}}],
        "current-context": "kyma-istio-dev",
    }
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def admin_tls(files: pki.PkiFiles) -> ssl.SSLContext:
    """TLS context that trusts the cluster's CA and presents the admin client certificate."""
    context = ssl.create_default_context(cafile=str(files.ca_cert))
    context.load_cert_chain(files.admin_cert, files.admin_key)
    return context


def server_ready(state: ClusterState) -> bool:
    """True when a recorded cluster's API server answers ``/readyz`` from this network namespace."""
    port = urllib.parse.urlsplit(state.server).port
    try:
        context = admin_tls(pki.pki_files(Path(state.workdir) / "pki"))
        return port is not None and processes.https_ok(port, "/readyz", context)
    except (OSError, http.client.HTTPException):
        return False


class LocalCluster:
    """One local control plane; use as a context manager or call :meth:`start` and :meth:`stop`.

    ``nodes`` fake nodes of ``node_cpu`` / ``node_memory`` each are played by kwok; with ``nodes=0`` kwok
    is not started. ``controllers`` adds kube-controller-manager and kube-scheduler, without which
    Deployments make no Pods and namespaces never finish deleting. ``detach`` leaves the processes
    running when this Python process exits (for ``dev-cluster up``).
    """

    def __init__(
        self,
        *,
        nodes: int = 3,
        node_cpu: str = "4",
        node_memory: str = "16Gi",
        controllers: bool = True,
        workdir: Path | None = None,
        detach: bool = False,
        allow_host_network: bool = False,
        ready_timeout: float = 120.0,
        keep_workdir: bool = False,
    ) -> None:
        if nodes < 0:
            raise ValueError(f"nodes must be >= 0, got {nodes}")
        if nodes and not controllers:
            raise ValueError("fake nodes need the controllers: without a scheduler no Pod reaches them")
        self.node_pool = fake_nodes.NodePool(count=nodes, cpu=node_cpu, memory=node_memory)
        self.controllers = controllers
        self.detach = detach
        self.allow_host_network = allow_host_network
        self.ready_timeout = ready_timeout
        self.keep_workdir = keep_workdir
        self._requested_workdir = workdir
        self._layout: components.Layout | None = None
        self._processes: list[processes.Process] = []
        self._client: Client | None = None
        self._previous_sigterm: Any = None
        self.started_at: float | None = None
        """Wall-clock time (epoch seconds) when :meth:`start` began; None before that."""
        self.startup_seconds: float | None = None
        """Seconds from :meth:`start` until the cluster was healthy; None before that."""
        self.phase_seconds: dict[str, float] = {}
        """Seconds spent in each start-up phase, in order."""

    # -- what callers read -------------------------------------------------------------------------

    @property
    def layout(self) -> components.Layout:
        """Paths and ports of the running cluster."""
        if self._layout is None:
            raise RuntimeError("the cluster is not started")
        return self._layout

    @property
    def workdir(self) -> Path:
        """Directory with data, credentials and one log per component."""
        return self.layout.workdir

    @property
    def kubeconfig(self) -> Path:
        """Admin kubeconfig (``system:masters``) for this cluster."""
        return self.layout.kubeconfig

    @property
    def server(self) -> str:
        """The API server URL."""
        return self.layout.server

    @property
    def pids(self) -> dict[str, int]:
        """Process (and process-group) id of each started component."""
        return {process.name: process.pid for process in self._processes}

    @property
    def logs(self) -> dict[str, Path]:
        """Log file of each started component."""
        return {process.name: process.log for process in self._processes}

    def client(self) -> Client:
        """A new lightkube client for this cluster; the caller closes it."""
        config = KubeConfig.from_file(self.kubeconfig)
        return Client(config, trust_env=False, field_manager=FIELD_MANAGER)

    def state(self) -> ClusterState:
        """What ``dev-cluster status`` and ``down`` need to find this cluster later."""
        return ClusterState(
            workdir=str(self.workdir),
            kubeconfig=str(self.kubeconfig),
            server=self.server,
            netns=netns.current_netns(),
            pids=self.pids,
            executables={p.name: p.executable for p in self._processes},
            started_at=self.started_at or 0.0,
            startup_seconds=self.startup_seconds or 0.0,
            nodes=self.node_pool.names(),
        )

    # -- life cycle --------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, progress: ProgressCallback = _no_progress) -> Self:
        """Start every component and return once the cluster is healthy (or raise, leaving nothing)."""
        if self._layout is not None:
            raise RuntimeError("the cluster is already started")
        begin = time.monotonic()
        self.started_at = time.time()
        try:
            self._guard_signals()
            binaries = self._resolve_binaries()
            with self._phase("pki", "credentials and kubeconfig", progress):
                self._layout = self._prepare()
            self._start_core(binaries, progress)
            self._start_workers(binaries, progress)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - begin
        if self.detach:
            # From here on the processes are meant to outlive us; our handler has nothing left to do.
            self._release_signals()
        return self

    def stop(self) -> None:
        """End every process group, then remove the work directory; safe to call more than once."""
        if self._client is not None:
            self._client.close()
            self._client = None
        # Stop in reverse start order so no component logs a storm of errors about a missing server.
        processes.stop_processes(list(reversed(self._processes)))
        self._processes = []
        if self._layout is not None and not self.keep_workdir:
            shutil.rmtree(self._layout.workdir, ignore_errors=True)
        self._layout = None
        self._release_signals()

    # -- faults: a core component killed and revived mid-run ------------------------------------------

    def kill(self, name: str) -> None:
        """SIGKILL one component (``etcd``, ``kube-apiserver``), as a crash would; :meth:`revive` it."""
        process = next((p for p in self._processes if p.name == name), None)
        if process is None:
            raise ValueError(f"no running component {name!r}; running: {[p.name for p in self._processes]}")
        processes.stop_processes([process], grace=0.0)
        self._processes.remove(process)

    def revive(self, name: str) -> None:
        """Start a killed core component again on its old port and wait until it is healthy (blocking;
        from async code run it in a thread)."""
        if any(p.name == name for p in self._processes):
            raise ValueError(f"{name} is running")
        layout = self.layout
        binary = tools.find_tool(name)
        if name == "etcd":
            started = self._spawn("etcd", components.etcd_args(binary, layout))
            processes.wait_until(
                "etcd /health",
                lambda: processes.http_get(layout.ports.etcd_client, "/health")[0] == 200,
                timeout=self.ready_timeout,
                watched=[started],
            )
        elif name == "kube-apiserver":
            started = self._spawn("kube-apiserver", components.apiserver_args(binary, layout))
            processes.wait_until(
                "kube-apiserver /readyz",
                functools.partial(
                    processes.https_ok, layout.ports.apiserver, "/readyz", admin_tls(layout.pki)
                ),
                timeout=self.ready_timeout,
                watched=[started],
            )
        else:
            raise ValueError(f"only etcd and kube-apiserver can be revived, not {name!r}")

    # -- start-up phases ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _phase(self, name: str, description: str, progress: ProgressCallback) -> Iterator[None]:
        progress(description)
        begin = time.monotonic()
        yield
        self.phase_seconds[name] = time.monotonic() - begin

    def _resolve_binaries(self) -> dict[str, Path]:
        # Every binary first: a missing kwok should fail before etcd has been started for nothing.
        names = ["etcd", "kube-apiserver"]
        if self.controllers:
            names += ["kube-controller-manager", "kube-scheduler"]
        if self.node_pool.count:
            names.append("kwok")
            tools.kwok_stage_files()
        return {name: tools.find_tool(name) for name in names}

    def _prepare(self) -> components.Layout:
        netns.ensure_private_netns(allow_host_network=self.allow_host_network)
        if self._requested_workdir is None:
            workdir = Path(tempfile.mkdtemp(prefix="kyma-istio-cluster-"))
        else:
            workdir = self._requested_workdir
            workdir.mkdir(parents=True, exist_ok=True)
        files = pki.write_pki(pki.generate_pki(service_ip=components.SERVICE_IP), workdir / "pki")
        ports = components.Ports(*(processes.free_port() for _ in range(5)))
        layout = components.Layout(workdir=workdir, pki=files, kubeconfig=workdir / "kubeconfig", ports=ports)
        write_kubeconfig(layout.kubeconfig, server=layout.server, files=files)
        return layout

    def _spawn(self, name: str, argv: list[str]) -> processes.Process:
        process = processes.spawn(name, argv, log_dir=self.layout.workdir, detach=self.detach)
        self._processes.append(process)
        return process

    def _start_core(self, binaries: dict[str, Path], progress: ProgressCallback) -> None:
        layout = self.layout
        with self._phase("etcd", "etcd", progress):
            etcd = self._spawn("etcd", components.etcd_args(binaries["etcd"], layout))
            processes.wait_until(
                "etcd /health",
                lambda: processes.http_get(layout.ports.etcd_client, "/health")[0] == 200,
                timeout=self.ready_timeout,
                watched=[etcd],
            )
        with self._phase("apiserver", "kube-apiserver", progress):
            apiserver = self._spawn(
                "kube-apiserver", components.apiserver_args(binaries["kube-apiserver"], layout)
            )
            context = admin_tls(self.layout.pki)
            processes.wait_until(
                "kube-apiserver /readyz",
                functools.partial(processes.https_ok, layout.ports.apiserver, "/readyz", context),
                timeout=self.ready_timeout,
                watched=[etcd, apiserver],
            )
        self._client = self.client()

    def _start_workers(self, binaries: dict[str, Path], progress: ProgressCallback) -> None:
        if not self.controllers:
            return
        layout = self.layout
        with self._phase("controllers", "controller-manager, scheduler and kwok", progress):
            self._spawn(
                "kube-controller-manager",
                components.controller_manager_args(binaries["kube-controller-manager"], layout),
            )
            self._spawn("kube-scheduler", components.scheduler_args(binaries["kube-scheduler"], layout))
            if self.node_pool.count:
                stages = tools.kwok_stage_files()
                self._spawn("kwok", components.kwok_args(binaries["kwok"], layout, stages))
                assert self._client is not None
                fake_nodes.create_nodes(self._client, self.node_pool)
            context = admin_tls(self.layout.pki)
            for name, port in (
                ("kube-controller-manager", layout.ports.controller_manager),
                ("kube-scheduler", layout.ports.scheduler),
            ):
                self._wait_for(
                    f"{name} /healthz", functools.partial(processes.https_ok, port, "/healthz", context)
                )
            self._wait_for(
                "the default ServiceAccount (made by the controller-manager)", self._has_default_sa
            )
        if self.node_pool.count:
            with self._phase("nodes", f"{self.node_pool.count} fake nodes Ready", progress):
                wanted = set(self.node_pool.names())
                assert self._client is not None
                client = self._client
                self._wait_for(
                    f"nodes {sorted(wanted)} Ready", lambda: wanted <= fake_nodes.ready_node_names(client)
                )

    def _wait_for(self, what: str, check: Callable[[], bool]) -> None:
        processes.wait_until(what, check, timeout=self.ready_timeout, watched=self._processes, interval=0.1)

    def _has_default_sa(self) -> bool:
        assert self._client is not None
        try:
            self._client.get(ServiceAccount, "default", namespace="default")
        except ApiError as error:
            if error.status.code == 404:
                return False
            raise
        return True

    # -- signals -----------------------------------------------------------------------------------

    def _guard_signals(self) -> None:
        # An attached cluster must not outlive a SIGTERM, nor a detached one a SIGTERM during start-up.
        # Turning SIGTERM into KeyboardInterrupt gives it the Ctrl-C path: context managers and
        # pytest's fixture teardown run. Signal handlers can only be set from the main thread.
        if threading.current_thread() is not threading.main_thread():
            return
        self._previous_sigterm = signal.signal(signal.SIGTERM, _raise_interrupt)
        atexit.register(self.stop)

    def _release_signals(self) -> None:
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None
            atexit.unregister(self.stop)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")

"""The real istiod of the local cluster: Istio's ``pilot-discovery`` as a host process behind the ``istiod``
Service, so Istio's own sidecar injector and config validation answer the API server.

On the local cluster istiod's Pod is only played by kwok. ``Istiod`` follows what ``istioctl install``
leaves in ``istio-system`` and runs a pilot-discovery binary in its place: the one of the installed
release when the tool directory has it (``pilot-discovery-1.29.1`` for the ``discovery`` image
``.../pilot:1.29.1-distroless``, built by ``testenv/build istio-1.29``), else ``pilot-discovery``
(the default line's, which ``testenv/build`` links under the plain name):

* the Service's ClusterIP is added to ``lo`` in the private network namespace (never on a host: it
  refuses outside one) and every istiod listener binds to it, the webhook on 443 where the API server
  dials it;
* its serving certificate, for the Service's DNS names, is issued by the cluster's CA; istiod itself
  patches that CA into its webhooks' ``caBundle`` and turns the validating webhook to ``Fail`` once it
  has checked that it answers, as in a real cluster;
* it reads the cluster through the admin kubeconfig and takes the literal env of the installed
  ``discovery`` container, so it injects with the templates and mesh config istioctl installed;
* a background loop restarts it when Istio is installed anew (a new Service or injector ConfigMap), when
  an upgrade in place changes the ``discovery`` image to a release that another binary serves, or when
  the process died, and stops it when Istio is uninstalled.
"""

import base64
import contextlib
import http.client
import logging
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

from lightkube import ApiError, Client
from lightkube.models.core_v1 import Container
from lightkube.resources.admissionregistration_v1 import MutatingWebhookConfiguration
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Service

from kyma_istio.devenv import components, netns, pki, processes, tools
from kyma_istio.devenv.cluster import LocalCluster

INJECTOR_CONFIG_MAP = "istio-sidecar-injector"
"""The injection templates and values istioctl installs; istiod skips injection when it is missing."""

PILOT_DISCOVERY = "pilot-discovery"
"""The fallback binary (the default line's, linked under the plain name); a release line's binary is
``pilot-discovery-<release>``."""

DISCOVERY_CONTAINER = "discovery"
"""istiod's container in the installed Deployment: its image tag names the installed release."""

_RELEASE = re.compile(r"\d+\.\d+\.\d+")

log = logging.getLogger(__name__)

_Kind = TypeVar("_Kind", Service, ConfigMap, Deployment)


def image_release(image: str | None) -> str | None:
    """The Istio release an image tag names: ``docker.io/istio/pilot:1.29.1-distroless`` -> ``1.29.1``;
    ``None`` for no image, no tag (a digest only) or a tag that is no release (``latest``, ``1.29-dev``)."""
    if not image:
        return None
    reference = image.split("@", 1)[0]
    name, _, tag = reference.rpartition(":")
    if not name or "/" in tag:  # no tag; the colon was a registry's port
        return None
    release = tag.removeprefix("v").split("-", 1)[0]
    return release if _RELEASE.fullmatch(release) else None


def pilot_discovery_for(image: str | None, available: Collection[str]) -> str:
    """The binary to serve an istiod of ``image``: ``pilot-discovery-<release>`` when ``available`` (the
    tool directory's names) has it, else the fallback ``pilot-discovery``."""
    release = image_release(image)
    wanted = f"{PILOT_DISCOVERY}-{release}" if release else None
    return wanted if wanted is not None and wanted in available else PILOT_DISCOVERY


@dataclass(frozen=True)
class Install:
    """What identifies one installation of Istio and the binary that serves it: a re-install after an
    uninstall changes it, and so does an upgrade in place whose release another binary serves."""

    service_uid: str
    address: str
    injector_uid: str
    binary: str = PILOT_DISCOVERY
    """The pilot-discovery binary (a name in the tool directory) chosen for the installed image."""
    image: str | None = field(default=None, compare=False)
    """The installed ``discovery`` image; a change that keeps the binary restarts nothing."""


class Istiod:
    """Runs pilot-discovery for whatever Istio is installed on the local cluster; a context manager."""

    def __init__(
        self,
        cluster: LocalCluster,
        *,
        namespace: str = "istio-system",
        service: str = "istiod",
        ready_timeout: float = 120.0,
    ) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.service = service
        self.ready_timeout = ready_timeout
        self.last_error: Exception | None = None
        """The latest error of the background loop (it keeps retrying), for debugging."""
        self.starts = 0
        """How many times pilot-discovery was started."""
        self.startup_seconds: list[float] = []
        """Seconds from spawning pilot-discovery until it was ready, one entry per start."""
        self.binary: Path | None = None
        """The pilot-discovery binary of the latest start (``pilot-discovery-<release>`` or the fallback)."""
        self._fallback = tools.find_tool(PILOT_DISCOVERY)
        self._ca = pki.read_ca(cluster.layout.pki)
        self._directory = cluster.workdir / "istiod"
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: Client | None = None
        self._process: processes.Process | None = None
        self._install: Install | None = None
        self._addresses: list[str] = []

    @property
    def log(self) -> Path:
        """pilot-discovery's log, all starts appended."""
        return self.cluster.workdir / "istiod.log"

    @property
    def ca_cert(self) -> bytes:
        """The CA (PEM) that issued istiod's serving certificate: the caBundle its webhooks end up with."""
        return self._ca.cert

    @property
    def running(self) -> bool:
        """True while a started pilot-discovery is alive."""
        return self._process is not None and self._process.popen.poll() is None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> Self:
        """Sync once (so an installed Istio is served at once) and keep following in the background."""
        netns.ensure_private_netns(allow_host_network=False)
        if shutil.which("ip") is None:
            raise RuntimeError("Istiod needs the `ip` command (iproute2) to give lo the Service's IP")
        try:
            self._client = self.cluster.client()
            self._directory.mkdir(exist_ok=True)
            self._stopping.clear()
            self.sync()
            self._thread = threading.Thread(target=self._follow, name="istiod-follower", daemon=True)
            self._thread.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop following, end pilot-discovery and take the Service IPs off ``lo`` again."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        with self._lock:
            self._end_process()
            for address in self._addresses:
                subprocess.run(
                    ["ip", "addr", "del", f"{address}/32", "dev", "lo"], check=False, capture_output=True
                )
            self._addresses = []
            if self._client is not None:
                self._client.close()
                self._client = None

    def sync(self) -> None:
        """One round: (re)start pilot-discovery for the installed Istio, or end it when there is none."""
        with self._lock:
            install = self._installed()
            if install is None:
                self._end_process()
            elif install != self._install or not self.running:
                if self._process is not None and not self.running:
                    self.last_error = RuntimeError(
                        f"pilot-discovery exited with code {self._process.popen.returncode}; "
                        f"last lines of {self.log}:\n{processes.log_tail(self.log)}"
                    )
                self._end_process()
                self._launch(install)

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until pilot-discovery serves the Istio installed now; on time-out raise ``StartupError``
        with the follower's last error and the tail of istiod's log."""
        try:
            processes.wait_until(
                "istiod serving the installed Istio",
                lambda: self.running and self._install is not None and self._install == self._installed(),
                timeout=self.ready_timeout if timeout is None else timeout,
                interval=0.1,
            )
        except processes.StartupError as error:
            raise processes.StartupError(
                f"{error}; last error: {self.last_error}; last lines of {self.log}:\n"
                f"{processes.log_tail(self.log)}"
            ) from error

    # -- internals ---------------------------------------------------------------------------------

    def _follow(self) -> None:
        while not self._stopping.wait(0.5):
            try:
                self.sync()
            except Exception as error:  # keep following, like a controller; keep the error
                self.last_error = error

    def _installed(self) -> Install | None:
        service = self._get(Service, self.service)
        injector = self._get(ConfigMap, INJECTOR_CONFIG_MAP)
        if service is None or injector is None or service.metadata is None or injector.metadata is None:
            return None
        address = service.spec.clusterIP if service.spec else None
        if not address or address == "None":
            return None
        image = _discovery_image(self._get(Deployment, self.service))
        return Install(
            service_uid=service.metadata.uid or "",
            address=address,
            injector_uid=injector.metadata.uid or "",
            binary=pilot_discovery_for(image, _pilot_discoveries(self._fallback.parent)),
            image=image,
        )

    def _launch(self, install: Install) -> None:
        self._take_address(install.address)
        files = self._write_files()
        deployment = self._get(Deployment, self.service)
        binary = self._fallback.parent / install.binary
        self.binary = binary
        message = _choice_message(install, binary.parent)
        log.info("istiod: %s", message)
        with self.log.open("a") as sink:  # the same line in istiod.log, before this start's output
            sink.write(f"kyma-istio: {message}\n")
        argv = components.istiod_args(binary, address=install.address, files=files)
        environment = components.istiod_environment(
            _discovery_env(deployment),
            namespace=self.namespace,
            pod_name=f"{self.service}-local",
            service_account=self.service,
            kubeconfig=files.kubeconfig,
        )
        began = time.monotonic()
        self._process = processes.spawn(
            "istiod", argv, log_dir=self.cluster.workdir, detach=False, env=environment, cwd=self._directory
        )
        self.starts += 1
        processes.wait_until(
            "istiod /ready and the injector webhook trusting its CA",
            lambda: self._stopping.is_set() or (_ready(install.address) and self._injector_trusts_ca()),
            timeout=self.ready_timeout,
            watched=[self._process],
            interval=0.1,
        )
        if not self._stopping.is_set():
            self.startup_seconds.append(time.monotonic() - began)
            self._install = install

    def _end_process(self) -> None:
        if self._process is not None:
            processes.stop_processes([self._process])
            self._process = None
        self._install = None

    def _write_files(self) -> components.IstiodFiles:
        host = f"{self.service}.{self.namespace}.svc"
        issued = pki.issue_serving_cert(self._ca, [host, f"{host}.cluster.local"])
        files = components.IstiodFiles(
            kubeconfig=self.cluster.kubeconfig,
            tls_cert=self._directory / "tls.crt",
            tls_key=self._directory / "tls.key",
            ca_cert=self._directory / "ca.crt",
        )
        for path, data in (
            (files.tls_cert, issued.cert),
            (files.tls_key, issued.key),
            (files.ca_cert, self._ca.cert),
        ):
            path.touch(mode=0o600)
            path.write_bytes(data)
        return files

    def _get(self, kind: type[_Kind], name: str) -> _Kind | None:
        assert self._client is not None
        try:
            return self._client.get(kind, name, namespace=self.namespace)
        except ApiError as error:
            if error.status.code == 404:
                return None
            raise

    def _take_address(self, address: str) -> None:
        if address in self._addresses:
            return
        subprocess.run(["ip", "addr", "add", f"{address}/32", "dev", "lo"], check=True, capture_output=True)
        self._addresses.append(address)

    def _injector_trusts_ca(self) -> bool:
        # istiod patches the caBundle itself (INJECTION_WEBHOOK_CONFIG_NAME); until it has, the API server
        # cannot verify the webhook and every injected Pod would be refused.
        assert self._client is not None
        bundle = base64.b64encode(self.ca_cert).decode()
        hooks = [
            hook
            for configuration in self._client.list(MutatingWebhookConfiguration)
            for hook in configuration.webhooks or []
            if hook.clientConfig.service is not None
            and (hook.clientConfig.service.namespace, hook.clientConfig.service.name)
            == (self.namespace, self.service)
        ]
        return bool(hooks) and all(hook.clientConfig.caBundle == bundle for hook in hooks)


def _choice_message(install: Install, directory: Path) -> str:
    release = image_release(install.image)
    if install.binary != PILOT_DISCOVERY:
        return f"running {install.binary} for the installed image {install.image}"
    if release is None:
        return f"running the fallback {PILOT_DISCOVERY} for the installed image {install.image}"
    return (
        f"running the fallback {PILOT_DISCOVERY} (the default line's) for the installed image "
        f"{install.image}: no {PILOT_DISCOVERY}-{release} in {directory} "
        f"(testenv/build istio-{release.rpartition('.')[0]} builds it)"
    )


def _discovery_container(deployment: Deployment | None) -> Container | None:
    spec = deployment.spec.template.spec if deployment and deployment.spec else None
    containers = spec.containers if spec else []
    return next((c for c in containers if c.name == DISCOVERY_CONTAINER), None)


def _discovery_env(deployment: Deployment | None) -> list[dict[str, object]]:
    discovery = _discovery_container(deployment)
    return [item.to_dict() for item in (discovery.env or [])] if discovery else []


def _discovery_image(deployment: Deployment | None) -> str | None:
    discovery = _discovery_container(deployment)
    return discovery.image if discovery else None


def _pilot_discoveries(directory: Path) -> frozenset[str]:
    """The names of the executable pilot-discovery binaries in the tool directory."""
    return frozenset(
        path.name
        for path in directory.glob(f"{PILOT_DISCOVERY}*")
        if path.is_file() and os.access(path, os.X_OK)
    )


def _ready(address: str) -> bool:
    connection = http.client.HTTPConnection(address, components.ISTIOD_HTTP_PORT, timeout=2)
    try:
        connection.request("GET", "/ready")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        with contextlib.suppress(OSError):
            connection.close()

"""A stand-in for the webhook half of istiod, so Pods can be created in injection-enabled namespaces.

On the local cluster istiod's Pod is only played by kwok, so its sidecar-injector webhook (``failurePolicy:
Fail``) refuses every Pod in a namespace with ``istio-injection=enabled``: the API server cannot reach the
``istiod`` Service. ``FakeIstiod`` makes that Service answer, the way istiod itself would:

* the Service's ClusterIP is added to ``lo`` in the private network namespace (never on a host: it
  refuses outside one), and an HTTPS server listens on port 443 there;
* its certificate is issued by the cluster's CA, and the CA is patched into the ``caBundle`` of every
  webhook that points at the Service, as istiod's webhook controller does; a background loop repeats this
  (and follows a new ClusterIP) after istioctl re-applies the webhooks;
* it answers injection requests with :mod:`kyma_istio.devenv.injection`.

Validation webhooks are left alone: they fail open (``Ignore``) and fail fast in the namespace.
"""

import base64
import contextlib
import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from lightkube import ApiError, Client
from lightkube.resources.admissionregistration_v1 import MutatingWebhookConfiguration
from lightkube.resources.core_v1 import ConfigMap, Service

from kyma_istio.devenv import injection, netns, pki
from kyma_istio.devenv.cluster import LocalCluster

WEBHOOK_PORT = 443

_Kind = TypeVar("_Kind", Service, ConfigMap)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy_image = ""
    proxy_resources: dict[str, Any] = {}  # noqa: RUF012 - replaced whole, never mutated
    injected = 0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        review = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        answer = injection.review_response(review, self.server.proxy_image, self.server.proxy_resources)
        if "patch" in answer["response"]:
            self.server.injected += 1
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the API server's calls are visible in its own log."""


class FakeIstiod:
    """Answers istiod's sidecar-injection webhook on the local cluster; a context manager."""

    def __init__(
        self, cluster: LocalCluster, *, namespace: str = "istio-system", service: str = "istiod"
    ) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.service = service
        self.last_error: Exception | None = None
        """The latest error of the background loop (it keeps retrying), for debugging."""
        self._ca = pki.read_ca(cluster.layout.pki)
        self._addresses: list[str] = []
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: _Server | None = None
        self._injected_before = 0
        self._client: Client | None = None

    @property
    def injected(self) -> int:
        """How many Pods got a sidecar so far."""
        return self._injected_before + (self._server.injected if self._server else 0)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> Self:
        """Serve, then sync once (so an installed Istio works at once) and keep syncing in the background."""
        netns.ensure_private_netns(allow_host_network=False)
        if shutil.which("ip") is None:
            raise RuntimeError("FakeIstiod needs the `ip` command (iproute2) to give lo the Service's IP")
        try:
            self._client = self.cluster.client()
            self._server = self._serve()
            self._spawn(self._server.serve_forever)
            self.sync()
            self._spawn(self._sync_loop)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop serving and syncing, and take the Service IPs off ``lo`` again."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._injected_before += self._server.injected
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        self._server = None
        for address in self._addresses:
            subprocess.run(
                ["ip", "addr", "del", f"{address}/32", "dev", "lo"], check=False, capture_output=True
            )
        self._addresses = []
        if self._client is not None:
            self._client.close()
            self._client = None

    def sync(self) -> None:
        """One round of what istiod keeps doing: be reachable at the Service IP, own the caBundles."""
        assert self._server is not None
        with contextlib.suppress(_NotInstalled):
            service = self._get(Service, self.service)
            self._take_service_address(service.spec.clusterIP if service.spec else None)
            injector = self._get(ConfigMap, "istio-sidecar-injector")
            values = json.loads((injector.data or {})["values"])
            self._server.proxy_image = injection.proxy_image(values)
            self._server.proxy_resources = injection.proxy_resources(values)
            self._patch_ca_bundles()

    # -- internals ---------------------------------------------------------------------------------

    def _serve(self) -> _Server:
        directory = self.cluster.workdir / "fake-istiod"
        directory.mkdir(exist_ok=True)
        host = f"{self.service}.{self.namespace}.svc"
        issued = pki.issue_serving_cert(self._ca, [host, f"{host}.cluster.local"])
        cert, key = directory / "tls.crt", directory / "tls.key"
        for path, data in ((cert, issued.cert), (key, issued.key)):
            path.touch(mode=0o600)
            path.write_bytes(data)
        server = _Server(("0.0.0.0", WEBHOOK_PORT), _Handler)  # only lo exists in this namespace
        context = _server_tls(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        return server

    def _spawn(self, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=f"fake-istiod-{len(self._threads)}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _sync_loop(self) -> None:
        while not self._stopping.wait(0.2):
            try:
                self.sync()
            except Exception as error:  # keep syncing, like istiod; keep the error
                self.last_error = error

    def _get(self, kind: type[_Kind], name: str) -> _Kind:
        assert self._client is not None
        try:
            return self._client.get(kind, name, namespace=self.namespace)
        except ApiError as error:
            if error.status.code == 404:
                raise _NotInstalled from error
            raise

    def _take_service_address(self, address: str | None) -> None:
        if not address or address in self._addresses:
            return
        subprocess.run(["ip", "addr", "add", f"{address}/32", "dev", "lo"], check=True, capture_output=True)
        self._addresses.append(address)

    def _patch_ca_bundles(self) -> None:
        assert self._client is not None
        bundle = base64.b64encode(self._ca.cert).decode()
        for configuration in self._client.list(MutatingWebhookConfiguration):
            stale = [
                hook.name
                for hook in configuration.webhooks or []
                if hook.clientConfig.service is not None
                and (hook.clientConfig.service.namespace, hook.clientConfig.service.name)
                == (self.namespace, self.service)
                and hook.clientConfig.caBundle != bundle
            ]
            if stale and configuration.metadata and configuration.metadata.name:
                patch = {"webhooks": [{"name": name, "clientConfig": {"caBundle": bundle}} for name in stale]}
                self._client.patch(MutatingWebhookConfiguration, configuration.metadata.name, patch)


class _NotInstalled(Exception):
    """Istio (or the part of it we look at) is not installed yet; try again later."""


def _server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context

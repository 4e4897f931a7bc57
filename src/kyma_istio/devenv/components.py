"""Command lines of the control plane's components, as pure functions of where things are.

The flag sets follow what envtest and kwokctl's binary runtime pass, narrowed to one loopback host: every
port is chosen free at start (so clusters can run side by side), leader election is off (one replica
each), and request throttling is off (tests and benchmarks should measure our code, not API fairness).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kyma_istio.devenv.pki import PkiFiles

SERVICE_CIDR = "10.96.0.0/16"
"""Service ClusterIPs; routed nowhere inside the private network namespace."""

SERVICE_IP = "10.96.0.1"
"""The ``kubernetes`` Service's address: the first of the range, also in the serving cert."""

POD_CIDR = "10.244.0.0/16"
"""Fake pod IPs that kwok hands out."""


@dataclass(frozen=True)
class Ports:
    """Loopback ports of one cluster."""

    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int


@dataclass(frozen=True)
class Layout:
    """Where one cluster keeps its data, credentials and endpoints."""

    workdir: Path
    pki: PkiFiles
    kubeconfig: Path
    ports: Ports

    @property
    def server(self) -> str:
        """The API server URL that clients use."""
        return f"https://127.0.0.1:{self.ports.apiserver}"


def etcd_args(binary: Path, layout: Layout) -> list[str]:
    """etcd on loopback without fsync: the data is thrown away with the cluster anyway."""
    client = f"http://127.0.0.1:{layout.ports.etcd_client}"
    peer = f"http://127.0.0.1:{layout.ports.etcd_peer}"
    return [
        str(binary),
        "--name=node0",
        f"--data-dir={layout.workdir / 'etcd'}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=node0={peer}",
        "--unsafe-no-fsync=true",
        "--auto-compaction-mode=periodic",
        "--auto-compaction-retention=5m",
        "--log-level=warn",
    ]


def apiserver_args(binary: Path, layout: Layout) -> list[str]:
    """kube-apiserver serving the admin CA's clients on loopback."""
    pki = layout.pki
    return [
        str(binary),
        f"--etcd-servers=http://127.0.0.1:{layout.ports.etcd_client}",
        "--bind-address=127.0.0.1",
        # Without a default route the apiserver cannot guess an address to advertise.
        "--advertise-address=127.0.0.1",
        f"--secure-port={layout.ports.apiserver}",
        f"--cert-dir={layout.workdir / 'apiserver-certs'}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--client-ca-file={pki.ca_cert}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki.sa_public}",
        f"--service-account-signing-key-file={pki.sa_private}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--authorization-mode=Node,RBAC",
        "--allow-privileged=true",
        # Nothing would answer at the advertised address; keep the kubernetes Service without endpoints.
        "--endpoint-reconciler-type=none",
        "--max-requests-inflight=0",
        "--max-mutating-requests-inflight=0",
        "--enable-priority-and-fairness=false",
        "--profiling=false",
    ]


def _component_serving(layout: Layout, port: int) -> list[str]:
    # The shared loopback serving cert lets health probes verify TLS against our CA.
    return [
        f"--kubeconfig={layout.kubeconfig}",
        f"--authentication-kubeconfig={layout.kubeconfig}",
        f"--authorization-kubeconfig={layout.kubeconfig}",
        # Our CA directly, instead of looking up front-proxy settings this API server does not have.
        "--authentication-skip-lookup=true",
        f"--client-ca-file={layout.pki.ca_cert}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        f"--tls-cert-file={layout.pki.serving_cert}",
        f"--tls-private-key-file={layout.pki.serving_key}",
        "--leader-elect=false",
        "--profiling=false",
    ]


def controller_manager_args(binary: Path, layout: Layout) -> list[str]:
    """kube-controller-manager: Deployments, ReplicaSets, namespaces, service accounts, node lifecycle."""
    pki = layout.pki
    return [
        str(binary),
        *_component_serving(layout, layout.ports.controller_manager),
        f"--root-ca-file={pki.ca_cert}",
        f"--service-account-private-key-file={pki.sa_private}",
        f"--cluster-signing-cert-file={pki.ca_cert}",
        f"--cluster-signing-key-file={pki.ca_key}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--kube-api-qps=1000",
        "--kube-api-burst=2000",
    ]


def scheduler_args(binary: Path, layout: Layout) -> list[str]:
    """kube-scheduler, so Pods land on the fake nodes the way they would on real ones.

    The default client rate (50 QPS) would bind at most 50 Pods a second, which is what limits a
    benchmark creating thousands of Pods; the controller-manager gets the same raised limits.
    """
    return [
        str(binary),
        *_component_serving(layout, layout.ports.scheduler),
        "--kube-api-qps=1000",
        "--kube-api-burst=2000",
    ]


def kwok_args(binary: Path, layout: Layout, stages: list[Path]) -> list[str]:
    """kwok playing the kubelets of the nodes annotated as fake; it serves no port of its own."""
    return [
        str(binary),
        f"--kubeconfig={layout.kubeconfig}",
        "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
        f"--config={','.join(str(stage) for stage in stages)}",
        "--node-lease-duration-seconds=40",
        f"--cidr={POD_CIDR}",
        "--node-ip=10.240.0.1",
    ]


@dataclass(frozen=True)
class IstiodFiles:
    """What the host istiod reads: the cluster's kubeconfig and its serving certificate for the Service."""

    kubeconfig: Path
    tls_cert: Path
    tls_key: Path
    ca_cert: Path


ISTIOD_WEBHOOK_PORT = 443
"""The ``istiod`` Service's webhook port: the API server dials ClusterIP:443, so istiod listens there."""

ISTIOD_HTTP_PORT = 18080
"""istiod's plain HTTP port (``/ready``, debug), bound to the Service address only. Not Istio's 8080: the
operator and istiod share one network namespace here, and the Kyma manager's own arguments bind the
operator's metrics to ``:8080`` on every address, which istiod's socket on the same port would refuse."""


def istiod_args(
    binary: Path, *, address: str, files: IstiodFiles, domain: str = "cluster.local"
) -> list[str]:
    """pilot-discovery as the ``istiod`` Service: every listener on the Service's ClusterIP at the port
    the Service (or, for 443, the API server) uses, so the same ports work as in the cluster.

    The mesh config and injection templates have no file here, so istiod watches the ``istio`` and
    ``istio-sidecar-injector`` ConfigMaps that ``istioctl install`` wrote, as an external istiod does.
    """
    return [
        str(binary),
        "discovery",
        f"--kubeconfig={files.kubeconfig}",
        f"--httpsAddr={address}:{ISTIOD_WEBHOOK_PORT}",
        f"--httpAddr={address}:{ISTIOD_HTTP_PORT}",
        f"--grpcAddr={address}:15010",
        f"--secureGRPCAddr={address}:15012",
        f"--monitoringAddr={address}:15014",
        # The serving certificate from the cluster's CA; istiod patches this CA into its webhooks.
        f"--tlsCertFile={files.tls_cert}",
        f"--tlsKeyFile={files.tls_key}",
        f"--caCertFile={files.ca_cert}",
        f"--domain={domain}",
        "--ctrlz_port=0",
        "--profile=false",
    ]


def istiod_environment(
    installed: Sequence[Mapping[str, Any]],
    *,
    namespace: str,
    pod_name: str,
    service_account: str,
    kubeconfig: Path,
) -> dict[str, str]:
    """istiod's environment: the literal ``env`` of the installed ``discovery`` container (revision,
    cert provider, the CR's feature flags), with what a Pod would fill in (downward API) given here,
    and the kubeconfig pointing at this cluster instead of the Pod's mounted secret."""
    environment = {
        str(item["name"]): str(item["value"])
        for item in installed
        if "value" in item and "valueFrom" not in item
    }
    return environment | {
        "POD_NAME": pod_name,
        "POD_NAMESPACE": namespace,
        "SERVICE_ACCOUNT": service_account,
        "KUBECONFIG": str(kubeconfig),
    }

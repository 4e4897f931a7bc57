"""Component command lines: loopback only, the chosen ports, no leader election, kwok's stages."""

from pathlib import Path

import pytest

from kyma_istio.devenv import components, pki


@pytest.fixture
def layout(tmp_path: Path) -> components.Layout:
    return components.Layout(
        workdir=tmp_path,
        pki=pki.pki_files(tmp_path / "pki"),
        kubeconfig=tmp_path / "kubeconfig",
        ports=components.Ports(
            etcd_client=2001, etcd_peer=2002, apiserver=2003, controller_manager=2004, scheduler=2005
        ),
    )


def _flags(argv: list[str]) -> dict[str, str]:
    return dict(arg.removeprefix("--").split("=", 1) for arg in argv[1:])


def test_etcd_listens_on_loopback_without_fsync(layout: components.Layout) -> None:
    flags = _flags(components.etcd_args(Path("/bin/etcd"), layout))

    assert flags["listen-client-urls"] == "http://127.0.0.1:2001"
    assert flags["listen-peer-urls"] == "http://127.0.0.1:2002"
    assert flags["unsafe-no-fsync"] == "true"


def test_the_apiserver_serves_loopback_with_rbac_and_no_throttling(layout: components.Layout) -> None:
    flags = _flags(components.apiserver_args(Path("/bin/kube-apiserver"), layout))

    assert flags["etcd-servers"] == "http://127.0.0.1:2001"
    assert (flags["bind-address"], flags["secure-port"]) == ("127.0.0.1", "2003")
    assert flags["service-cluster-ip-range"] == components.SERVICE_CIDR
    assert "RBAC" in flags["authorization-mode"].split(",")
    assert flags["allow-privileged"] == "true"
    assert flags["endpoint-reconciler-type"] == "none"
    assert flags["max-requests-inflight"] == flags["max-mutating-requests-inflight"] == "0"
    assert flags["enable-priority-and-fairness"] == "false"


def test_controllers_run_without_leader_election_on_their_own_ports(layout: components.Layout) -> None:
    manager = _flags(components.controller_manager_args(Path("/bin/kcm"), layout))
    scheduler = _flags(components.scheduler_args(Path("/bin/sched"), layout))

    assert manager["leader-elect"] == scheduler["leader-elect"] == "false"
    assert (manager["secure-port"], scheduler["secure-port"]) == ("2004", "2005")
    assert manager["bind-address"] == scheduler["bind-address"] == "127.0.0.1"
    assert manager["service-account-private-key-file"] == str(layout.pki.sa_private)


def test_kwok_gets_every_stage_file_and_manages_only_fake_nodes(layout: components.Layout) -> None:
    stages = [Path("/s/node-initialize.yaml"), Path("/s/pod-ready.yaml")]

    flags = _flags(components.kwok_args(Path("/bin/kwok"), layout, stages))

    assert flags["config"] == "/s/node-initialize.yaml,/s/pod-ready.yaml"
    assert flags["manage-nodes-with-annotation-selector"] == "kwok.x-k8s.io/node=fake"
    assert flags["kubeconfig"] == str(layout.kubeconfig)


@pytest.fixture
def istiod_files(tmp_path: Path) -> components.IstiodFiles:
    return components.IstiodFiles(
        kubeconfig=tmp_path / "kubeconfig",
        tls_cert=tmp_path / "tls.crt",
        tls_key=tmp_path / "tls.key",
        ca_cert=tmp_path / "ca.crt",
    )


def test_istiod_listens_only_on_the_service_address_with_the_webhook_on_443(
    istiod_files: components.IstiodFiles,
) -> None:
    argv = components.istiod_args(Path("/bin/pilot-discovery"), address="10.96.0.10", files=istiod_files)
    flags = _flags(argv[1:])

    assert argv[1] == "discovery"
    listeners = {
        flags[name] for name in ("httpsAddr", "httpAddr", "grpcAddr", "secureGRPCAddr", "monitoringAddr")
    }
    assert {address.rsplit(":", 1)[0] for address in listeners} == {"10.96.0.10"}
    assert flags["httpsAddr"] == "10.96.0.10:443"
    assert flags["kubeconfig"] == str(istiod_files.kubeconfig)
    assert (flags["tlsCertFile"], flags["tlsKeyFile"], flags["caCertFile"]) == (
        str(istiod_files.tls_cert),
        str(istiod_files.tls_key),
        str(istiod_files.ca_cert),
    )


def test_istiod_takes_the_installed_literal_env_and_fills_in_the_pod_facts(tmp_path: Path) -> None:
    installed = [
        {"name": "REVISION", "value": "default"},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "KUBECONFIG", "value": "/var/run/secrets/remote/config"},
        {"name": "GOMEMLIMIT", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory"}}},
        {"name": "ENABLE_DELIMITED_STATS_TAG_REGEX", "value": "false"},
    ]

    environment = components.istiod_environment(
        installed,
        namespace="istio-system",
        pod_name="istiod-local",
        service_account="istiod",
        kubeconfig=tmp_path / "kubeconfig",
    )

    assert environment == {
        "REVISION": "default",
        "ENABLE_DELIMITED_STATS_TAG_REGEX": "false",
        "POD_NAME": "istiod-local",
        "POD_NAMESPACE": "istio-system",
        "SERVICE_ACCOUNT": "istiod",
        "KUBECONFIG": str(tmp_path / "kubeconfig"),
    }

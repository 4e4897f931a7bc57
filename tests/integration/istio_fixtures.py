"""Fixtures and helpers shared by the Istio CR integration tests: the CRD, ``kyma-system`` and the
module's PriorityClass in the cluster, a reconciler ``Deps`` wired to the real istioctl, and small
helpers to create and read CRs. Import the fixtures by name into a test module to use them."""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import Client, codecs
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.core_v1 import Namespace, ServiceAccount
from lightkube.resources.rbac_authorization_v1 import ClusterRole, ClusterRoleBinding
from lightkube.resources.scheduling_v1 import PriorityClass
from lightkube.types import PatchType

from kyma_istio.api import names
from kyma_istio.cluster.kinds import resource
from kyma_istio.cluster.kube import Kube
from kyma_istio.devenv import tools
from kyma_istio.installer import istioctl
from kyma_istio.k8s import kinds
from kyma_istio.operator.events import KubeEvents
from kyma_istio.operator.main import IstioctlInstaller
from kyma_istio.reconcile.context import Deps, Settings

REPO = Path(__file__).parents[2]
CRD_FILE = REPO / "deploy" / "crds" / "operator.kyma-project.io_istios.yaml"
NS = names.OPERATOR_NAMESPACE
SERVICE_ACCOUNT = "istio-controller-manager"
"""The chart's ServiceAccount of the operator."""
CHART_FIELD_MANAGER = "kyma-istio-sa-test"


def wait_established(client: Client, crd_name: str, timeout_s: float = 30.0) -> None:
    """Block until the CRD ``crd_name`` is Established."""
    deadline = time.monotonic() + timeout_s
    while True:
        crd = client.get(CustomResourceDefinition, crd_name)
        if any(c.type == "Established" and c.status == "True" for c in (crd.status.conditions or [])):
            return
        assert time.monotonic() < deadline, f"CRD {crd_name} not established"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def crd_and_namespace(client: Client) -> None:
    """The Istio CRD (established), ``kyma-system`` and the istio-kyma-priority PriorityClass."""
    client.apply(codecs.from_dict(yaml.safe_load(CRD_FILE.read_text())), field_manager="tests", force=True)
    wait_established(client, names.CRD_NAME)
    client.apply(Namespace(metadata=ObjectMeta(name=NS)), field_manager="tests")
    # Shipped by the module manifest (deploy/), not by the operator; Istio's pods refer to it.
    client.apply(
        PriorityClass(metadata=ObjectMeta(name=names.PRIORITY_CLASS), value=names.PRIORITY_CLASS_VALUE),
        field_manager="tests",
    )


@pytest.fixture(scope="module")
def chart_in_kyma_system(client: Client, crd_and_namespace: None) -> Iterator[list[dict[str, Any]]]:
    """The chart rendered for kyma-system and applied (its own Deployment runs only as a kwok fake)."""
    rendered = subprocess.run(
        [
            str(tools.find_tool("helm")),
            "template",
            "istio-operator",
            str(REPO / "deploy" / "chart"),
            "-n",
            NS,
            "--kube-version",
            "1.34.2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    docs = [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]
    wait_istio_system_settled(client)
    for doc in docs:
        client.apply(codecs.from_dict(doc), field_manager=CHART_FIELD_MANAGER, force=True)
    yield docs
    for doc in reversed(docs):
        if doc["kind"] in ("ClusterRole", "ClusterRoleBinding"):
            client.delete(
                ClusterRole if doc["kind"] == "ClusterRole" else ClusterRoleBinding, doc["metadata"]["name"]
            )
    remove_istio_system(client)


def service_account_token(
    client: Client, *, seconds: int = 3600, account: str = SERVICE_ACCOUNT, namespace: str = NS
) -> str:
    """A short-lived token of a ServiceAccount, the chart's by default (TokenRequest API), as the kubelet
    mounts one."""
    request = ServiceAccount.Token(
        metadata=ObjectMeta(name=account),
        spec={"audiences": ["https://kubernetes.default.svc.cluster.local"], "expirationSeconds": seconds},
    )
    token: str = client.create(request, account, namespace=namespace).status.token
    return token


@pytest.fixture
def cleanup_crs(client: Client) -> Iterator[None]:
    """Drop the CRs of this module, our finalizer included, whatever a test left behind."""
    yield
    for cr in client.list(resource(kinds.ISTIO), namespace=NS):
        client.patch(
            resource(kinds.ISTIO),
            cr.metadata.name,
            {"metadata": {"finalizers": None}},
            namespace=NS,
            patch_type=PatchType.MERGE,
        )
        client.delete(resource(kinds.ISTIO), cr.metadata.name, namespace=NS)


async def drop_all_crs(kube: Kube) -> None:
    """Remove every Istio CR in kyma-system, finalizers included, so the next test starts from nothing."""
    for cr in await kube.list_all(kinds.ISTIO, namespace=NS):
        name = cr["metadata"]["name"]
        await kube.patch(kinds.ISTIO, name, {"metadata": {"finalizers": None}}, namespace=NS)
        await kube.delete(kinds.ISTIO, name, namespace=NS)


def make_deps(kubeconfig: Path, settings: Settings | None = None) -> Deps:
    """Reconciler dependencies against the cluster with the real istioctl."""
    kube = Kube.connect(kubeconfig)
    settings = settings or Settings(readiness_timeout_s=120, restart_wave_timeout_s=30)
    tool = istioctl.Istioctl(
        istioctl.find_istioctl(line=settings.line),
        kubeconfig=kubeconfig,
        log=logging.getLogger("tests.istioctl"),
    )
    return Deps(
        kube=kube, installer=IstioctlInstaller(tool, settings), events=KubeEvents(kube), settings=settings
    )


@pytest.fixture
async def deps(kubeconfig: Path, crd_and_namespace: None) -> AsyncIterator[Deps]:
    """``make_deps`` for one test; every Istio CR in kyma-system is dropped afterwards."""
    made = make_deps(kubeconfig)
    yield made
    await drop_all_crs(made.kube)
    await made.kube.close()


def token_kubeconfig(client: Client, kubeconfig: Path, account: str, namespace: str, path: Path) -> Path:
    """A kubeconfig at ``path`` that authenticates as the ServiceAccount ``namespace/account`` itself,
    with a short-lived token (TokenRequest), so requests meet exactly that account's RBAC."""
    token = service_account_token(client, account=account, namespace=namespace)
    config = yaml.safe_load(kubeconfig.read_text())
    config["users"] = [{"name": account, "user": {"token": token}}]
    for context in config["contexts"]:
        context["context"]["user"] = account
    path.write_text(yaml.safe_dump(config))
    return path


def istio_cr(name: str, spec: dict[str, Any], *, namespace: str = NS, **meta: Any) -> dict[str, Any]:
    """An Istio CR document."""
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.KIND,
        "metadata": {"name": name, "namespace": namespace, **meta},
        "spec": spec,
    }


async def create_cr(kube: Kube, name: str, spec: dict[str, Any], *, namespace: str = NS, **meta: Any) -> None:
    """Create an Istio CR."""
    await kube.create(kinds.ISTIO, istio_cr(name, spec, namespace=namespace, **meta))


async def get_cr(kube: Kube, name: str = "default", namespace: str = NS) -> dict[str, Any]:
    """The Istio CR, which must exist."""
    cr = await kube.get(kinds.ISTIO, name, namespace)
    assert cr is not None, f"Istio CR {namespace}/{name} is gone"
    return cr


def condition(cr: dict[str, Any], type_: str) -> dict[str, Any]:
    """The status condition of that type."""
    return next(c for c in cr["status"]["conditions"] if c["type"] == type_)


def remove_istio_system(client: Client, timeout_s: float = 180.0) -> None:
    """Delete ``istio-system`` (the chart ships one that an uninstall keeps) and wait until it is gone, so
    the next module starts from a cluster without it."""
    if not [ns for ns in client.list(Namespace) if ns.metadata.name == names.ISTIO_NAMESPACE]:
        return
    client.delete(Namespace, names.ISTIO_NAMESPACE)
    deadline = time.monotonic() + timeout_s
    while [ns for ns in client.list(Namespace) if ns.metadata.name == names.ISTIO_NAMESPACE]:
        assert time.monotonic() < deadline, "istio-system still terminating"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def no_istio_left(kubeconfig: Path, client: Client) -> Iterator[None]:
    """Leave no Istio behind for later modules (they install their own): purge it and istio-system.
    A module that installs Istio uses it by name (``autouse`` through a module-level fixture)."""
    yield
    purged = subprocess.run(
        [str(istioctl.find_istioctl()), "uninstall", "-y", "--purge", "--kubeconfig", str(kubeconfig)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert purged.returncode == 0, purged.stderr
    remove_istio_system(client)


@pytest.fixture
def istio_system_settled(client: Client) -> None:
    """Wait until a previous uninstall's ``istio-system`` has finished terminating (or never was), so an
    install does not fail on "namespace is being terminated"."""
    wait_istio_system_settled(client)


def wait_istio_system_settled(client: Client) -> None:
    """Block until ``istio-system`` is absent or not terminating."""
    deadline = time.monotonic() + 180
    while True:
        found = [ns for ns in client.list(Namespace) if ns.metadata.name == names.ISTIO_NAMESPACE]
        if not found or found[0].metadata.deletionTimestamp is None:
            return
        assert time.monotonic() < deadline, "istio-system still terminating"
        time.sleep(0.2)

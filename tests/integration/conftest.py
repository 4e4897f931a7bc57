"""Fixtures for tests against a real control plane.

One ``LocalCluster`` (etcd, kube-apiserver, controller-manager, scheduler, kwok with three 4-CPU/16Gi
nodes) serves the whole session, because starting it is the slow part, with the real istiod
(``pilot-discovery``) serving Istio's webhooks whenever Istio is installed; every test gets a fresh
namespace, so tests never see each other's objects. Missing tools or a host network make every test
fail with the fix in the message: skipping would let CI go green without testing anything.
"""

import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from lightkube import Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace

from kyma_istio.devenv import netns, tools
from kyma_istio.devenv.cluster import LocalCluster
from kyma_istio.devenv.istiod import Istiod

T = TypeVar("T")

NODE_COUNT = 3
NODE_CPU = "4"
NODE_MEMORY = "16Gi"
TEST_NAMESPACE_LABEL = "kyma-istio.test/integration"


@pytest.fixture(scope="session")
def control_plane() -> Iterator[tuple[LocalCluster, Istiod]]:
    """The session's control plane and the real istiod following its Istio installs; both stopped
    (processes and work directory) after the last test."""
    if not netns.in_private_netns():
        pytest.fail(
            "integration tests run only inside a private network namespace: use `make integration` "
            f"or `{netns.ENTER_HINT.replace('<command>', '.venv/bin/pytest tests/integration')}`",
            pytrace=False,
        )
    try:
        for name in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"):
            tools.find_tool(name)
        tools.kwok_stage_files()
        tools.find_tool("pilot-discovery")
    except tools.MissingToolError as error:
        pytest.fail(str(error), pytrace=False)
    with (
        LocalCluster(nodes=NODE_COUNT, node_cpu=NODE_CPU, node_memory=NODE_MEMORY) as started,
        Istiod(started) as istiod,
    ):
        yield started, istiod


@pytest.fixture(scope="session")
def cluster(control_plane: tuple[LocalCluster, Istiod]) -> LocalCluster:
    """The session's control plane (etcd, kube-apiserver, controllers, scheduler, kwok nodes)."""
    return control_plane[0]


@pytest.fixture(scope="session")
def istiod(control_plane: tuple[LocalCluster, Istiod]) -> Istiod:
    """The real istiod (pilot-discovery), serving Istio's webhooks whenever Istio is installed; it runs
    for every test, so injection and config validation are Istio's own throughout."""
    return control_plane[1]


@pytest.fixture(scope="session")
def kubeconfig(cluster: LocalCluster) -> Path:
    """Admin kubeconfig of the session's cluster."""
    return cluster.kubeconfig


@pytest.fixture(scope="session")
def client(cluster: LocalCluster) -> Iterator[Client]:
    """A lightkube client of the session's cluster, with admin rights."""
    with cluster.client() as session_client:
        yield session_client


def _namespace_name(test_name: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", test_name.lower()).strip("-")[:40].strip("-")
    return f"{slug}-{secrets.token_hex(3)}"


@pytest.fixture
def namespace(client: Client, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace named after the test; deleted afterwards (the controllers finish that later)."""
    name = _namespace_name(request.node.name)
    client.create(Namespace(metadata=ObjectMeta(name=name, labels={TEST_NAMESPACE_LABEL: "true"})))
    yield name
    client.delete(Namespace, name)


@pytest.fixture
def wait_for() -> Callable[..., object]:
    """``wait_for(what, check, timeout=60)``: poll ``check`` until it returns a truthy value, return it."""

    def wait(what: str, check: Callable[[], T | None], timeout: float = 60.0) -> T:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}", pytrace=False)
            time.sleep(0.1)

    return wait


@pytest.fixture(scope="session")
def istioctl_env(kubeconfig: Path) -> dict[str, str]:
    """Environment for running istioctl against the session's cluster (and nothing else)."""
    return {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(kubeconfig.parent)}

"""The newest Istio release line on the local cluster: ``istioctl-1.29.1`` (``testenv/build istio-1.29``)
installs the IstioOperator the operator renders for the default CR (evaluation profile, tag
``1.29.1-distroless``), and the session's ``Istiod`` serves that install with the release's own
``pilot-discovery-1.29.1``, whose injector gives Pods Istio 1.29.1's sidecar.

Istio 1.29 injects ``istio-proxy`` as a native sidecar (an init container with ``restartPolicy: Always``)
only when every node's kubelet is 1.33 or newer. kwok's nodes report kubelet ``kwok-v0.8.0``, which
istiod cannot parse ("Malformed version"), so on them the sidecar is a classic container; once the nodes
report kubelet v1.34.2 the same istiod injects the native shape.
"""

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from istio_fixtures import crd_and_namespace
from lightkube import Client
from lightkube.models.core_v1 import Container, PodSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace, Node, Pod
from lightkube.types import PatchType

from kyma_istio.devenv import tools
from kyma_istio.devenv.istiod import Istiod

pytestmark = pytest.mark.integration

__all__ = ["crd_and_namespace"]

RELEASE = "1.29.1"
TAG = f"{RELEASE}-distroless"
ISTIOCTL = f"istioctl-{RELEASE}"
PILOT_DISCOVERY = f"pilot-discovery-{RELEASE}"
SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "samples" / "istio-default.yaml"


def _istioctl(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tools.find_tool(ISTIOCTL)), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _rendered_operator(directory: Path) -> Path:
    """``kyma-istio render`` of the default CR (evaluation profile) with the line's image tag."""
    rendered = subprocess.run(
        [
            str(Path(sys.executable).parent / "kyma-istio"),
            "render",
            "-f",
            str(SAMPLE),
            "--profile",
            "evaluation",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    operator = yaml.safe_load(rendered.stdout)
    operator["spec"]["tag"] = TAG
    path = directory / "iop.yaml"
    path.write_text(yaml.safe_dump(operator))
    return path


@pytest.fixture(scope="module")
def installed(
    istioctl_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory, crd_and_namespace: None
) -> Iterator[str]:
    """Istio 1.29.1 installed by its own istioctl (the PriorityClass the Kyma IstioOperator names comes
    from ``crd_and_namespace``, as the module's manifest ships it); purged afterwards."""
    try:
        tools.find_tool(ISTIOCTL)
        tools.find_tool(PILOT_DISCOVERY)
    except tools.MissingToolError as error:
        pytest.fail(f"{error}; `testenv/build istio-1.29` builds the line", pytrace=False)
    operator = _rendered_operator(tmp_path_factory.mktemp("istio-1.29"))

    result = _istioctl("install", "-y", "-f", str(operator), "--readiness-timeout", "120s", env=istioctl_env)

    assert result.returncode == 0, f"istioctl {RELEASE} install failed:\n{result.stdout}\n{result.stderr}"
    yield result.stdout + result.stderr
    purged = _istioctl("uninstall", "-y", "--purge", env=istioctl_env)
    assert purged.returncode == 0, purged.stderr


def _injected(client: Client, namespace: str, name: str) -> Pod:
    client.patch(Namespace, namespace, {"metadata": {"labels": {"istio-injection": "enabled"}}})
    return client.create(
        Pod(
            metadata=ObjectMeta(name=name, namespace=namespace),
            spec=PodSpec(containers=[Container(name="app", image="registry.k8s.io/pause:3.10")]),
        )
    )


def _proxy(pod: Pod, where: str) -> Container | None:
    assert pod.spec is not None
    containers = pod.spec.initContainers if where == "init" else pod.spec.containers
    return next((c for c in containers or [] if c.name == "istio-proxy"), None)


def test_istioctl_of_the_line_installs_the_rendered_operator_and_its_istiod_serves_it(
    installed: str, istiod: Istiod, client: Client, namespace: str
) -> None:
    assert "Installation complete" in installed
    istiod.wait_ready()
    assert istiod.binary is not None and istiod.binary.name == PILOT_DISCOVERY

    pod = _injected(client, namespace, "classic")

    proxy = _proxy(pod, "containers")
    assert proxy is not None, pod.spec
    assert proxy.image == f"docker.io/istio/proxyv2:{TAG}"
    assert _proxy(pod, "init") is None


def test_on_nodes_with_kubelet_1_34_the_lines_istiod_injects_a_native_sidecar(
    installed: str,
    istiod: Istiod,
    client: Client,
    namespace: str,
    wait_for: Callable[..., Any],
) -> None:
    istiod.wait_ready()
    reported = {
        str(node.metadata.name): node.status.nodeInfo.kubeletVersion
        for node in client.list(Node)
        if node.metadata and node.status and node.status.nodeInfo
    }
    attempts = iter(range(1000))
    try:
        for name in reported:
            client.patch(
                Node.Status,
                name,
                {"status": {"nodeInfo": {"kubeletVersion": "v1.34.2"}}},
                patch_type=PatchType.MERGE,
            )

        # istiod reads the nodes through an informer: the first Pods may still see the old version.
        def native() -> Pod | None:
            pod = _injected(client, namespace, f"native-{next(attempts)}")
            return pod if _proxy(pod, "init") else None

        pod = wait_for("a native istio-proxy sidecar", native, timeout=30)
    finally:
        for name, version in reported.items():
            client.patch(
                Node.Status,
                name,
                {"status": {"nodeInfo": {"kubeletVersion": version}}},
                patch_type=PatchType.MERGE,
            )

    proxy = _proxy(pod, "init")
    assert proxy is not None and proxy.restartPolicy == "Always"
    assert proxy.image == f"docker.io/istio/proxyv2:{TAG}"
    assert _proxy(pod, "containers") is None

"""istioctl, built from the pinned Istio 1.23.2 module, renders manifests offline and installs Istio into
the local cluster, where kwok makes istiod's Deployment Available.

kwok's istiod Pod serves nothing; the session's ``Istiod`` (the real pilot-discovery on the host, behind the
``istiod`` Service) follows the install and answers Istio's webhooks, so Pods in injection-enabled
namespaces get Istio's own sidecar and Istio config passes Istio's own validation.
"""

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import Client
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.core_v1 import Container, PodSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.admissionregistration_v1 import MutatingWebhookConfiguration
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace, Pod

from kyma_istio import pins
from kyma_istio.devenv import tools
from kyma_istio.devenv.istiod import Istiod
from kyma_istio.lines import DEFAULT as DEFAULT_LINE

pytestmark = pytest.mark.integration

PeerAuthentication = create_namespaced_resource(
    "security.istio.io", "v1", "PeerAuthentication", "peerauthentications"
)


def _operator(profile: str) -> dict[str, Any]:
    return {
        "apiVersion": "install.istio.io/v1alpha1",
        "kind": "IstioOperator",
        "spec": {"profile": profile, "hub": pins.DEFAULT_HUB, "tag": DEFAULT_LINE.tag},
    }


def _injected_pod(namespace: str, name: str, annotations: dict[str, str] | None = None) -> Pod:
    return Pod(
        metadata=ObjectMeta(name=name, namespace=namespace, annotations=annotations),
        spec=PodSpec(containers=[Container(name="app", image="registry.k8s.io/pause:3.10")]),
    )


def _proxy_image(pod: Pod) -> str | None:
    assert pod.spec is not None
    containers = [*(pod.spec.initContainers or []), *pod.spec.containers]
    return next(c.image for c in containers if c.name == "istio-proxy")


def _istioctl(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tools.find_tool("istioctl")), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_manifest_generate_renders_istio_offline(tmp_path: Path) -> None:
    operator = tmp_path / "iop.yaml"
    operator.write_text(yaml.safe_dump(_operator("minimal")))
    # No kubeconfig at all: rendering must not need a cluster.
    env = {key: value for key, value in os.environ.items() if key != "KUBECONFIG"} | {"HOME": str(tmp_path)}

    rendered = _istioctl("manifest", "generate", "-f", str(operator), env=env)

    assert rendered.returncode == 0, rendered.stderr
    documents = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    kinds = {d["kind"] for d in documents}
    assert {"CustomResourceDefinition", "Deployment", "MutatingWebhookConfiguration"} <= kinds
    istiod = next(d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "istiod")
    image = istiod["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"{pins.DEFAULT_HUB}/pilot:{DEFAULT_LINE.tag}"


@pytest.fixture(scope="module")
def installed(istioctl_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Istio installed with the minimal profile for this module, and purged afterwards."""
    operator = tmp_path_factory.mktemp("istioctl") / "iop.yaml"
    operator.write_text(yaml.safe_dump(_operator("minimal")))

    result = _istioctl("install", "-y", "-f", str(operator), "--readiness-timeout", "120s", env=istioctl_env)

    assert result.returncode == 0, f"istioctl install failed:\n{result.stdout}\n{result.stderr}"
    yield result.stdout + result.stderr
    purged = _istioctl("uninstall", "-y", "--purge", env=istioctl_env)
    assert purged.returncode == 0, purged.stderr


def test_install_makes_istiod_available_on_fake_nodes(installed: str, client: Client) -> None:
    istiod = client.get(Deployment, "istiod", namespace="istio-system")

    assert "Installation complete" in installed
    assert istiod.status is not None
    assert istiod.status.availableReplicas == 1
    assert istiod.metadata is not None
    assert istiod.metadata.labels is not None
    # The release ldflags reached the binary: objects are stamped with the real version, not "unknown".
    assert istiod.metadata.labels["operator.istio.io/version"] == DEFAULT_LINE.version
    pods = list(client.list(Pod, namespace="istio-system", labels={"app": "istiod"}))
    assert [p.status.phase for p in pods if p.status] == ["Running"]


def test_valid_istio_config_passes_istiods_validating_webhook(
    installed: str, istiod: Istiod, client: Client, namespace: str
) -> None:
    istiod.wait_ready()

    client.create(
        PeerAuthentication(metadata=ObjectMeta(name="default", namespace=namespace), spec={"mtls": {}})
    )

    assert client.get(PeerAuthentication, "default", namespace=namespace) is not None


def test_istiod_injects_sidecars_so_workloads_run_in_injected_namespaces(
    installed: str, istiod: Istiod, client: Client, namespace: str, wait_for: Callable[..., Any]
) -> None:
    istiod.wait_ready()
    injectors = client.list(MutatingWebhookConfiguration, labels={"app": "sidecar-injector"})
    assert {hook.failurePolicy for m in injectors for hook in m.webhooks or []} == {"Fail"}
    client.patch(Namespace, namespace, {"metadata": {"labels": {"istio-injection": "enabled"}}})
    old_image = f"{pins.DEFAULT_HUB}/proxyv2:1.22.3-distroless"

    current = client.create(_injected_pod(namespace, "current"))
    pinned = client.create(_injected_pod(namespace, "pinned", {"sidecar.istio.io/proxyImage": old_image}))

    assert current.spec is not None
    assert pinned.spec is not None
    assert _proxy_image(current) == f"{pins.DEFAULT_HUB}/proxyv2:{DEFAULT_LINE.tag}"
    assert _proxy_image(pinned) == old_image
    wait_for(
        "both pods Running",
        lambda: {p.status.phase for p in client.list(Pod, namespace=namespace) if p.status} == {"Running"},
    )
    assert current.metadata is not None
    assert current.metadata.annotations is not None
    assert "sidecar.istio.io/status" in current.metadata.annotations

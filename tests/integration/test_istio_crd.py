"""The committed Istio CRD, applied to a real API server: CRs round-trip unchanged, the status subresource
works, and invalid values are refused with the CRD's own messages."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import ApiError, Client, codecs
from lightkube.generic_resource import GenericNamespacedResource, create_namespaced_resource
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.types import PatchType

from kyma_istio.api import names

pytestmark = pytest.mark.integration

REPO = Path(__file__).parents[2]
CRD_FILE = REPO / "deploy" / "crds" / "operator.kyma-project.io_istios.yaml"
CONFIGURED_SAMPLE = REPO / "deploy" / "samples" / "istio-configured.yaml"

IstioCR = create_namespaced_resource(names.GROUP, names.VERSION, names.KIND, names.PLURAL)


def _established(client: Client) -> bool:
    crd = client.get(CustomResourceDefinition, names.CRD_NAME)
    conditions = crd.status.conditions if crd.status else None
    return any(c.type == "Established" and c.status == "True" for c in conditions or [])


@pytest.fixture(scope="module")
def istio_crd(client: Client) -> Iterator[dict[str, Any]]:
    """The committed CRD, applied once for this module and removed afterwards."""
    if not CRD_FILE.exists():
        pytest.fail(f"{CRD_FILE} is missing; generate it with `make crd`", pytrace=False)
    document = yaml.safe_load(CRD_FILE.read_text())
    client.apply(codecs.from_dict(document), field_manager="kyma-istio-tests", force=True)
    deadline = time.monotonic() + 30
    while not _established(client):
        assert time.monotonic() < deadline, "the Istio CRD did not become Established within 30s"
        time.sleep(0.05)
    yield document
    client.delete(CustomResourceDefinition, names.CRD_NAME)


def _schema_node(crd: dict[str, Any], *path: str) -> dict[str, Any]:
    node: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for key in path:
        node = node["items"] if key == "[]" else node["properties"][key]
    return node


def _istio(namespace: str, spec: dict[str, Any], name: str = "default") -> GenericNamespacedResource:
    return IstioCR(metadata={"name": name, "namespace": namespace}, spec=spec)


def test_the_configured_sample_round_trips_unchanged(
    client: Client, namespace: str, istio_crd: dict[str, Any]
) -> None:
    sample = yaml.safe_load(CONFIGURED_SAMPLE.read_text())

    client.create(_istio(namespace, sample["spec"]))
    stored = client.get(IstioCR, "default", namespace=namespace)

    assert stored["spec"] == sample["spec"]


def test_status_is_written_through_the_status_subresource_only(
    client: Client, namespace: str, istio_crd: dict[str, Any]
) -> None:
    client.create(_istio(namespace, {}))

    merge = PatchType.MERGE  # custom resources take no strategic-merge patches
    client.patch(
        IstioCR, "default", {"status": {"state": "Processing"}}, namespace=namespace, patch_type=merge
    )
    assert client.get(IstioCR, "default", namespace=namespace).status is None

    client.patch(
        IstioCR.Status, "default", {"status": {"state": "Ready"}}, namespace=namespace, patch_type=merge
    )
    assert client.get(IstioCR, "default", namespace=namespace).status == {"state": "Ready"}


@pytest.mark.parametrize(
    ("spec", "path", "rule"),
    [
        pytest.param(
            {"components": {"pilot": {"k8s": {"strategy": {"rollingUpdate": {"maxSurge": -1}}}}}},
            ("spec", "components", "pilot", "k8s", "strategy", "rollingUpdate", "maxSurge"),
            "x-kubernetes-validations",
            id="negative-maxSurge",
        ),
        pytest.param(
            {"components": {"pilot": {"k8s": {"strategy": {"rollingUpdate": {"maxSurge": "-1"}}}}}},
            ("spec", "components", "pilot", "k8s", "strategy", "rollingUpdate", "maxSurge"),
            "pattern",
            id="negative-maxSurge-string",
        ),
        pytest.param(
            {"components": {"pilot": {"k8s": {"resources": {"limits": {"cpu": "abc"}}}}}},
            ("spec", "components", "pilot", "k8s", "resources", "limits", "cpu"),
            "pattern",
            id="cpu-abc",
        ),
        # The fields of Kyma 1.12-1.30.
        pytest.param(
            {"config": {"forwardClientCertDetails": "STRIP"}},
            ("spec", "config", "forwardClientCertDetails"),
            "enum",
            id="xfcc-unknown",
        ),
        pytest.param(
            {"config": {"trustDomain": "Example.COM"}},
            ("spec", "config", "trustDomain"),
            "pattern",
            id="trust-domain-upper-case",
        ),
        pytest.param(
            {"config": {"trustDomain": "a" * 256}},
            ("spec", "config", "trustDomain"),
            "maxLength",
            id="trust-domain-256-chars",
        ),
        pytest.param(
            {"config": {"trustDomain": ""}},
            ("spec", "config", "trustDomain"),
            "minLength",
            id="trust-domain-empty",
        ),
        pytest.param(
            {"config": {"proxyStatsMatcher": {"inclusionRegexps": [".*ok.*", "(?<=x)"]}}},
            ("spec", "config", "proxyStatsMatcher", "inclusionRegexps"),
            "x-kubernetes-validations",
            id="regexp-not-re2",
        ),
        pytest.param(
            {"components": {"egressGateway": {"k8s": {"hpaSpec": {"minReplicas": -1}}}}},
            ("spec", "components", "egressGateway", "k8s", "hpaSpec", "minReplicas"),
            "minimum",
            id="egress-negative-replicas",
        ),
        pytest.param(
            {"config": {"authorizers": [{"name": "a", "port": 80, "timeout": "soon"}]}},
            ("spec", "config", "authorizers", "[]", "timeout"),
            "pattern",
            id="timeout-soon",
        ),
    ],
)
def test_an_invalid_cr_is_refused_with_the_crds_message(
    client: Client,
    namespace: str,
    istio_crd: dict[str, Any],
    *,
    spec: dict[str, Any],
    path: tuple[str, ...],
    rule: str,
) -> None:
    schema = _schema_node(istio_crd, *path)
    expected = {
        "x-kubernetes-validations": lambda: schema["x-kubernetes-validations"][0]["message"],
        "pattern": lambda: f"should match '{schema['pattern']}'",
        "enum": lambda: "Unsupported value",
        "maxLength": lambda: f"may not be more than {schema['maxLength']} bytes",
        "minLength": lambda: f"should be at least {schema['minLength']} chars long",
        "minimum": lambda: f"should be greater than or equal to {schema['minimum']}",
    }[rule]()

    with pytest.raises(ApiError) as refused:
        client.create(_istio(namespace, spec))

    assert refused.value.status.code == 422
    message = str(refused.value.status.message)
    assert expected in message
    field = ".".join(path).replace(".[]", "[0]")
    assert field in message, message

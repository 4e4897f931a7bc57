"""The real istioctl renders what we pin: istiod from our hub with our tag. No cluster is contacted."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from kyma_istio import pins
from kyma_istio.installer import istioctl
from kyma_istio.lines import DEFAULT as DEFAULT_LINE

pytestmark = pytest.mark.integration

UNREACHABLE_KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [
        {"name": "c", "cluster": {"server": "https://127.0.0.1:1", "insecure-skip-tls-verify": True}}
    ],
    "users": [{"name": "u", "user": {"token": "unused"}}],
    "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    "current-context": "c",
}
"""Port 1 on loopback: nothing listens, so the connection is refused at once and nothing leaves the host."""


@pytest.fixture(scope="module")
def real_istioctl() -> istioctl.Istioctl:
    try:
        binary = istioctl.find_istioctl()
    except istioctl.IstioctlNotFoundError as error:
        pytest.skip(str(error))
    return istioctl.Istioctl(binary, kubeconfig=None, log=logging.getLogger("test.istioctl"))


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list(obj["spec"]["template"]["spec"]["containers"])


async def test_the_real_istioctl_is_the_pinned_release(real_istioctl: istioctl.Istioctl) -> None:
    assert await real_istioctl.version() == DEFAULT_LINE.version


async def test_a_minimal_iop_renders_istiod_with_the_pinned_tag(real_istioctl: istioctl.Istioctl) -> None:
    iop = {
        "apiVersion": "install.istio.io/v1alpha1",
        "kind": "IstioOperator",
        "spec": {"profile": "minimal", "hub": pins.DEFAULT_HUB, "tag": DEFAULT_LINE.tag},
    }

    objects = await real_istioctl.manifest_generate(iop)

    [istiod] = [obj for obj in objects if obj["kind"] == "Deployment" and obj["metadata"]["name"] == "istiod"]
    [discovery] = [c for c in containers(istiod) if c["name"] == "discovery"]
    assert discovery["image"] == f"{pins.DEFAULT_HUB}/pilot:{DEFAULT_LINE.tag}"


async def test_an_invalid_iop_fails_with_istioctls_reason(real_istioctl: istioctl.Istioctl) -> None:
    iop = {"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator", "spec": {"noSuchField": 1}}

    with pytest.raises(istioctl.IstioctlError) as failure:
        await real_istioctl.manifest_generate(iop)

    assert "noSuchField" in str(failure.value)


async def test_an_install_against_an_unreachable_api_server_names_the_cause(
    real_istioctl: istioctl.Istioctl, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps(UNREACHABLE_KUBECONFIG), encoding="utf-8")
    binary = real_istioctl.binary
    unreachable = istioctl.Istioctl(binary, kubeconfig=kubeconfig, log=logging.getLogger("test.istioctl"))

    result = await unreachable.install({"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator"})

    assert not result.ok
    assert result.summary.startswith("check minimum supported Kubernetes version")
    assert result.summary.endswith("connect: connection refused")

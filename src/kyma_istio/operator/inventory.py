"""Generate ``resources/istio-inventory.yaml``: what ``istioctl install`` creates, for every profile and
flavour the operator can choose, plus the few objects istioctl creates outside its manifest.

The RBAC tables read that inventory for the names of Istio's ClusterRoles, bindings, CRDs and webhooks,
so an Istio pin change that adds or renames one changes the chart's rules (an integration test compares
the committed file with a fresh generation).
"""

from __future__ import annotations

from typing import Any, Final

from kyma_istio import lines
from kyma_istio.api import names
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.installer.istioctl import Istioctl
from kyma_istio.lines import Line
from kyma_istio.mesh.merge import merge
from kyma_istio.mesh.profile import Flavour, Profile
from kyma_istio.resources import inventory

_ADMISSION = "admissionregistration.k8s.io/v1"

INSTALL_EXTRAS: Final[tuple[dict[str, Any], ...]] = (
    # util.CreateNamespace: istioctl creates the namespace when it is missing.
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": names.ISTIO_NAMESPACE}},
    # ProcessDefaultWebhook: on a first install the default revision gets the "default" revision tag.
    {
        "apiVersion": _ADMISSION,
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "istio-revision-tag-default"},
    },
    {
        "apiVersion": _ADMISSION,
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "istiod-default-validator"},
    },
)
"""Objects ``istioctl install`` writes that ``manifest generate`` does not print (istioctl 1.23 source)."""


def iops(line: Line = lines.DEFAULT) -> list[dict[str, Any]]:
    """The IstioOperator of an empty CR for every profile and flavour (experimental fields add no kind),
    on ``line`` (the inventory is measured with that line's istioctl)."""
    return [
        merge(IstioSpec(), profile=profile, flavour=flavour, line=line)
        for profile in Profile
        for flavour in Flavour
    ]


async def generate(istioctl: Istioctl) -> list[inventory.IstioObject]:
    """Every object of Istio's install across profiles and flavours, sorted."""
    documents: list[dict[str, Any]] = list(INSTALL_EXTRAS)
    for iop in iops():
        documents += await istioctl.manifest_generate(iop)
    return inventory.from_manifest(documents)

"""The committed inventory of Istio's install is what the pinned istioctl renders today, for every profile
and flavour: a pin change that adds, renames or drops one of Istio's objects fails here until `make rbac`
regenerates the inventory, the chart's RBAC and docs/security.md. No cluster is contacted."""

from __future__ import annotations

import logging

import pytest

from kyma_istio.installer import istioctl
from kyma_istio.operator import inventory as generator
from kyma_istio.resources import inventory

pytestmark = pytest.mark.integration


async def test_the_committed_inventory_is_what_the_pinned_istioctl_renders() -> None:
    try:
        binary = istioctl.find_istioctl()
    except istioctl.IstioctlNotFoundError as error:
        pytest.fail(str(error), pytrace=False)
    tool = istioctl.Istioctl(binary, kubeconfig=None, log=logging.getLogger("test.inventory"))

    generated = await generator.generate(tool)

    assert inventory.render(generated) == inventory.INVENTORY_FILE.read_text(), "run `make rbac`"

"""The whole merge: profile template, then the CR field by field, then the cluster flavour (spec 5.1).

Each step is a pure function of the document so far and one field group of the CR, returning a new
document; the order below is the reference's. Experimental flags go in before the CR (the reference adds
them to the template), and the flavour's overrides go last so that distribution-specific CNI paths win
over anything else.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from kyma_istio import pins
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.lines import Line
from kyma_istio.mesh.merge import cni, compatibility, components, experimental, line_rules, mesh_config, proxy
from kyma_istio.mesh.merge.deep import deep_merge
from kyma_istio.mesh.merge.template import load_template
from kyma_istio.mesh.profile import Flavour, Profile, flavour_overrides


def merge(
    spec: IstioSpec,
    *,
    profile: Profile,
    flavour: Flavour = Flavour.UNKNOWN,
    hub: str = pins.DEFAULT_HUB,
    line: Line,
    experimental_enabled: bool = False,
) -> dict[str, Any]:
    """The IstioOperator of ``line`` to install for ``spec`` on a cluster of this profile and flavour."""
    iop = _with_images(load_template(profile), hub=hub, tag=line.tag)
    iop = experimental.apply_experimental(iop, spec.experimental, enabled=experimental_enabled)
    iop = mesh_config.apply_num_trusted_proxies(iop, spec.config)
    iop = mesh_config.apply_authorizers(iop, spec.config)
    iop = mesh_config.apply_mesh_settings(iop, spec.config)
    iop = components.apply_external_traffic_policy(iop, spec.config)
    iop = components.apply_pilot(iop, spec.components)
    iop = components.apply_ingress_gateway(iop, spec.components)
    iop = components.apply_egress_gateway(iop, spec.components)
    iop = cni.apply_cni(iop, spec.components)
    iop = proxy.apply_proxy(iop, spec.components)
    iop = compatibility.apply_compatibility(iop, spec.compatibility_mode)
    iop = deep_merge(iop, flavour_overrides(flavour))
    return line_rules.apply_line(iop, line)


def _with_images(iop: Mapping[str, Any], *, hub: str, tag: str) -> dict[str, Any]:
    """Set ``spec.hub`` and ``spec.tag``, placed right after ``profile`` where readers look for them."""
    result = copy.deepcopy(dict(iop))
    spec = result.get("spec") or {}
    head = {key: spec[key] for key in ("profile",) if key in spec}
    rest = {key: value for key, value in spec.items() if key not in {"profile", "hub", "tag"}}
    result["spec"] = {**head, "hub": hub, "tag": tag, **rest}
    return result

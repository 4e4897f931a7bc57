"""``spec.components.cni`` into the CNI DaemonSet's settings (spec 5.4).

Resources override key by key like the other components. Affinity does not: a user who states pod
anti-affinity for the CNI means *that* rule set, not the default's rules plus theirs. So each affinity
kind the CR gives replaces the template's kind whole, both its preferred and required rules, and a rule
list the CR leaves out becomes empty. Kinds the CR does not mention keep the template's rules.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

from kyma_istio.api.affinity import Affinity
from kyma_istio.api.v1alpha2 import Components
from kyma_istio.mesh.merge.deep import deep_merge, nested

_PREFERRED: Final = "preferredDuringSchedulingIgnoredDuringExecution"
_REQUIRED: Final = "requiredDuringSchedulingIgnoredDuringExecution"
_POD_KINDS: Final = ("podAffinity", "podAntiAffinity")


def apply_cni(iop: Mapping[str, Any], components: Components | None) -> dict[str, Any]:
    """Merge the CR's CNI resources (per key) and affinity (per kind) into ``components.cni.k8s``."""
    cni = components.cni if components else None
    result = copy.deepcopy(dict(iop))
    if cni is None:
        return result
    spec_components = result.setdefault("spec", {}).setdefault("components", {})
    cni_component = spec_components.setdefault("cni", {})
    k8s = dict(nested(cni_component, "k8s") or {})
    if cni.k8s.resources is not None:
        k8s["resources"] = deep_merge(k8s.get("resources") or {}, cni.k8s.resources.to_wire())
    # Giving ``cni`` at all guarantees an affinity object, as in the reference.
    k8s["affinity"] = merge_affinity(k8s.get("affinity") or {}, cni.k8s.affinity)
    cni_component["k8s"] = k8s
    return result


def merge_affinity(template: Mapping[str, Any], affinity: Affinity | None) -> dict[str, Any]:
    """The template affinity with every kind the CR gives replaced by the CR's rules."""
    result = copy.deepcopy(dict(template))
    if affinity is None:
        return result
    wire = affinity.to_wire()
    for kind in _POD_KINDS:
        if kind in wire:
            given = wire[kind]
            result[kind] = {_PREFERRED: given.get(_PREFERRED, []), _REQUIRED: given.get(_REQUIRED, [])}
    if "nodeAffinity" in wire:
        given = wire["nodeAffinity"]
        node: dict[str, Any] = {_PREFERRED: given.get(_PREFERRED, [])}
        # The required node rules are one NodeSelector object, not a list; "empty" means absent.
        if _REQUIRED in given:
            node[_REQUIRED] = given[_REQUIRED]
        result["nodeAffinity"] = node
    return result

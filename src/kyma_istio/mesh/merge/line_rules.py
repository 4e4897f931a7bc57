"""What differs in the IstioOperator between Istio lines, applied last (data: :class:`kyma_istio.lines.Line`).

Istio 1.28 renders the istiod and gateway (ingress and egress) PodDisruptionBudgets only when the chart's
``autoscaleMin`` value is above 1, and reads that value, not the component's ``hpaSpec``. Our template
states the minimum in ``hpaSpec`` (as Kyma's does), so on such a line the minimum is carried into the
values: without it a production cluster would lose the control plane's disruption protection on upgrade
(measured: istioctl 1.29.1 renders no budget for our 1.23 document).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from kyma_istio.api import names
from kyma_istio.lines import Line
from kyma_istio.mesh.merge.deep import nested


def apply_line(iop: Mapping[str, Any], line: Line) -> dict[str, Any]:
    """``iop`` adjusted for what ``line``'s charts read differently."""
    result = copy.deepcopy(dict(iop))
    if line.pdb_needs_autoscale_min:
        _autoscale_min_from_hpa(result)
    return result


def _autoscale_min_from_hpa(iop: dict[str, Any]) -> None:
    spec = iop.setdefault("spec", {})
    values = spec.setdefault("values", {})
    pilot_min = nested(spec, "components", "pilot", "k8s", "hpaSpec", "minReplicas")
    if pilot_min is not None:
        values.setdefault("pilot", {})["autoscaleMin"] = pilot_min
    for component, chart_key in (
        ("ingressGateways", names.INGRESS_GATEWAY),
        ("egressGateways", names.EGRESS_GATEWAY),
    ):
        for gateway in nested(spec, "components", component) or []:
            minimum = nested(gateway, "k8s", "hpaSpec", "minReplicas")
            if minimum is not None and gateway.get("name") == chart_key:
                values.setdefault("gateways", {}).setdefault(chart_key, {})["autoscaleMin"] = minimum

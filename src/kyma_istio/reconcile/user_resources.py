"""User resources that target the ingress gateway: the listing behind ``IngressTargetingUserResourceFound``.

Runs where a pass would end Ready. The decision is ``resources.user_targeting``; here the EnvoyFilters of
``istio-system`` are listed and the outcome becomes one condition and, when some are found, the Warning
that decides the state. The detection never blocks install, upgrade or uninstall: a failed listing only
sets the condition to Unknown (the reference fails the pass instead).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kyma_istio.api import conditions as c
from kyma_istio.api import names
from kyma_istio.api.events import EventReason
from kyma_istio.k8s import errors
from kyma_istio.k8s.seam import announce
from kyma_istio.reconcile.context import CURRENT_STEP, Deps
from kyma_istio.reconcile.steps import Condition
from kyma_istio.resources.user_targeting import ENVOY_FILTER, user_filters_on_ingress


@dataclass(frozen=True)
class Detected:
    """What the detection found: the condition to set and, for found filters, the Warning."""

    condition: Condition
    found: tuple[str, ...] = ()
    """``namespace/name`` of the user EnvoyFilters on the ingress gateway, sorted."""
    problem: c.Problem | None = None
    """The Warning when ``found``; its condition is ``condition``, not ``Ready``."""


async def detect(deps: Deps) -> Detected:
    """List the EnvoyFilters in ``istio-system`` and pick the users' ones on the ingress gateway."""
    CURRENT_STEP.set("user_resources")
    try:
        filters = await deps.kube.list_all(ENVOY_FILTER, namespace=names.ISTIO_NAMESPACE)
    except errors.NotFound:
        filters = []  # No EnvoyFilter kind (Istio's CRDs are gone): nothing can target the gateway.
    except errors.ClusterError as err:
        deps.log.warning("could not list EnvoyFilters in %s: %s", names.ISTIO_NAMESPACE, err)
        message = c.targeting_detection_failed_message(f"could not list EnvoyFilters: {err}")
        return Detected((c.Reason.INGRESS_TARGETING_USER_RESOURCE_DETECTION_FAILED, message))
    found = user_filters_on_ingress(filters)
    if not found:
        return Detected((c.Reason.INGRESS_TARGETING_USER_RESOURCE_NOT_FOUND, None))
    problem = c.ingress_targeting_user_resources(found)
    return Detected((c.Reason.INGRESS_TARGETING_USER_RESOURCE_FOUND, None), found, problem)


async def announce_found(cr: Mapping[str, Any], detected: Detected, deps: Deps) -> None:
    """The Event naming every filter found (the description names only the first few)."""
    message = (
        f"user-created EnvoyFilter(s) targeting the Istio Ingress Gateway: {', '.join(detected.found)}; "
        "a misconfigured EnvoyFilter can break the gateway, and an Istio upgrade may change what it patches"
    )
    await announce(deps.events, cr, EventReason.INGRESS_TARGETING_USER_RESOURCE_FOUND, message)

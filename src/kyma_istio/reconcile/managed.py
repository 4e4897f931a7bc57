"""The cluster side of what the module owns next to Istio: its own Istio resources (spec section 7),
the module label on Istio's objects (5.9) and the webhook-conflict cleanup after a failed install (5.7).

Decisions come from ``kyma_istio.resources``; this module lists, compares and writes, and writes only
what differs, so a pass with nothing to change sends no write request.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kyma_istio.api import conditions as c
from kyma_istio.api import names
from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.seam import EXISTS
from kyma_istio.reconcile.context import Deps
from kyma_istio.resources import desired, labelling, webhooks

_WEBHOOK_CLEANUP_ATTEMPTS = 5
_WEBHOOK_CLEANUP_DELAY_S = 5.0


async def reconcile_resources(deps: Deps, *, provider: str, version: str) -> c.Problem | None:
    """Apply the desired module resources that differ from the live ones; prune ours no longer wanted."""
    wanted = desired.desired_resources(provider=provider, operator_version=version)
    managed_kinds = {k.kind: k for k in desired.MANAGED_KINDS}
    kube = deps.kube
    for obj in wanted:
        meta = obj["metadata"]
        kind = managed_kinds[obj["kind"]]
        try:
            live = await kube.get(kind, meta["name"], meta.get("namespace"))
            if desired.needs_apply(obj, live):
                await kube.apply(kind, obj)
        except errors.ClusterError as err:
            return c.resource_reconcile_failed(obj["kind"], meta["name"]).problem(str(err))
    try:
        existing: list[dict[str, Any]] = []
        for kind in managed_kinds.values():
            existing += await kube.list_all(kind, labels=dict(desired.OWNERSHIP_LABELS))
        for key in desired.resources_to_prune(wanted, existing):
            await kube.delete(managed_kinds[key.kind], key.name, namespace=key.namespace)
    except errors.NotFound:
        return None
    except errors.ClusterError as err:
        return c.RESOURCES_INIT_FAILED.problem(str(err))
    return None


async def label_istio_resources(deps: Deps) -> None:
    """Add the module label to every object istioctl installed that lacks it.

    Istio's namespaced objects all live in ``istio-system``; listing only there keeps the operator's
    RBAC for Secrets and the like inside that namespace.
    """
    kube = deps.kube
    for kind in labelling.LABELLED_KINDS:
        namespace = names.ISTIO_NAMESPACE if kind.namespaced else None
        try:
            objects = await kube.list_all(
                kind, namespace=namespace, labels={names.ISTIO_COMPONENT_LABEL: EXISTS}
            )
        except errors.NotFound:
            continue
        for obj in objects:
            patch = labelling.module_label_patch(obj, pod_template=kind.pod_template)
            if patch is None:
                continue
            meta = obj["metadata"]
            try:
                await kube.patch(kind, meta["name"], patch, namespace=meta.get("namespace"))
            except errors.NotFound:
                continue


async def clean_webhook_conflicts(deps: Deps) -> None:
    """After a failed install, delete tagged webhooks that would fight the default revision's one.

    Failures are only logged, as in the reference: the install error is what the user must see.
    """
    for attempt in range(_WEBHOOK_CLEANUP_ATTEMPTS):
        try:
            configs = await deps.kube.list_all(kinds.MUTATING_WEBHOOK)
            for name in webhooks.conflicting_tag_webhooks(configs):
                await deps.kube.delete(kinds.MUTATING_WEBHOOK, name)
                deps.log.info("deleted conflicting tagged webhook %s", name)
            return
        except errors.ClusterError as err:
            deps.log.warning("webhook conflict cleanup failed (attempt %d): %s", attempt + 1, err)
            await asyncio.sleep(_WEBHOOK_CLEANUP_DELAY_S)

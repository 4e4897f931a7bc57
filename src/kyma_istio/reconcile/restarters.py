"""The restarters of a pass (spec section 6): the gateways, then the sidecars. All always run; the most
severe problem decides the state (3.4).

A gateway restarts only when a setting it reads at start-up changed since the last applied spec
(``mesh.change.GatewaySettings``: ``numTrustedProxies``, XFCC, trust domain, stats matcher). Unlike the
reference (quirk 2) the decision is the pass's ``Change``, evaluated once per pass, and the settings a
gateway was restarted for are recorded on the CR right away, so one change gives one patch also across
passes that continue sidecar restarts. The egress gateway reads the same settings; Kyma never restarts
it (its reasons exist there and are never set), so its proxies kept stale settings until their next
unrelated restart. Here it restarts by the same rule, with its own record and reasons.
"""

from __future__ import annotations

from dataclasses import dataclass

from kyma_istio.api import conditions as c
from kyma_istio.api import names
from kyma_istio.api.events import EventReason
from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.seam import PatchType, announce
from kyma_istio.k8s.time import rfc3339
from kyma_istio.mesh.change import Change, gateway_token
from kyma_istio.reconcile import sidecars
from kyma_istio.reconcile.context import Deps
from kyma_istio.reconcile.install import record_annotations
from kyma_istio.reconcile.steps import Installed, RestartResult


@dataclass(frozen=True)
class Gateway:
    """One gateway Deployment and how its restart is recorded and reported."""

    deployment: str
    record: str
    event: EventReason
    succeeded: c.Reason
    failed: c.Reason
    failure: c.Description


INGRESS: Gateway = Gateway(
    names.INGRESS_GATEWAY,
    names.GATEWAY_RESTARTED_FOR_ANNOTATION,
    EventReason.INGRESS_GATEWAY_RESTARTED,
    c.Reason.INGRESS_GATEWAY_RESTART_SUCCEEDED,
    c.Reason.INGRESS_GATEWAY_RESTART_FAILED,
    c.GATEWAY_RESTART_FAILED,
)
EGRESS: Gateway = Gateway(
    names.EGRESS_GATEWAY,
    names.EGRESS_GATEWAY_RESTARTED_FOR_ANNOTATION,
    EventReason.EGRESS_GATEWAY_RESTARTED,
    c.Reason.EGRESS_GATEWAY_RESTART_SUCCEEDED,
    c.Reason.EGRESS_GATEWAY_RESTART_FAILED,
    c.EGRESS_GATEWAY_RESTART_FAILED,
)


async def restart_gateway(deps: Deps, deployment: str = names.INGRESS_GATEWAY) -> bool:
    """Roll a gateway by stamping its pod template; False when it does not exist (nothing to restart)."""
    patch = {
        "spec": {
            "template": {"metadata": {"annotations": {names.RESTARTED_AT_ANNOTATION: rfc3339(deps.clock())}}}
        }
    }
    try:
        await deps.kube.patch(
            kinds.DEPLOYMENT,
            deployment,
            patch,
            namespace=names.ISTIO_NAMESPACE,
            patch_type=PatchType.STRATEGIC,
        )
    except errors.NotFound:
        return False
    return True


def _why(change: Change) -> str:
    return ", ".join(change.gateway_changes) or "gateway settings"


async def _gateway(
    gateway: Gateway, installed: Installed, change: Change, deps: Deps
) -> RestartResult | None:
    """Restart ``gateway``; its condition, its problem, or None when it does not exist."""
    try:
        if not await restart_gateway(deps, gateway.deployment):
            return None
        message = f"{_why(change)} changed; {names.ISTIO_NAMESPACE}/{gateway.deployment} restarted"
        await announce(deps.events, installed.cr, gateway.event, message)
    except errors.ClusterError as err:
        problem = gateway.failure.problem(str(err))
        return RestartResult(((gateway.failed, problem.message),), problem)
    return RestartResult(((gateway.succeeded, None),))


async def _gateways(installed: Installed, change: Change, deps: Deps) -> RestartResult:
    """The gateways whose settings changed, then one record of what each was restarted for.

    The condition of the gateway whose problem decides is set last, so ``Ready`` and the description
    speak of the same gateway; when both fail, the ingress one's (what users reach the mesh through).
    """
    due = {INGRESS: change.restart_gateway, EGRESS: change.restart_egress_gateway}
    outcomes: dict[Gateway, RestartResult] = {}
    record: dict[str, str] = {}
    for gateway in (INGRESS, EGRESS):
        if not due[gateway]:
            continue
        outcome = await _gateway(gateway, installed, change, deps)
        if outcome is None or outcome.problem is None:
            # A gateway that does not exist is recorded too: when created, it starts with these settings.
            record[gateway.record] = gateway_token(installed.spec)
        if outcome is not None:
            outcomes[gateway] = outcome
    # As the reference, the ingress condition is always set, also when nothing was restarted.
    ingress = outcomes.get(INGRESS) or RestartResult(((INGRESS.succeeded, None),))
    egress = outcomes.get(EGRESS) or RestartResult()
    if record:
        # Recorded at once, so passes that continue sidecar restarts do not restart them again.
        try:
            await record_annotations(installed.cr, record, deps)
        except errors.ClusterError as err:
            failed = INGRESS if due[INGRESS] else EGRESS
            problem = failed.failure.problem(str(err))
            result = RestartResult(((failed.failed, problem.message),), problem)
            ingress, egress = (result, egress) if failed is INGRESS else (ingress, result)
    problems = [p for p in (ingress.problem, egress.problem) if p is not None]
    first, last = (ingress, egress) if egress.problem and not ingress.problem else (egress, ingress)
    return RestartResult(first.conditions + last.conditions, c.most_severe(problems))


async def run(installed: Installed, change: Change, deps: Deps) -> RestartResult:
    """Every restarter; their conditions, and the worst problem."""
    gateways = await _gateways(installed, change, deps)
    return gateways + await sidecars.restart_outdated(installed, deps)

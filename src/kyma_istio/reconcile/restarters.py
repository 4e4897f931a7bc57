"""The restarters of a pass (spec section 6): the ingress gateway, then the sidecars. Both always run;
the most severe problem of the two decides the state (3.4).

The gateway restarts only when ``numTrustedProxies`` changed since the last applied spec; unlike the
reference (quirk 2) the decision is the pass's ``Change``, evaluated once per pass, and the value it was
restarted for is recorded on the CR right away, so one change gives one patch also across passes that
continue sidecar restarts.
"""

from __future__ import annotations

from kyma_istio.api import conditions as c
from kyma_istio.api import names
from kyma_istio.api.events import EventReason
from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.seam import PatchType, announce
from kyma_istio.k8s.time import rfc3339
from kyma_istio.mesh.change import Change, trusted_proxies_token
from kyma_istio.reconcile import sidecars
from kyma_istio.reconcile.context import Deps
from kyma_istio.reconcile.install import record_annotations
from kyma_istio.reconcile.steps import Installed, RestartResult

_GATEWAY_RESTARTED = "numTrustedProxies changed; istio-system/istio-ingressgateway restarted"


async def restart_gateway(deps: Deps) -> None:
    """Roll the ingress gateway by stamping its pod template; a missing gateway needs no restart."""
    patch = {
        "spec": {
            "template": {"metadata": {"annotations": {names.RESTARTED_AT_ANNOTATION: rfc3339(deps.clock())}}}
        }
    }
    try:
        await deps.kube.patch(
            kinds.DEPLOYMENT,
            names.INGRESS_GATEWAY,
            patch,
            namespace=names.ISTIO_NAMESPACE,
            patch_type=PatchType.STRATEGIC,
        )
    except errors.NotFound:
        return


async def _gateway(installed: Installed, change: Change, deps: Deps) -> RestartResult:
    if change.restart_gateway:
        try:
            await restart_gateway(deps)
            await announce(
                deps.events, installed.cr, EventReason.INGRESS_GATEWAY_RESTARTED, _GATEWAY_RESTARTED
            )
            # Recorded at once, so passes that continue sidecar restarts do not restart it again.
            restarted_for = {names.GATEWAY_RESTARTED_FOR_ANNOTATION: trusted_proxies_token(installed.spec)}
            await record_annotations(installed.cr, restarted_for, deps)
        except errors.ClusterError as err:
            problem = c.GATEWAY_RESTART_FAILED.problem(str(err))
            return RestartResult(((c.Reason.INGRESS_GATEWAY_RESTART_FAILED, problem.message),), problem)
    return RestartResult(((c.Reason.INGRESS_GATEWAY_RESTART_SUCCEEDED, None),))


async def run(installed: Installed, change: Change, deps: Deps) -> RestartResult:
    """Both restarters; their conditions, and the worse problem."""
    gateway = await _gateway(installed, change, deps)
    return gateway + await sidecars.restart_outdated(installed, deps)

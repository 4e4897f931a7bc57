"""The restarters of a pass (spec section 6): the ingress gateway, then the sidecars. Both always run;
the most severe problem of the two decides the state (3.4).

The gateway restarts only when ``numTrustedProxies`` changed since the last applied spec; unlike the
reference (quirk 2) the decision is a pure comparison, evaluated once per pass, so one change gives one
patch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kyma_istio.api import conditions as c
from kyma_istio.api import names
from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.seam import PatchType
from kyma_istio.reconcile import sidecars
from kyma_istio.reconcile.context import Deps, rfc3339
from kyma_istio.reconcile.draft import Draft

if TYPE_CHECKING:
    from kyma_istio.reconcile.install import Install


def gateway_restart_needed(step: Install) -> bool:
    """``numTrustedProxies`` differs from the last applied value (absent counts as its own value)."""
    now = step.spec.config.num_trusted_proxies if step.spec.config else None
    last_spec = step.last.spec if step.last else None
    before = last_spec.config.num_trusted_proxies if last_spec and last_spec.config else None
    return now != before


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


async def run(step: Install, deps: Deps, draft: Draft) -> c.Problem | None:
    """Both restarters; the worse problem, or None."""
    problems: list[c.Problem] = []
    gateway_problem: c.Problem | None = None
    if gateway_restart_needed(step):
        try:
            await restart_gateway(deps)
            await deps.events.post(
                step.cr,
                type_="Normal",
                reason="IngressGatewayRestarted",
                message="numTrustedProxies changed; istio-system/istio-ingressgateway restarted",
            )
        except errors.ClusterError as err:
            gateway_problem = c.GATEWAY_RESTART_FAILED.problem(str(err))
    if gateway_problem is None:
        draft.set(c.Reason.INGRESS_GATEWAY_RESTART_SUCCEEDED)
    else:
        draft.record(gateway_problem)
        problems.append(gateway_problem)
    sidecar_problem = await sidecars.restart_outdated(step, deps, draft)
    if sidecar_problem is not None:
        problems.append(sidecar_problem)
    return c.most_severe(problems)

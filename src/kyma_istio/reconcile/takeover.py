"""The I/O half of the takeover rule (``mesh.takeover``): read the installed istiod, decide the hub.

The reconciler, ``kyma-istio diff`` and ``kyma-istio plan-restarts`` all resolve the hub here, so a
preview never shows an image change the operator would not make.
"""

from __future__ import annotations

from kyma_istio.api import names
from kyma_istio.k8s import kinds
from kyma_istio.k8s.seam import KubeApi
from kyma_istio.mesh import takeover


async def resolve_hub(kube: KubeApi, configured: str | None) -> str:
    """The hub to install from; reads istiod's Deployment only when no hub is configured."""
    if configured:
        return configured
    istiod = await kube.get(kinds.DEPLOYMENT, takeover.ISTIOD_DEPLOYMENT, names.ISTIO_NAMESPACE)
    return takeover.choose_hub(None, takeover.running_istiod_image(istiod))

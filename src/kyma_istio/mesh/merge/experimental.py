"""``spec.experimental``: istiod feature flags for Gateway API previews (spec 10.2).

Only an operator started with experimental features honours them; any other operator ignores the field
during the merge (the reconcile pass reports a Warning instead). The flags are env vars on istiod.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from kyma_istio.api.v1alpha2 import Experimental
from kyma_istio.mesh.merge.deep import append_at


def apply_experimental(
    iop: Mapping[str, Any], experimental: Experimental | None, *, enabled: bool
) -> dict[str, Any]:
    """Append each flag's istiod env var set to ``"true"``, only when experimental features are enabled."""
    pilot = experimental.pilot if experimental else None
    if not enabled or pilot is None:
        return copy.deepcopy(dict(iop))
    flags = {
        "PILOT_ENABLE_ALPHA_GATEWAY_API": pilot.enable_alpha_gateway_api,
        "PILOT_MULTI_NETWORK_DISCOVER_GATEWAY_API": pilot.enable_multi_network_discover_gateway_api,
    }
    env = [{"name": name, "value": "true"} for name, on in flags.items() if on]
    return append_at(iop, ("spec", "components", "pilot", "k8s", "env"), env)

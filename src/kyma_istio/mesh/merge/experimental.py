"""``spec.experimental``: istiod feature flags for Gateway API previews (spec 10.2) and ambient mode.

Only an operator started with experimental features honours them; any other operator ignores the field
during the merge (the reconcile pass reports a Warning instead). The flags are env vars on istiod;
ambient mode adds ztunnel, the CNI's ambient redirection and HBONE in every proxy, as Kyma 1.24+ does.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from kyma_istio.api.v1alpha2 import Experimental
from kyma_istio.mesh.merge.deep import append_at, deep_merge


def apply_experimental(
    iop: Mapping[str, Any], experimental: Experimental | None, *, enabled: bool
) -> dict[str, Any]:
    """Append each flag's istiod env var set to ``"true"``, only when experimental features are enabled."""
    if not enabled or experimental is None:
        return copy.deepcopy(dict(iop))
    iop = _apply_ambient(iop, experimental.enable_ambient)
    pilot = experimental.pilot
    if pilot is None:
        return iop
    flags = {
        "PILOT_ENABLE_ALPHA_GATEWAY_API": pilot.enable_alpha_gateway_api,
        "PILOT_MULTI_NETWORK_DISCOVER_GATEWAY_API": pilot.enable_multi_network_discover_gateway_api,
    }
    env = [{"name": name, "value": "true"} for name, on in flags.items() if on]
    return append_at(iop, ("spec", "components", "pilot", "k8s", "env"), env)


def _apply_ambient(iop: Mapping[str, Any], enable_ambient: bool | None) -> dict[str, Any]:
    """ztunnel on, istiod and the CNI in ambient mode, HBONE in the proxies' metadata; nothing when off."""
    if not enable_ambient:
        return copy.deepcopy(dict(iop))
    patch = {
        "spec": {
            "components": {"ztunnel": {"enabled": True}},
            "meshConfig": {"defaultConfig": {"proxyMetadata": {"ISTIO_META_ENABLE_HBONE": "true"}}},
            "values": {
                "pilot": {"env": {"PILOT_ENABLE_AMBIENT": "true"}},
                "cni": {"ambient": {"enabled": True}},
            },
        }
    }
    return deep_merge(iop, patch)

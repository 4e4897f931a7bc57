"""``spec.compatibilityMode``: undo the Istio 1.23 behaviour changes, giving 1.22 behaviour (spec 5.5).

Istio exposes each change as a feature flag; compatibility turns the flags back off, on istiod (env) and
on every proxy (proxy metadata). When the mode is off, nothing is added, so Istio's new defaults apply.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

from kyma_istio.mesh.merge.deep import append_at, deep_merge, patch_at

PILOT_ENV: Final = {"ENABLE_DELIMITED_STATS_TAG_REGEX": "false"}
"""istiod env vars set in compatibility mode."""
PROXY_METADATA: Final = {
    "ENABLE_DEFERRED_CLUSTER_CREATION": "false",
    "ENABLE_DELIMITED_STATS_TAG_REGEX": "false",
}
"""Proxy metadata set in compatibility mode."""


def apply_compatibility(iop: Mapping[str, Any], compatibility_mode: bool | None) -> dict[str, Any]:
    """Append the pilot env vars and set the proxy metadata when compatibility mode is on."""
    if not compatibility_mode:
        return copy.deepcopy(dict(iop))
    env = [{"name": name, "value": value} for name, value in PILOT_ENV.items()]
    with_env = append_at(iop, ("spec", "components", "pilot", "k8s", "env"), env)
    metadata = patch_at("spec", "meshConfig", "defaultConfig", "proxyMetadata", value=dict(PROXY_METADATA))
    return deep_merge(with_env, metadata)

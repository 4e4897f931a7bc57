"""``spec.config`` into ``meshConfig``: trusted proxies and external authorizers (spec 5.4).

``gatewayExternalTrafficPolicy`` also lives in ``spec.config`` but lands on the ingress gateway
component, so it is merged in :mod:`kyma_istio.mesh.merge.components`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from kyma_istio.api.v1alpha2 import Authorizer, Config
from kyma_istio.mesh.merge.deep import append_at, deep_merge, patch_at


def apply_num_trusted_proxies(iop: Mapping[str, Any], config: Config | None) -> dict[str, Any]:
    """Set ``gatewayTopology.numTrustedProxies`` when the CR gives it; 0 is a real value, absent is not."""
    if config is None or config.num_trusted_proxies is None:
        return copy.deepcopy(dict(iop))
    patch = patch_at(
        "spec",
        "meshConfig",
        "defaultConfig",
        "gatewayTopology",
        "numTrustedProxies",
        value=config.num_trusted_proxies,
    )
    return deep_merge(iop, patch)


def extension_provider(authorizer: Authorizer) -> dict[str, Any]:
    """An authorizer as an ``envoyExtAuthzHttp`` extension provider; header lists it omits stay absent."""
    headers = authorizer.headers
    in_check = headers.in_check if headers else None
    to_upstream = headers.to_upstream if headers else None
    to_downstream = headers.to_downstream if headers else None
    optional = {
        "includeRequestHeadersInCheck": in_check.include if in_check else None,
        "includeAdditionalHeadersInCheck": in_check.add if in_check else None,
        "headersToUpstreamOnAllow": to_upstream.on_allow if to_upstream else None,
        "headersToDownstreamOnAllow": to_downstream.on_allow if to_downstream else None,
        "headersToDownstreamOnDeny": to_downstream.on_deny if to_downstream else None,
    }
    http: dict[str, Any] = {"service": authorizer.service, "port": authorizer.port}
    http.update({key: copy.deepcopy(value) for key, value in optional.items() if value is not None})
    return {"name": authorizer.name, "envoyExtAuthzHttp": http}


def apply_authorizers(iop: Mapping[str, Any], config: Config | None) -> dict[str, Any]:
    """Append one extension provider per authorizer, in CR order, after the template's providers."""
    authorizers = (config.authorizers if config else None) or []
    providers = [extension_provider(authorizer) for authorizer in authorizers]
    return append_at(iop, ("spec", "meshConfig", "extensionProviders"), providers)

"""``spec.config`` into ``meshConfig``: trusted proxies, external authorizers (spec 5.4) and the settings
later Kyma releases added (XFCC, Prometheus merge, trust domain, DNS proxying, proxy stats).

``gatewayExternalTrafficPolicy`` also lives in ``spec.config`` but lands on the ingress gateway
component, so it is merged in :mod:`kyma_istio.mesh.merge.components`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from kyma_istio.api.v1alpha2 import Authorizer, Config
from kyma_istio.mesh.merge.deep import append_at, deep_merge, patch_at

_GO_TERM: Final = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_NANOSECONDS: Final = {
    "ns": Decimal(1),
    "us": Decimal(10**3),
    "µs": Decimal(10**3),
    "μs": Decimal(10**3),
    "ms": Decimal(10**6),
    "s": Decimal(10**9),
    "m": Decimal(60 * 10**9),
    "h": Decimal(3600 * 10**9),
}


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
    if not authorizer.service:
        # Optional since Kyma 1.24; Kyma's proto marshalling leaves an empty one out.
        del http["service"]
    http.update({key: copy.deepcopy(value) for key, value in optional.items() if value is not None})
    if authorizer.path_prefix is not None:
        http["pathPrefix"] = authorizer.path_prefix
    if authorizer.timeout is not None:
        http["timeout"] = proto_duration(authorizer.timeout)
    return {"name": authorizer.name, "envoyExtAuthzHttp": http}


def proto_duration(go_duration: str) -> str:
    """A Go duration (``1m30s``, ``500ms``) in protobuf's JSON form (``90s``, ``0.500s``), exactly.

    istioctl reads ``meshConfig`` as protobuf JSON, which takes only seconds with a fraction. Kyma keeps
    whole seconds only (``500ms`` becomes ``0s``); the value here keeps every nanosecond.
    """
    if go_duration == "0":
        return "0s"
    nanoseconds, position = Decimal(0), 0
    for match in _GO_TERM.finditer(go_duration):
        if match.start() != position:
            break
        nanoseconds += Decimal(match.group(1)) * _NANOSECONDS[match.group(2)]
        position = match.end()
    if position != len(go_duration) or not go_duration:
        raise ValueError(f"not a Go duration: {go_duration!r}")
    whole = int(nanoseconds)  # Go truncates below a nanosecond, too.
    seconds, fraction = divmod(whole, 10**9)
    if not fraction:
        return f"{seconds}s"
    return f"{seconds}.{fraction:09d}".rstrip("0") + "s"


def apply_authorizers(iop: Mapping[str, Any], config: Config | None) -> dict[str, Any]:
    """Append one extension provider per authorizer, in CR order, after the template's providers."""
    authorizers = (config.authorizers if config else None) or []
    providers = [extension_provider(authorizer) for authorizer in authorizers]
    return append_at(iop, ("spec", "meshConfig", "extensionProviders"), providers)


def apply_mesh_settings(iop: Mapping[str, Any], config: Config | None) -> dict[str, Any]:
    """The settings Kyma 1.15-1.30 added to ``spec.config``, each only when set, except
    ``enablePrometheusMerge``, which is always written (false when unset), as Kyma does."""
    telemetry = config.telemetry if config else None
    metrics = telemetry.metrics if telemetry else None
    patch: dict[str, Any] = {"enablePrometheusMerge": bool(metrics and metrics.prometheus_merge)}
    default_config: dict[str, Any] = {}
    if config is not None:
        if config.forward_client_cert_details is not None:
            default_config["gatewayTopology"] = {
                "forwardClientCertDetails": config.forward_client_cert_details
            }
        if config.trust_domain is not None:
            patch["trustDomain"] = config.trust_domain
        if config.enable_dns_proxying is not None:
            dns_capture = "true" if config.enable_dns_proxying else "false"
            default_config["proxyMetadata"] = {"ISTIO_META_DNS_CAPTURE": dns_capture}
        regexps = config.proxy_stats_matcher.inclusion_regexps if config.proxy_stats_matcher else None
        if regexps:
            default_config["proxyStatsMatcher"] = {"inclusionRegexps": list(regexps)}
    if default_config:
        patch["defaultConfig"] = default_config
    return deep_merge(iop, patch_at("spec", "meshConfig", value=patch))

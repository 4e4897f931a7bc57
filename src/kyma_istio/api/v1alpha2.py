"""The ``Istio`` custom resource, ``operator.kyma-project.io/v1alpha2``, as pydantic models.

This is the source of truth for the CRD (``kyma-istio crd`` generates ``deploy/crds/`` from it) and the
operator-side validation: every pattern, range and CEL rule of the Kyma CRD is expressed here once and
emitted to the schema, so the API server and ``kyma-istio render`` refuse the same input with the same
rule. The shape follows Kyma Istio 1.10 (spec section 2) field by field; existing CRs parse unchanged.
"""

from __future__ import annotations

import enum
import re
from datetime import datetime
from typing import Annotated, Literal

import re2
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from kyma_istio.api import names
from kyma_istio.api.affinity import Affinity
from kyma_istio.api.base import ApiModel

INT32_MAX = 2_147_483_647
UINT32_MAX = 4_294_967_295

CPU_PATTERN = r"^([0-9]+m?|[0-9]\.[0-9]{1,3})$"
MEMORY_PATTERN = r"^[0-9]+(((\.[0-9]+)?(E|P|T|G|M|k|Ei|Pi|Ti|Gi|Mi|Ki|m)?)|(e[0-9]+))$"
MAX_SURGE_PATTERN = r"^[0-9]+%?$"
MAX_UNAVAILABLE_PATTERN = r"^((100|[0-9]{1,2})%|[0-9]+)$"

INT_OR_STRING_RULE = "(type(self) == int ? self >= 0 && self <= 2147483647: self.size() >= 0)"
INT_OR_STRING_MESSAGE = "must not be negative, more than 2147483647 or an empty string"


def _int_or_string_check(pattern: str) -> PlainValidator:
    """Kyma's pattern (strings) and CEL rule (both) for an int-or-string field, checked here too.

    A plain validator rather than ``int | str`` so that a wrong value yields one error at the field's
    own path (a union would add one error per member), and so that ``True`` is not taken for ``1``.
    """

    def check(value: object) -> int | str:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise PydanticCustomError("int_or_string_type", "must be an integer or a string")
        # An empty string fails the pattern below, as on the API server, where the rule's
        # ``self.size() >= 0`` never fails.
        if isinstance(value, int) and not 0 <= value <= INT32_MAX:
            raise PydanticCustomError("int_or_string_range", INT_OR_STRING_MESSAGE)
        if isinstance(value, str) and not re.fullmatch(pattern, value):
            raise PydanticCustomError(
                "string_pattern_mismatch", "String should match pattern '{pattern}'", {"pattern": pattern}
            )
        return value

    return PlainValidator(check)


def _int_or_string_schema(pattern: str) -> WithJsonSchema:
    """The CRD schema of an int-or-string field, spelled as Kubernetes requires it."""
    return WithJsonSchema(
        {
            "x-kubernetes-int-or-string": True,
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "pattern": pattern,
            "x-kubernetes-validations": [{"rule": INT_OR_STRING_RULE, "message": INT_OR_STRING_MESSAGE}],
        }
    )


MaxSurge = Annotated[
    int | str, _int_or_string_check(MAX_SURGE_PATTERN), _int_or_string_schema(MAX_SURGE_PATTERN)
]
MaxUnavailable = Annotated[
    int | str, _int_or_string_check(MAX_UNAVAILABLE_PATTERN), _int_or_string_schema(MAX_UNAVAILABLE_PATTERN)
]
Cpu = Annotated[str, Field(pattern=CPU_PATTERN)]
Memory = Annotated[str, Field(pattern=MEMORY_PATTERN)]
Replicas = Annotated[StrictInt, Field(ge=0, le=INT32_MAX, json_schema_extra={"format": "int32"})]

TRUST_DOMAIN_PATTERN = r"^[a-z0-9]*([a-z0-9-_]*)?(\.[a-z0-9]*([a-z0-9-_]*[a-z0-9]*)?)*$"
"""Kyma's rule for ``trustDomain`` (1.24+): lower-case DNS-like labels separated by dots."""

GO_DURATION_PATTERN = r"^(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$"
"""A non-negative Go ``time.Duration`` as ``metav1.Duration`` spells it: ``5s``, ``1m30s``, ``250ms``.

Kyma's CRD types the authorizer timeout as a plain string and only its Go client refuses a bad one, after
the CR is stored; here the API server refuses it at admission. Negative timeouts, which Go would parse,
are refused: an authorization request cannot time out before it starts."""

RE2_RULE = "self.all(x, type(''.matches(x)) == bool)"
"""CEL refuses what Go's regexp cannot compile (RE2 syntax, as Envoy's); ``matches`` on an invalid
expression is an evaluation error, which the API server reports as a refusal of the field."""
RE2_MESSAGE = "each entry must be a valid RE2 regular expression"
MAX_REGEXPS = 64
MAX_REGEXP_LENGTH = 1024
"""Bounds Kyma's CRD does not set: without them the API server refuses the CEL rule above as too costly
to evaluate (its cost estimate grows with list size times string length)."""

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def _check_re2(expression: str) -> str:
    """``expression`` when RE2 (Envoy's engine) compiles it; Python's ``re`` accepts more, e.g. ``(?<=x)``."""
    try:
        re2.compile(expression, options=_RE2_OPTIONS)
    except re2.error as error:
        detail = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
        raise PydanticCustomError(
            "re2_invalid",
            "must be a valid RE2 regular expression ({detail})",
            {"detail": detail},
        ) from error
    return expression


Re2Expression = Annotated[str, AfterValidator(_check_re2)]


def _check_go_duration(value: str) -> str:
    """``value`` when it is a non-negative Go duration; the CRD's pattern says the same to the API server."""
    if not re.fullmatch(GO_DURATION_PATTERN, value):
        raise PydanticCustomError(
            "go_duration", "must be a non-negative Go duration such as 5s, 1m30s or 250ms"
        )
    return value


GoDuration = Annotated[
    str,
    AfterValidator(_check_go_duration),
    WithJsonSchema({"type": "string", "pattern": GO_DURATION_PATTERN}),
]


# --- spec.config ---------------------------------------------------------------------------------


class InCheck(ApiModel):
    """Headers sent to the authorizer with each check request."""

    include: list[str] | None = None
    """Client request headers to include in the check request."""
    add: dict[str, str] | None = None
    """Fixed headers (name to value) added to the check request."""


class ToUpstream(ApiModel):
    """Authorizer response headers forwarded to the upstream service."""

    on_allow: list[str] | None = None
    """Authorizer response headers added to the request when it is allowed."""


class ToDownstream(ApiModel):
    """Authorizer response headers returned to the client."""

    on_allow: list[str] | None = None
    """Authorizer response headers returned to the client when the request is allowed."""
    on_deny: list[str] | None = None
    """Authorizer response headers returned to the client when the request is denied."""


class Headers(ApiModel):
    """Which headers travel between client, authorizer and upstream."""

    in_check: InCheck | None = None
    """Headers sent to the authorizer in the check request."""
    to_upstream: ToUpstream | None = None
    """Headers forwarded to the upstream after an allow."""
    to_downstream: ToDownstream | None = None
    """Headers returned to the downstream client."""


class Authorizer(ApiModel):
    """An external HTTP authorizer, added to the mesh's extension providers (envoyExtAuthzHttp)."""

    name: str = Field(min_length=1)
    """Unique name; AuthorizationPolicies with action CUSTOM refer to it."""
    service: str | None = None
    """Host of the authorizer service, ``[Namespace/]Hostname``, for example
    ``my-auth.ns.svc.cluster.local``. Optional since Kyma 1.24, as in Kyma; an empty one is left out."""
    port: StrictInt = Field(ge=1, le=65535, json_schema_extra={"format": "int32"})
    """Port of the authorizer service."""
    headers: Headers | None = None
    """Headers to send to the authorizer and to pass on after its decision."""
    path_prefix: str | None = None
    """Prefix added to the path of the check request, for example ``/check?original_path=``."""
    timeout: GoDuration | None = None
    """Timeout of the check request, as a Go duration (``5s``, ``1m30s``, ``250ms``). Kept to the
    nanosecond; Kyma cuts it to whole seconds, so ``500ms`` becomes no timeout there."""


class Metrics(ApiModel):
    """Metrics settings of the mesh."""

    prometheus_merge: StrictBool | None = None
    """Merge the application's Prometheus metrics with Istio's: every injected pod is annotated to be
    scraped at ``:15020/stats/prometheus`` (the mesh's status port). Off when unset."""


class Telemetry(ApiModel):
    """Telemetry settings of the mesh."""

    metrics: Metrics | None = None
    """Metrics settings."""


class ProxyStatsMatcher(ApiModel):
    """Which Envoy statistics the proxies emit beyond Istio's defaults."""

    inclusion_regexps: (
        Annotated[
            list[Annotated[Re2Expression, Field(max_length=MAX_REGEXP_LENGTH)]],
            Field(
                max_length=MAX_REGEXPS,
                json_schema_extra={"x-kubernetes-validations": [{"rule": RE2_RULE, "message": RE2_MESSAGE}]},
            ),
        ]
        | None
    ) = None
    """Statistics whose names match any of these RE2 regular expressions are emitted, for example
    ``.*outlier_detection.*``. Each must compile as RE2 (Envoy's syntax, not PCRE); at most 64 expressions
    of at most 1024 characters, so that the API server can afford to check them."""


ForwardClientCertDetails = Literal[
    "APPEND_FORWARD", "SANITIZE_SET", "SANITIZE", "ALWAYS_FORWARD_ONLY", "FORWARD_ONLY"
]


class Config(ApiModel):
    """Mesh-wide configuration."""

    num_trusted_proxies: StrictInt | None = Field(
        default=None, ge=0, le=UINT32_MAX, json_schema_extra={"format": "int64"}
    )
    """Number of trusted proxies in front of the ingress gateway (X-Forwarded-For handling). Unset and 0
    differ: unset keeps Istio's default."""
    authorizers: list[Authorizer] | None = None
    """External authorizers, appended to the mesh's extension providers. Names must be unique."""
    gateway_external_traffic_policy: Literal["Local", "Cluster"] | None = None
    """externalTrafficPolicy of the ingress gateway Service; Local keeps the client source IP."""
    forward_client_cert_details: ForwardClientCertDetails | None = None
    """How the gateways handle the X-Forwarded-Client-Cert header (``gatewayTopology``); Istio's
    default for gateways, SANITIZE_SET, applies when unset. A change restarts the gateways."""
    telemetry: Telemetry | None = None
    """Telemetry settings."""
    trust_domain: str | None = Field(default=None, min_length=1, max_length=255, pattern=TRUST_DOMAIN_PATTERN)
    """The mesh's trust domain (SPIFFE identities ``spiffe://<trustDomain>/ns/...``); ``cluster.local`` when
    unset. A change restarts the gateways."""
    enable_dns_proxying: StrictBool | None = Field(default=None, alias="enableDNSProxying")
    """Let the proxies answer DNS (``ISTIO_META_DNS_CAPTURE``). Unset keeps Istio's default; a change,
    from unset to false too, restarts every injected workload."""
    proxy_stats_matcher: ProxyStatsMatcher | None = None
    """Extra Envoy statistics to emit. A change restarts every injected workload and the gateways."""


# --- spec.components -----------------------------------------------------------------------------


class ResourceClaims(ApiModel):
    """CPU and memory quantities."""

    cpu: Cpu | None = None
    """CPU, for example ``100m`` or ``1.5``."""
    memory: Memory | None = None
    """Memory, for example ``128Mi`` or ``1G``."""


class Resources(ApiModel):
    """Compute resources of a container."""

    limits: ResourceClaims | None = None
    """Maximum resources the container may use."""
    requests: ResourceClaims | None = None
    """Resources reserved for the container."""


class HPASpec(ApiModel):
    """Replica bounds of the component's HorizontalPodAutoscaler."""

    max_replicas: Replicas | None = None
    """Upper bound of replicas."""
    min_replicas: Replicas | None = None
    """Lower bound of replicas."""


class RollingUpdate(ApiModel):
    """Rolling update parameters of the component's Deployment."""

    max_surge: MaxSurge | None = None
    """Pods created above the desired count during an update: a number or a percentage."""
    max_unavailable: MaxUnavailable | None = None
    """Pods that may be unavailable during an update: a number or a percentage (at most 100%)."""


class Strategy(ApiModel):
    """Deployment update strategy."""

    rolling_update: RollingUpdate
    """Rolling update parameters."""


class KubernetesResourcesConfig(ApiModel):
    """Kubernetes settings of a Deployment-based component (istiod, ingress gateway)."""

    hpa_spec: HPASpec | None = None
    """Autoscaler bounds."""
    strategy: Strategy | None = None
    """Update strategy."""
    resources: Resources | None = None
    """Compute resources."""


class IstioComponent(ApiModel):
    """A Deployment-based component."""

    k8s: KubernetesResourcesConfig
    """Kubernetes settings of the component."""


class EgressGatewayComponent(ApiModel):
    """The istio-egressgateway: off unless enabled."""

    enabled: StrictBool | None = None
    """Install the egress gateway."""
    k8s: KubernetesResourcesConfig | None = None
    """Kubernetes settings of the egress gateway, merged as the ingress gateway's are."""


class CniK8sConfig(ApiModel):
    """Kubernetes settings of the CNI DaemonSet."""

    affinity: Affinity | None = None
    """Scheduling affinity. Each of nodeAffinity, podAffinity and podAntiAffinity given here replaces the
    default one whole."""
    resources: Resources | None = None
    """Compute resources."""


class CniComponent(ApiModel):
    """The Istio CNI node agent."""

    k8s: CniK8sConfig
    """Kubernetes settings of the CNI DaemonSet."""


class ProxyK8sConfig(ApiModel):
    """Kubernetes settings of the sidecar proxy."""

    resources: Resources | None = None
    """Compute resources of every istio-proxy sidecar."""


class ProxyComponent(ApiModel):
    """The istio-proxy sidecar."""

    k8s: ProxyK8sConfig
    """Kubernetes settings of the sidecar."""


class Components(ApiModel):
    """Per-component Kubernetes settings."""

    pilot: IstioComponent | None = None
    """istiod."""
    ingress_gateway: IstioComponent | None = None
    """The istio-ingressgateway."""
    cni: CniComponent | None = None
    """The Istio CNI node agent."""
    proxy: ProxyComponent | None = None
    """The istio-proxy sidecar of every workload."""
    egress_gateway: EgressGatewayComponent | None = None
    """The istio-egressgateway."""


# --- spec.experimental ---------------------------------------------------------------------------


class PilotFeatures(ApiModel):
    """Experimental istiod features."""

    enable_alpha_gateway_api: StrictBool | None = Field(default=None, alias="enableAlphaGatewayAPI")
    """Sets PILOT_ENABLE_ALPHA_GATEWAY_API on istiod."""
    enable_multi_network_discover_gateway_api: StrictBool | None = Field(
        default=None, alias="enableMultiNetworkDiscoverGatewayAPI"
    )
    """Sets PILOT_MULTI_NETWORK_DISCOVER_GATEWAY_API on istiod."""


class Experimental(ApiModel):
    """Experimental features; honoured only when the operator runs with experimental features enabled."""

    pilot: PilotFeatures | None = None
    """Experimental istiod features."""
    enable_ambient: StrictBool | None = None
    """Install ambient mode (ztunnel, the CNI's ambient redirection, HBONE in the proxies)."""


class IstioSpec(ApiModel):
    """The desired state of the Istio installation."""

    compatibility_mode: StrictBool | None = None
    """Keep the behaviour of the previous Istio minor release where 1.23 changed it."""
    config: Config | None = None
    """Mesh-wide configuration."""
    components: Components | None = None
    """Per-component Kubernetes settings."""
    experimental: Experimental | None = None
    """Experimental features."""
    network_policies_enabled: StrictBool | None = None
    """Install the NetworkPolicies the module needs in deny-all ``kyma-system`` and ``istio-system``
    (Kyma 1.26+). Accepted and kept; not acted on by this release."""


# --- status --------------------------------------------------------------------------------------


class State(enum.StrEnum):
    """The CR's ``status.state``."""

    PROCESSING = "Processing"
    DELETING = "Deleting"
    READY = "Ready"
    ERROR = "Error"
    WARNING = "Warning"


CONDITION_TYPE_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)
CONDITION_REASON_PATTERN = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
CONDITION_MESSAGE_MAX_LENGTH = 32768


class Condition(BaseModel):
    """One aspect of the CR's state, as a Kubernetes ``metav1.Condition``."""

    model_config = ConfigDict(
        alias_generator=lambda s: s,
        extra="ignore",
        frozen=True,
        use_attribute_docstrings=True,
        # Kubernetes requires ``message``; the empty default only spares callers an argument.
        json_schema_extra={"required": ["type", "status", "reason", "message", "lastTransitionTime"]},
    )

    type: str = Field(max_length=316, pattern=CONDITION_TYPE_PATTERN)
    """The aspect this condition reports on: ``Ready`` or ``ProxySidecarRestartSucceeded``."""
    status: Literal["True", "False", "Unknown"]
    """Whether the condition holds."""
    reason: str = Field(min_length=1, max_length=1024, pattern=CONDITION_REASON_PATTERN)
    """Why the condition last changed, in CamelCase, for programs to match on."""
    # A factory rather than ``""``: the CRD sets no defaults, and a factory does not show in the schema.
    # The length limit is the API server's only, so that a long error never stops a status from being built.
    message: str = Field(default_factory=str, json_schema_extra={"maxLength": CONDITION_MESSAGE_MAX_LENGTH})
    """Details for people; may be empty."""
    lastTransitionTime: datetime  # noqa: N815 - wire name
    """When ``status`` last changed."""
    observedGeneration: int | None = Field(  # noqa: N815 - wire name
        default=None, ge=0, json_schema_extra={"format": "int64"}
    )
    """The ``metadata.generation`` the condition was computed from; Kyma never sets it."""


class IstioStatus(BaseModel):
    """The observed state of the installation, written by the operator only."""

    # Kyma's schema field by field, so that tools reading Kyma's status read ours unchanged.

    model_config = ConfigDict(extra="ignore", frozen=True, use_attribute_docstrings=True)

    state: State
    """Overall state of the installation: Processing, Deleting, Ready, Error or Warning."""
    description: str | None = None
    """Why the CR is in its state; empty when Ready."""
    conditions: list[Condition] | None = None
    """Detailed conditions; entries are updated in place and never removed."""


class ObjectMeta(BaseModel):
    """The metadata fields the operator reads; everything else is kept as is."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = "default"
    namespace: str = names.OPERATOR_NAMESPACE
    uid: str | None = None
    generation: int | None = None
    resourceVersion: str | None = None  # noqa: N815 - wire name
    creationTimestamp: datetime | None = None  # noqa: N815 - wire name
    deletionTimestamp: datetime | None = None  # noqa: N815 - wire name
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    finalizers: list[str] | None = None


class Istio(BaseModel):
    """A whole ``Istio`` object as read from a file or the API server."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    apiVersion: Literal["operator.kyma-project.io/v1alpha2"] = "operator.kyma-project.io/v1alpha2"  # noqa: N815
    kind: Literal["Istio"] = "Istio"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: IstioSpec = Field(default_factory=IstioSpec)
    status: IstioStatus | None = None

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
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

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


def _int_or_string(pattern: str) -> Any:
    """An int-or-string field with the Kyma pattern (strings) and CEL rule (both), checked here too."""
    compiled = re.compile(pattern)

    def check(value: int | str) -> int | str:
        if isinstance(value, int):
            if not 0 <= value <= INT32_MAX:
                raise ValueError(INT_OR_STRING_MESSAGE)
        elif value == "":
            raise ValueError(INT_OR_STRING_MESSAGE)
        elif not compiled.search(value):
            raise ValueError(f"string should match pattern '{pattern}'")
        return value

    schema = {
        "x-kubernetes-int-or-string": True,
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "pattern": pattern,
        "x-kubernetes-validations": [{"rule": INT_OR_STRING_RULE, "message": INT_OR_STRING_MESSAGE}],
    }
    return Annotated[int | str, AfterValidator(check), WithJsonSchema(schema)]


MaxSurge = _int_or_string(MAX_SURGE_PATTERN)
MaxUnavailable = _int_or_string(MAX_UNAVAILABLE_PATTERN)
Cpu = Annotated[str, Field(pattern=CPU_PATTERN)]
Memory = Annotated[str, Field(pattern=MEMORY_PATTERN)]
Replicas = Annotated[int, Field(ge=0, le=INT32_MAX, json_schema_extra={"format": "int32"})]


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
    service: str = Field(min_length=1)
    """Fully qualified host of the authorizer service, for example ``my-auth.ns.svc.cluster.local``."""
    port: int = Field(ge=1, le=65535, json_schema_extra={"format": "int32"})
    """Port of the authorizer service."""
    headers: Headers | None = None
    """Headers to send to the authorizer and to pass on after its decision."""


class Config(ApiModel):
    """Mesh-wide configuration."""

    num_trusted_proxies: int | None = Field(
        default=None, ge=0, le=UINT32_MAX, json_schema_extra={"format": "int64"}
    )
    """Number of trusted proxies in front of the ingress gateway (X-Forwarded-For handling). Unset and 0
    differ: unset keeps Istio's default."""
    authorizers: list[Authorizer] | None = None
    """External authorizers, appended to the mesh's extension providers. Names must be unique."""
    gateway_external_traffic_policy: Literal["Local", "Cluster"] | None = None
    """externalTrafficPolicy of the ingress gateway Service; Local keeps the client source IP."""


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
    """Required. Rolling update parameters."""


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
    """Required. Kubernetes settings of the component."""


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
    """Required. Kubernetes settings of the CNI DaemonSet."""


class ProxyK8sConfig(ApiModel):
    """Kubernetes settings of the sidecar proxy."""

    resources: Resources | None = None
    """Compute resources of every istio-proxy sidecar."""


class ProxyComponent(ApiModel):
    """The istio-proxy sidecar."""

    k8s: ProxyK8sConfig
    """Required. Kubernetes settings of the sidecar."""


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


# --- spec.experimental ---------------------------------------------------------------------------


class PilotFeatures(ApiModel):
    """Experimental istiod features."""

    enable_alpha_gateway_api: bool | None = Field(default=None, alias="enableAlphaGatewayAPI")
    """Sets PILOT_ENABLE_ALPHA_GATEWAY_API on istiod."""
    enable_multi_network_discover_gateway_api: bool | None = Field(
        default=None, alias="enableMultiNetworkDiscoverGatewayAPI"
    )
    """Sets PILOT_MULTI_NETWORK_DISCOVER_GATEWAY_API on istiod."""


class Experimental(ApiModel):
    """Experimental features; honoured only when the operator runs with experimental features enabled."""

    pilot: PilotFeatures | None = None
    """Experimental istiod features."""


class IstioSpec(ApiModel):
    """The desired state of the Istio installation."""

    compatibility_mode: bool | None = None
    """Keep the behaviour of the previous Istio minor release where 1.23 changed it."""
    config: Config | None = None
    """Mesh-wide configuration."""
    components: Components | None = None
    """Per-component Kubernetes settings."""
    experimental: Experimental | None = None
    """Experimental features."""


# --- status --------------------------------------------------------------------------------------


class State(enum.StrEnum):
    """The CR's ``status.state``."""

    PROCESSING = "Processing"
    DELETING = "Deleting"
    READY = "Ready"
    ERROR = "Error"
    WARNING = "Warning"


class Condition(BaseModel):
    """A ``metav1.Condition``; ``observedGeneration`` is accepted and kept when present."""

    model_config = ConfigDict(alias_generator=lambda s: s, extra="ignore", frozen=True)

    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str = ""
    lastTransitionTime: datetime  # noqa: N815 - wire name
    observedGeneration: int | None = None  # noqa: N815 - wire name


class IstioStatus(BaseModel):
    """The observed state, in Kyma's schema so existing tools read it unchanged."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    state: State
    description: str | None = None
    conditions: list[Condition] | None = None


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

    apiVersion: Literal["operator.kyma-project.io/v1alpha2"] = names.API_VERSION  # noqa: N815
    kind: Literal["Istio"] = names.KIND
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: IstioSpec = Field(default_factory=IstioSpec)
    status: IstioStatus | None = None

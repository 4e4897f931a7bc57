"""The Kubernetes ``Affinity`` schema, as the CR's ``components.cni.k8s.affinity`` accepts it.

Kept in its own module because it is the upstream ``core/v1`` shape, not Kyma's: the fields, their
requiredness and their descriptions follow Kubernetes, so a user can paste an affinity from any Pod spec.
"""

from __future__ import annotations

from pydantic import Field, StrictInt

from kyma_istio.api.base import ApiModel


class LabelSelectorRequirement(ApiModel):
    """One ``key operator values`` clause of a label selector."""

    key: str
    """The label key that the selector applies to."""
    operator: str
    """How the key relates to the values: In, NotIn, Exists or DoesNotExist."""
    values: list[str] | None = None
    """Values for In and NotIn; empty for Exists and DoesNotExist."""


class LabelSelector(ApiModel):
    """A label query over a set of resources; the clauses are ANDed."""

    match_expressions: list[LabelSelectorRequirement] | None = None
    """Label selector requirements."""
    match_labels: dict[str, str] | None = None
    """Equality requirements, one per key."""


class NodeSelectorRequirement(ApiModel):
    """One ``key operator values`` clause over node labels or fields."""

    key: str
    """The label key that the selector applies to."""
    operator: str
    """In, NotIn, Exists, DoesNotExist, Gt or Lt."""
    values: list[str] | None = None
    """Values for the operator; one integer for Gt and Lt."""


class NodeSelectorTerm(ApiModel):
    """Requirements ANDed together; an empty term matches no nodes."""

    match_expressions: list[NodeSelectorRequirement] | None = None
    """Requirements by node labels."""
    match_fields: list[NodeSelectorRequirement] | None = None
    """Requirements by node fields."""


class NodeSelector(ApiModel):
    """Terms ORed together."""

    node_selector_terms: list[NodeSelectorTerm]
    """A list of node selector terms."""


class PreferredSchedulingTerm(ApiModel):
    """A weighted node selector term."""

    weight: StrictInt = Field(ge=1, le=100, json_schema_extra={"format": "int32"})
    """Weight of this term, 1-100."""
    preference: NodeSelectorTerm
    """A node selector term with the given weight."""


class NodeAffinity(ApiModel):
    """Node affinity scheduling rules."""

    required_during_scheduling_ignored_during_execution: NodeSelector | None = None
    """Nodes a pod must be scheduled on."""
    preferred_during_scheduling_ignored_during_execution: list[PreferredSchedulingTerm] | None = None
    """Nodes a pod prefers, by weight."""


class PodAffinityTerm(ApiModel):
    """Pods (in namespaces) that a pod should be co-located with, or not, on a topology domain."""

    label_selector: LabelSelector | None = None
    """A label query over the set of pods."""
    namespace_selector: LabelSelector | None = None
    """A label query over the namespaces the term applies to."""
    namespaces: list[str] | None = None
    """Namespaces the term applies to."""
    topology_key: str
    """The node label whose values define a topology domain."""
    match_label_keys: list[str] | None = None
    """Pod label keys whose values are merged into labelSelector with In."""
    mismatch_label_keys: list[str] | None = None
    """Pod label keys whose values are merged into labelSelector with NotIn."""


class WeightedPodAffinityTerm(ApiModel):
    """A pod affinity term with a weight."""

    weight: StrictInt = Field(ge=1, le=100, json_schema_extra={"format": "int32"})
    """Weight of this term, 1-100."""
    pod_affinity_term: PodAffinityTerm
    """The pod affinity term."""


class PodAffinity(ApiModel):
    """Inter-pod affinity scheduling rules."""

    required_during_scheduling_ignored_during_execution: list[PodAffinityTerm] | None = None
    """Terms every scheduling decision must satisfy."""
    preferred_during_scheduling_ignored_during_execution: list[WeightedPodAffinityTerm] | None = None
    """Terms the scheduler prefers, by weight."""


class Affinity(ApiModel):
    """Node affinity, pod affinity and pod anti-affinity."""

    node_affinity: NodeAffinity | None = None
    """Node affinity scheduling rules for the pod."""
    pod_affinity: PodAffinity | None = None
    """Co-locate with these pods."""
    pod_anti_affinity: PodAffinity | None = None
    """Avoid these pods."""

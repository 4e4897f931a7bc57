"""The Istio a CR asks for on this cluster: Nodes -> profile, flavour, provider -> merged IstioOperator.

One builder for the reconciler (what to install), ``kyma-istio diff`` (what is in force and what would
be) and ``kyma-istio plan-restarts`` (which sidecar to expect), so the three can never disagree on how
a CR becomes an IstioOperator.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.lines import Line
from kyma_istio.mesh import profile as profiles
from kyma_istio.mesh.merge import merge


@dataclass(frozen=True)
class ClusterFacts:
    """What the Nodes say about the cluster."""

    profile: profiles.Profile
    flavour: profiles.Flavour
    provider: profiles.CloudProvider


def cluster_facts(nodes: Iterable[Mapping[str, Any]]) -> ClusterFacts:
    """The facts of a cluster from its Node objects; ``ValueError`` on a malformed capacity."""
    facts = [profiles.node_facts(node) for node in nodes]
    return ClusterFacts(
        profile=profiles.choose_profile(facts),
        flavour=profiles.detect_flavour(facts),
        provider=profiles.detect_provider(facts),
    )


@dataclass(frozen=True)
class DesiredIstio:
    """The IstioOperator for a spec on a cluster, with its hash (what the install annotation records)."""

    iop: dict[str, Any]
    iop_hash: str


def iop_hash(iop: Mapping[str, Any]) -> str:
    """A short, stable hash of an IstioOperator: equal documents, equal hashes."""
    return hashlib.sha256(json.dumps(iop, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def desired_istio(
    spec: IstioSpec,
    cluster: ClusterFacts,
    *,
    hub: str,
    experimental: bool,
    line: Line,
) -> DesiredIstio:
    """The IstioOperator of ``line`` that ``spec`` gives on ``cluster`` with images from ``hub``.

    ``ValueError``, ``KeyError`` or ``TypeError`` when the spec cannot be merged into the profile.
    """
    iop = merge(
        spec,
        profile=cluster.profile,
        flavour=cluster.flavour,
        hub=hub,
        line=line,
        experimental_enabled=experimental,
    )
    return DesiredIstio(iop=iop, iop_hash=iop_hash(iop))

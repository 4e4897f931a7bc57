"""Which pods a plan is about, and the target state it moves them to.

A restart plan and an uninstall plan differ only here: the rule that selects a pod and the target
hash. The target hash names the desired sidecar state (image, resources, and the settings the injector
writes into a pod: compatibility mode, DNS proxying, proxy stats matcher, Prometheus merge and the
status port it points at). The executor stamps it on every owner it restarts
(``RESTART_TARGET_ANNOTATION``); new pods inherit it from the template. An owner or pod already stamped
with the current target is never restarted again for it, which makes a restart loop impossible by
construction (this replaces the reference's quirk 5 mitigation, which only looked at non-ready
ReplicaSets).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from kyma_istio.restart._quantity import canonical_quantity
from kyma_istio.restart.podview import PodView
from kyma_istio.restart.predicates import (
    DEFAULT_STATUS_PORT,
    Expectation,
    OutdatedReason,
    is_candidate,
    outdated_reason,
    sidecar_present,
)

_TARGET_LENGTH: Final = 16


def _digest(state: object) -> str:
    text = json.dumps(state, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:_TARGET_LENGTH]


def target_hash(expectation: Expectation) -> str:
    """A short, stable digest of the expected image, proxy resources and injected settings.

    Quantities are canonicalised first, so writing ``1000m`` instead of ``1`` in the CR is not a new
    target (and does not restart anything); the stats regexps are sorted, so reordering them is not
    one either. The settings added later (DNS proxying, stats matcher, Prometheus merge, status port)
    enter only with a value other than their default, so a target stamped before they existed is still
    the same target and an operator upgrade alone does not take stamped owners for unrestarted. Whether
    a setting *just changed* is not part of the target, only its value: the passes that continue a
    restart find the same target and skip every owner already stamped.
    """
    resources = expectation.resources
    state: dict[str, object] = {
        "image": expectation.image,
        "resources": [
            canonical_quantity(value)
            for value in (
                resources.cpu_request,
                resources.memory_request,
                resources.cpu_limit,
                resources.memory_limit,
            )
        ],
        "compatibilityMode": expectation.compatibility_mode,
    }
    if expectation.dns_proxying is not None:
        state["dnsProxying"] = expectation.dns_proxying
    if expectation.stats_inclusion_regexps:
        state["statsInclusionRegexps"] = sorted(expectation.stats_inclusion_regexps)
    if expectation.prometheus_merge:
        state["prometheusMerge"] = True
    if expectation.status_port != DEFAULT_STATUS_PORT:
        state["statusPort"] = expectation.status_port
    return _digest(state)


REMOVAL_TARGET: Final = _digest({"sidecar": False})
"""The target of the uninstall plan: a pod without any Istio proxy."""


@dataclass(frozen=True, slots=True)
class Selection:
    """A plan's selection rule, the pods it considers at all, and its target hash."""

    target: str
    rule: Callable[[PodView], OutdatedReason | None]
    considers: Callable[[PodView], bool]

    def with_injection(self, namespaces: frozenset[str]) -> Selection:
        """This selection, and also the running pods without a sidecar in ``namespaces`` (those whose
        injection label is on), unless the pod opts out of injection; same target."""
        if not namespaces:
            return self
        outdated, considered = self.rule, self.considers

        def missing(pod: PodView) -> bool:
            return (
                pod.namespace in namespaces
                and not pod.has_sidecar_status
                and not pod.proxies
                and not pod.injection_opt_out
                and pod.owner is not None  # a bare pod is nobody's to restart: not a finding
                and pod.phase == "Running"
                and not pod.terminating
                and pod.all_conditions_true
            )

        def rule(pod: PodView) -> OutdatedReason | None:
            return OutdatedReason.SIDECAR_MISSING if missing(pod) else outdated(pod)

        return Selection(target=self.target, rule=rule, considers=lambda pod: considered(pod) or missing(pod))

    def reason(self, pod: PodView) -> OutdatedReason | None:
        """Why ``pod`` is selected, or ``None`` when it is left as it is."""
        return self.rule(pod)

    def wants_restart(self, pod: PodView) -> bool:
        """Selected, not opted out and not already a replacement made for this target.

        The executor asks this when it picks the pods of an eviction action one by one.
        """
        return self.reason(pod) is not None and not pod.opted_out and pod.restart_target != self.target


def restart_selection(expectation: Expectation) -> Selection:
    """Pods whose sidecar is outdated against ``expectation`` (spec 6.3-6.4)."""
    return Selection(
        target=target_hash(expectation),
        rule=lambda pod: outdated_reason(pod, expectation),
        considers=is_candidate,
    )


def removal_selection() -> Selection:
    """Pods that still carry a sidecar after Istio was uninstalled (spec 6.7)."""
    return Selection(target=REMOVAL_TARGET, rule=sidecar_present, considers=lambda pod: not pod.terminating)

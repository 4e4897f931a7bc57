"""Rule 1c: a ``proxyStatsMatcher.inclusionRegexps`` change alters the Envoy bootstrap of every proxy.

The regexps become the mesh's ``defaultConfig.proxyStatsMatcher``, which the injector writes into each
pod's proxy configuration (``PROXY_CONFIG``) and the proxy bakes into its Envoy bootstrap at start: only
a new pod picks a change up. Like the compatibility rule it concerns the
whole mesh and overrides the custom-image exemption. The list is compared sorted, and unset equals
empty, as in the reference: reordering the regexps restarts nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from kyma_istio.restart.podview import PodView
from kyma_istio.restart.predicates.expectation import Expectation
from kyma_istio.restart.predicates.reason import OutdatedReason


def canonical_regexps(regexps: Sequence[str] | None) -> tuple[str, ...]:
    """The regexps as compared and recorded in the restart target: sorted, unset as empty."""
    return tuple(sorted(regexps or ()))


def inclusion_regexps_differ(before: Sequence[str] | None, now: Sequence[str] | None) -> bool:
    """Whether the regexps changed beyond their order (unset and empty are the same)."""
    return canonical_regexps(before) != canonical_regexps(now)


def stats_matcher_changed(pod: PodView, expectation: Expectation) -> OutdatedReason | None:
    """``PROXY_STATS_MATCHER_CHANGED`` for every pod while the regexps differ from the last-applied ones."""
    del pod  # Deliberately pod-independent: the change concerns the whole mesh.
    return OutdatedReason.PROXY_STATS_MATCHER_CHANGED if expectation.stats_matcher_changed else None

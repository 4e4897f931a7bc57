"""Rule 1d: a pod whose ``prometheus.io/*`` annotations do not match the mesh's Prometheus merge setting.

With ``prometheusMerge`` on, the injector points a pod's scrape annotations at the proxy, which serves
the application's metrics merged with its own: ``prometheus.io/path: /stats/prometheus`` and
``prometheus.io/port: <status port>``. With it off, the injector leaves the pod's own annotations. Only
a new pod gets (or loses) that rewrite, so, as in the reference, a pod is outdated when merge is on and
it lacks the path or the port, or when merge is off and it carries either. The comparison is per pod, so
it needs no last-applied value: the first pass after taking over a cluster without the setting finds no
such annotations and restarts nothing. Like the other injection-time settings it overrides the
custom-image exemption: a pinned proxy image does not pin the annotations.

A pod is judged by what the injector would write for it, or a restart could never make it current:

* the user's own annotations of an unmerged pod (``prometheus.io/port: "8080"``, the app's metrics port)
  match neither the stats path nor the status port, so they are never outdated;
* ``prometheus.io/scrape: "false"`` makes the injector leave the pod alone, so its annotations are the
  user's and never outdated (the reference restarted such pods on every pass while merge was on);
* ``prometheus.istio.io/merge-metrics`` (Istio's per-pod switch) wins over the mesh's setting: ``false``
  leaves the user's annotations, ``true`` merges even with the mesh's setting off.

Other annotations that a re-injection keeps as they are (say ``prometheus.io/port`` set by hand to the
status port with another path) are selected like the reference selects them; the restart target keeps
that to one restart per target (``restart.selection``), after which the pod is reported as pending.
"""

from __future__ import annotations

from typing import Final

from kyma_istio.restart.podview import PodView
from kyma_istio.restart.predicates.expectation import Expectation
from kyma_istio.restart.predicates.reason import OutdatedReason

STATS_PATH: Final = "/stats/prometheus"
"""Where the proxy serves the merged metrics."""

_TRUE: Final = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE: Final = frozenset({"0", "f", "F", "FALSE", "false", "False"})
"""Go's ``strconv.ParseBool``, which the injector reads these annotations with."""


def _parse_bool(value: str | None) -> bool | None:
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def merges(pod: PodView, expectation: Expectation) -> bool | None:
    """Whether the injector merges this pod's metrics; ``None`` when it leaves the annotations alone
    whatever the setting (``prometheus.io/scrape: "false"``, or ``merge-metrics: "false"``)."""
    if _parse_bool(pod.scrape.scrape) is False:
        return None
    per_pod = _parse_bool(pod.scrape.merge_metrics)
    if per_pod is False:
        return None
    return True if per_pod else expectation.prometheus_merge


def prometheus_merge_outdated(pod: PodView, expectation: Expectation) -> OutdatedReason | None:
    """``PROMETHEUS_MERGE_OUTDATED`` when the pod's scrape annotations contradict the merge setting."""
    merged = merges(pod, expectation)
    if merged is None:
        return None
    has_path = pod.scrape.path == STATS_PATH
    has_port = pod.scrape.port == str(expectation.status_port)
    outdated = not (has_path and has_port) if merged else has_path or has_port
    return OutdatedReason.PROMETHEUS_MERGE_OUTDATED if outdated else None

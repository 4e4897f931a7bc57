"""The rules for settings the injector writes into each pod: DNS proxying, the proxy stats matcher and
Prometheus merge, their place before the custom-image exemption, and their part in the restart target."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Final

import pytest
from hypothesis import given
from hypothesis import strategies as st
from restart_builders import (
    EXPECTATION,
    IMAGE,
    NS,
    OLD_IMAGE,
    TARGET,
    WEB,
    WEB_OWNERS,
    current_pod,
    outdated_pod,
    owner,
    plan,
    proxy,
)

from kyma_istio.restart._quantity import canonical_quantity
from kyma_istio.restart.outcomes import Outcome
from kyma_istio.restart.plan import plan_restarts
from kyma_istio.restart.podview import ScrapeAnnotations
from kyma_istio.restart.predicates import (
    STATS_PATH,
    Expectation,
    OutdatedReason,
    dns_proxying_changed,
    dns_proxying_differs,
    inclusion_regexps_differ,
    outdated_reason,
    prometheus_merge_outdated,
    stats_matcher_changed,
)
from kyma_istio.restart.selection import target_hash

DNS = replace(EXPECTATION, dns_proxying_changed=True, dns_proxying=True)
STATS = replace(EXPECTATION, stats_matcher_changed=True, stats_inclusion_regexps=(".*outlier.*",))
MERGE_ON = replace(EXPECTATION, prometheus_merge=True)
MERGE_OFF = EXPECTATION
CUSTOM: Final = {"has_custom_proxy_image": True, "proxies": (proxy("registry.local/proxy:mine"),)}
MERGED = ScrapeAnnotations(path=STATS_PATH, port="15020", scrape="true")
"""What the injector writes with merge on and the default status port."""


def scraped(**annotations: str | None) -> ScrapeAnnotations:
    return ScrapeAnnotations(**annotations)


# --- DNS proxying ---------------------------------------------------------------------------------


class TestDnsProxying:
    @pytest.mark.parametrize(
        ("before", "now", "differs"),
        [
            (None, False, True),
            (None, True, True),
            (False, True, True),
            (True, False, True),
            (True, None, True),
            (False, None, True),
            (None, None, False),
            (False, False, False),
            (True, True, False),
        ],
    )
    def test_unset_false_and_true_are_three_values(
        self, before: bool | None, now: bool | None, differs: bool
    ) -> None:
        assert dns_proxying_differs(before, now) is differs

    def test_a_change_selects_every_injected_pod(self) -> None:
        assert dns_proxying_changed(current_pod(), DNS) is OutdatedReason.DNS_PROXYING_CHANGED
        assert outdated_reason(current_pod(), DNS) is OutdatedReason.DNS_PROXYING_CHANGED

    def test_without_a_change_nothing_is_selected(self) -> None:
        unchanged = replace(EXPECTATION, dns_proxying=True)

        assert dns_proxying_changed(current_pod(), unchanged) is None
        assert outdated_reason(current_pod(), unchanged) is None

    def test_a_change_overrides_the_custom_image_exemption(self) -> None:
        assert outdated_reason(current_pod(**CUSTOM), DNS) is OutdatedReason.DNS_PROXYING_CHANGED

    def test_a_pod_that_is_not_a_candidate_is_not_selected(self) -> None:
        assert outdated_reason(current_pod(all_conditions_true=False), DNS) is None
        assert outdated_reason(current_pod(has_sidecar_status=False), DNS) is None


# --- proxy stats matcher --------------------------------------------------------------------------


class TestStatsMatcher:
    @pytest.mark.parametrize(
        ("before", "now"),
        [
            ([".*a.*", ".*b.*"], [".*b.*", ".*a.*"]),
            (None, []),
            ([], None),
            (None, None),
            ([".*a.*"], [".*a.*"]),
        ],
    )
    def test_order_and_unset_versus_empty_are_no_change(
        self, before: list[str] | None, now: list[str] | None
    ) -> None:
        assert not inclusion_regexps_differ(before, now)

    @pytest.mark.parametrize(
        ("before", "now"),
        [(None, [".*a.*"]), ([".*a.*"], []), ([".*a.*"], [".*a.*", ".*b.*"]), ([".*a.*"], [".*A.*"])],
    )
    def test_added_removed_or_replaced_regexps_are_a_change(
        self, before: list[str] | None, now: list[str] | None
    ) -> None:
        assert inclusion_regexps_differ(before, now)

    def test_a_change_selects_every_injected_pod_even_with_a_custom_image(self) -> None:
        assert stats_matcher_changed(current_pod(), STATS) is OutdatedReason.PROXY_STATS_MATCHER_CHANGED
        assert outdated_reason(current_pod(**CUSTOM), STATS) is OutdatedReason.PROXY_STATS_MATCHER_CHANGED

    def test_without_a_change_nothing_is_selected(self) -> None:
        assert stats_matcher_changed(current_pod(), EXPECTATION) is None


# --- Prometheus merge -----------------------------------------------------------------------------


class TestPrometheusMerge:
    @pytest.mark.parametrize(
        ("annotations", "outdated"),
        [
            (scraped(), True),
            (scraped(path=STATS_PATH), True),
            (scraped(port="15020"), True),
            (scraped(path=STATS_PATH, port="15020"), False),
            (scraped(path=STATS_PATH, port="15020", scrape="true"), False),
            (scraped(path="/metrics", port="8080"), True),
            (scraped(path=STATS_PATH, port="15090"), True),
        ],
        ids=["none", "path only", "port only", "both", "as injected", "the app's own", "another port"],
    )
    def test_with_merge_on_a_pod_needs_the_stats_path_and_the_status_port(
        self, annotations: ScrapeAnnotations, outdated: bool
    ) -> None:
        reason = prometheus_merge_outdated(current_pod(scrape=annotations), MERGE_ON)

        assert (reason is OutdatedReason.PROMETHEUS_MERGE_OUTDATED) is outdated

    @pytest.mark.parametrize(
        ("annotations", "outdated"),
        [
            (scraped(), False),
            (scraped(path=STATS_PATH), True),
            (scraped(port="15020"), True),
            (scraped(path=STATS_PATH, port="15020"), True),
            (scraped(path="/metrics", port="8080", scrape="true"), False),
            (scraped(path="/metrics"), False),
            (scraped(port="15090"), False),
        ],
        ids=["none", "path only", "port only", "both", "the app's own", "own path", "another port"],
    )
    def test_with_merge_off_a_pod_with_either_the_stats_path_or_the_status_port_is_outdated(
        self, annotations: ScrapeAnnotations, outdated: bool
    ) -> None:
        reason = prometheus_merge_outdated(current_pod(scrape=annotations), MERGE_OFF)

        assert (reason is OutdatedReason.PROMETHEUS_MERGE_OUTDATED) is outdated

    @pytest.mark.parametrize(
        ("annotations", "merge", "outdated"),
        [
            (scraped(path=STATS_PATH, port="15090"), True, False),
            (scraped(path=STATS_PATH, port="15020"), True, True),
            (scraped(path=STATS_PATH, port="15090"), False, True),
            (scraped(port="15020"), False, False),
            (scraped(path="/metrics", port="15090"), False, True),
        ],
    )
    def test_a_non_default_status_port_is_the_one_compared(
        self, annotations: ScrapeAnnotations, merge: bool, outdated: bool
    ) -> None:
        expectation = replace(EXPECTATION, prometheus_merge=merge, status_port=15090)

        reason = prometheus_merge_outdated(current_pod(scrape=annotations), expectation)

        assert (reason is OutdatedReason.PROMETHEUS_MERGE_OUTDATED) is outdated

    @pytest.mark.parametrize("value", ["false", "False", "0", "f"])
    def test_a_pod_the_injector_leaves_alone_for_scrape_false_is_never_outdated(self, value: str) -> None:
        own = current_pod(scrape=scraped(path="/metrics", port="8080", scrape=value))
        stale = current_pod(scrape=scraped(path=STATS_PATH, port="15020", scrape=value))

        for pod in (own, stale):
            assert prometheus_merge_outdated(pod, MERGE_ON) is None
            assert prometheus_merge_outdated(pod, MERGE_OFF) is None

    def test_the_per_pod_merge_switch_wins_over_the_mesh_setting(self) -> None:
        opted_out = current_pod(scrape=scraped(port="8080", merge_metrics="false"))
        opted_in = current_pod(scrape=replace(MERGED, merge_metrics="true"))
        opted_in_unmerged = current_pod(scrape=scraped(port="8080", merge_metrics="true"))

        assert prometheus_merge_outdated(opted_out, MERGE_ON) is None
        assert prometheus_merge_outdated(opted_in, MERGE_OFF) is None
        assert (
            prometheus_merge_outdated(opted_in_unmerged, MERGE_OFF)
            is OutdatedReason.PROMETHEUS_MERGE_OUTDATED
        )

    def test_an_unreadable_per_pod_switch_leaves_the_mesh_setting(self) -> None:
        pod = current_pod(scrape=scraped(merge_metrics="maybe"))

        assert prometheus_merge_outdated(pod, MERGE_ON) is OutdatedReason.PROMETHEUS_MERGE_OUTDATED
        assert prometheus_merge_outdated(pod, MERGE_OFF) is None

    def test_a_pod_after_takeover_of_a_cluster_without_merge_carries_nothing_to_restart(self) -> None:
        assert outdated_reason(current_pod(), MERGE_OFF) is None

    def test_merge_overrides_the_custom_image_exemption(self) -> None:
        pod = current_pod(**CUSTOM)

        assert outdated_reason(pod, MERGE_ON) is OutdatedReason.PROMETHEUS_MERGE_OUTDATED
        assert outdated_reason(replace(pod, scrape=MERGED), MERGE_ON) is None


# --- the injector, as Istio 1.23 rewrites the scrape annotations ----------------------------------

_FALSE = {"0", "f", "F", "FALSE", "false", "False"}
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}


def inject(template: ScrapeAnnotations, *, merge: bool, status_port: int) -> ScrapeAnnotations:
    """The pod's scrape annotations after Istio's injector (``applyPrometheusMerge``) saw its template:
    untouched when scraping is off, when merge is off (the pod's switch winning over the mesh's), or when
    the port already is the status port; otherwise pointed at the proxy's merged metrics."""
    if template.scrape in _FALSE:
        return template
    switch = template.merge_metrics
    enabled = switch in _TRUE if switch in _TRUE | _FALSE else merge
    if not enabled or template.port == str(status_port):
        return template
    return replace(template, path=STATS_PATH, port=str(status_port), scrape="true")


PATHS = st.sampled_from([None, "/metrics", "/custom/metrics"])
PORTS = st.sampled_from([None, "8080", "9090", "15021"])
SCRAPES = st.sampled_from([None, "true", "false", "1", "0", "yes"])
SWITCHES = st.sampled_from([None, "true", "false", "maybe"])
STATUS_PORTS = st.sampled_from([15020, 15090])


@st.composite
def own_templates(draw: st.DrawFn) -> ScrapeAnnotations:
    """A pod template's own scrape annotations: never the stats path nor a status port."""
    return ScrapeAnnotations(
        path=draw(PATHS), port=draw(PORTS), scrape=draw(SCRAPES), merge_metrics=draw(SWITCHES)
    )


def _is_outdated(annotations: ScrapeAnnotations, *, merge: bool, status_port: int) -> bool:
    expectation = replace(EXPECTATION, prometheus_merge=merge, status_port=status_port)
    return outdated_reason(current_pod(scrape=annotations), expectation) is not None


@given(own_templates(), st.booleans(), STATUS_PORTS)
def test_a_pod_the_injector_annotated_for_the_setting_is_not_selected_again(
    template: ScrapeAnnotations, merge: bool, status_port: int
) -> None:
    # After a restart the injector annotates the new pod for the setting in force: merge on rewrites
    # prometheus.io/* to the status port and stats path, merge off keeps the user's own (say 8080).
    restarted = inject(template, merge=merge, status_port=status_port)

    assert not _is_outdated(restarted, merge=merge, status_port=status_port)


@given(own_templates(), st.booleans(), STATUS_PORTS, st.booleans(), STATUS_PORTS)
def test_a_pod_is_selected_exactly_when_a_new_injection_would_annotate_it_otherwise(
    template: ScrapeAnnotations, merge_before: bool, port_before: int, merge: bool, status_port: int
) -> None:
    running = inject(template, merge=merge_before, status_port=port_before)
    restarted = inject(template, merge=merge, status_port=status_port)
    changes = (running.path, running.port) != (restarted.path, restarted.port)

    assert _is_outdated(running, merge=merge, status_port=status_port) is changes


def test_a_pod_whose_own_annotations_name_the_status_port_is_restarted_once_per_target() -> None:
    # With merge off the injector keeps a hand-written prometheus.io/port: "15020"; the rule selects it
    # as the reference does, and the restart target keeps that to one restart: the replacement is pending.
    own = scraped(path="/metrics", port="15020")
    first = plan([current_pod(scrape=own)])
    replaced = plan([current_pod(scrape=own, restart_target=TARGET)])

    assert [action.rules for action in first.actions] == [(OutdatedReason.PROMETHEUS_MERGE_OUTDATED,)]
    assert replaced.actions == ()
    assert [o.outcome for o in replaced.outcomes] == [Outcome.ALREADY_RESTARTED]


# --- order and target -----------------------------------------------------------------------------


class TestOrder:
    def test_compatibility_then_dns_then_stats_then_prometheus_then_image(self) -> None:
        everything = replace(
            EXPECTATION,
            compatibility_changed=True,
            dns_proxying_changed=True,
            stats_matcher_changed=True,
            prometheus_merge=True,
        )
        pod = outdated_pod()

        assert outdated_reason(pod, everything) is OutdatedReason.COMPATIBILITY_MODE_CHANGED
        everything = replace(everything, compatibility_changed=False)
        assert outdated_reason(pod, everything) is OutdatedReason.DNS_PROXYING_CHANGED
        everything = replace(everything, dns_proxying_changed=False)
        assert outdated_reason(pod, everything) is OutdatedReason.PROXY_STATS_MATCHER_CHANGED
        everything = replace(everything, stats_matcher_changed=False)
        assert outdated_reason(pod, everything) is OutdatedReason.PROMETHEUS_MERGE_OUTDATED
        assert outdated_reason(replace(pod, scrape=MERGED), everything) is OutdatedReason.IMAGE_OUTDATED

    def test_a_custom_image_pod_current_in_its_injected_settings_stays_exempt(self) -> None:
        pod = outdated_pod(has_custom_proxy_image=True, proxies=(proxy(OLD_IMAGE, cpu_limit="3"),))

        assert outdated_reason(pod, replace(EXPECTATION, dns_proxying=True)) is None
        assert outdated_reason(replace(pod, scrape=MERGED), MERGE_ON) is None


def _digest(state: object) -> str:
    text = json.dumps(state, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class TestTarget:
    def test_the_default_settings_leave_the_earlier_target_unchanged(self) -> None:
        # What earlier releases stamped: the digest of image, resources and compatibility mode alone.
        earlier = _digest(
            {
                "image": IMAGE,
                "resources": [canonical_quantity(q) for q in ("10m", "32Mi", "1", "1Gi")],
                "compatibilityMode": False,
            }
        )

        assert target_hash(EXPECTATION) == TARGET == earlier
        assert target_hash(replace(EXPECTATION, status_port=15020, stats_inclusion_regexps=())) == TARGET

    @pytest.mark.parametrize(
        "changed",
        [
            replace(EXPECTATION, dns_proxying=False),
            replace(EXPECTATION, dns_proxying=True),
            replace(EXPECTATION, stats_inclusion_regexps=(".*a.*",)),
            replace(EXPECTATION, prometheus_merge=True),
            replace(EXPECTATION, status_port=15090),
        ],
        ids=["dns false", "dns true", "regexps", "merge", "status port"],
    )
    def test_each_new_value_is_a_new_target(self, changed: Expectation) -> None:
        assert target_hash(changed) != TARGET

    def test_unset_false_and_true_dns_proxying_are_three_targets(self) -> None:
        targets = {target_hash(replace(EXPECTATION, dns_proxying=value)) for value in (None, False, True)}

        assert len(targets) == 3

    def test_whether_a_setting_just_changed_is_not_part_of_the_target(self) -> None:
        now = replace(EXPECTATION, dns_proxying=True, stats_inclusion_regexps=(".*a.*",))
        changing = replace(now, dns_proxying_changed=True, stats_matcher_changed=True)

        assert target_hash(changing) == target_hash(now)

    def test_a_pass_that_continues_a_dns_restart_acts_only_on_owners_not_stamped_yet(self) -> None:
        stamped = target_hash(DNS)
        pods = [
            current_pod("web-1", restart_target=stamped),
            current_pod("api-1", owner=owner("ReplicaSet", "api-rs")),
        ]
        owners = {**WEB_OWNERS, (NS, "api-rs"): owner("Deployment", "api")}

        result = plan_restarts(
            pods,
            expectation=DNS,
            replicaset_owners=owners,
            owner_template_targets={WEB: stamped, ("Deployment", NS, "api"): target_hash(EXPECTATION)},
        )

        assert [action.workload.name for action in result.actions] == ["api"]
        assert [(o.workload.name, o.outcome) for o in result.outcomes] == [
            ("api", Outcome.ROLLOUT_VIA_OWNER),
            ("web", Outcome.ALREADY_RESTARTED),
        ]
        assert result.target == stamped

"""The climb's pure decisions: which hop comes next, the whole plan, consent and the skew guard."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kyma_istio.api import names
from kyma_istio.lines import LINES, NEWEST, Line, line
from kyma_istio.mesh import climb


def test_two_minors_below_the_line_climb_through_the_line_in_between() -> None:
    hop = climb.next_hop("1.27.0-distroless", NEWEST)
    assert hop is not None
    assert (hop.line.version, hop.installed, hop.started_from) == ("1.28.3", "1.27.0", "1.27.0")
    assert (hop.number, hop.total, hop.last) == (1, 2, False)
    assert hop.describe() == "climb hop 1 of 2: 1.27.0 -> 1.28.3 (towards 1.29.1)"


@pytest.mark.parametrize(
    "installed",
    [None, "", "latest", "1.29.1", "1.29.2", "1.28.0", "1.28.3-distroless", "1.30.2", "2.0.0", "0.27.0"],
)
def test_no_climb_where_the_version_rule_alone_decides(installed: str | None) -> None:
    """First install, same minor, one minor up, downgrade, another major, an unreadable tag."""
    assert climb.next_hop(installed, NEWEST) is None


def test_no_climb_when_this_build_lacks_a_line_on_the_way() -> None:
    """1.20 -> 1.29 would need 1.21 and 1.22, which this build has no line for: the rule's message says so."""
    assert climb.next_hop("1.20.2", NEWEST) is None
    assert climb.next_hop("1.22.3", NEWEST) is not None  # 1.23 onwards are all here


def test_a_resumed_climb_counts_its_hops_from_where_it_started() -> None:
    hop = climb.next_hop("1.27.0", NEWEST, started_from="1.24.2")
    assert hop is not None
    assert hop.describe() == "climb hop 4 of 5: 1.27.0 -> 1.28.3 (towards 1.29.1)"


@pytest.mark.parametrize("started", [None, "", "nonsense", "1.28.0", "2.24.0", "1.27.9"])
def test_a_start_that_does_not_fit_counts_from_the_installed_release(started: str | None) -> None:
    hop = climb.next_hop("1.27.0", NEWEST, started_from=started)
    assert hop is not None
    expected = "1.27.9" if started == "1.27.9" else "1.27.0"  # same minor: a patch earlier or later fits
    assert hop.started_from == expected
    assert hop.number == 1


@pytest.mark.parametrize(
    ("start", "target"),
    list(itertools.combinations(LINES, 2)),
    ids=lambda line_: str(line_.minor),
)
def test_every_plan_between_lines_moves_one_minor_per_hop_and_ends_on_the_target(
    start: Line, target: Line
) -> None:
    hops = climb.plan(start.tag, target)
    distance = int(target.minor.split(".")[1]) - int(start.minor.split(".")[1])
    if distance < 2:
        assert hops == []
        return
    assert len(hops) == distance
    assert [hop.number for hop in hops] == list(range(1, distance + 1))
    assert all(hop.total == distance for hop in hops)
    assert hops[-1].line == target and hops[-1].last
    assert not any(hop.last for hop in hops[:-1])
    previous = start.version
    for hop in hops:
        assert int(hop.line.minor.split(".")[1]) == int(previous.split(".")[1]) + 1
        assert hop.installed == previous
        previous = hop.line.version


def test_the_plan_from_kyma_1_11_to_the_newest_line() -> None:
    hops = climb.plan("1.24.2-distroless", NEWEST)
    assert [hop.line.version for hop in hops] == ["1.25.3", "1.26.2", "1.27.0", "1.28.3", "1.29.1"]
    assert hops[2].describe() == "climb hop 3 of 5: 1.26.2 -> 1.27.0 (towards 1.29.1)"


def test_a_plan_to_a_lower_line_is_empty() -> None:
    assert climb.plan("1.24.2", line("1.25")) == []


@pytest.mark.parametrize(
    ("annotation", "operator", "allowed", "error"),
    [
        (None, False, False, False),
        (None, True, True, False),
        ("true", False, True, False),
        ("TRUE ", False, True, False),
        ("false", True, False, False),
        ("yes", True, False, True),
        ("", False, False, True),
    ],
)
def test_the_crs_annotation_wins_and_a_bad_value_says_what_it_takes(
    annotation: str | None, operator: bool, allowed: bool, error: bool
) -> None:
    annotations = {} if annotation is None else {names.CLIMB_ANNOTATION: annotation}
    consent = climb.consent(annotations, operator)
    assert consent.allowed is allowed
    assert (consent.error is not None) is error
    if consent.error:
        assert names.CLIMB_ANNOTATION in consent.error and '"true"' in consent.error


def test_proxies_a_minor_below_the_installed_release_hold_the_climb() -> None:
    images = {
        "a/old": "docker.io/istio/proxyv2:1.26.2-distroless",
        "a/same": "docker.io/istio/proxyv2:1.27.0-distroless",
        "a/patch": "docker.io/istio/proxyv2:1.27.4",
        "a/newer": "europe-docker.pkg.dev/kyma-project/prod/external/istio/proxyv2:1.28.3-distroless",
        "a/digest": "registry.local:5000/istio/proxyv2:1.25.3@sha256:" + "0" * 64,
        "a/untagged": "registry.local:5000/istio/proxyv2",
        "a/custom": "my/proxy:latest",
    }
    assert climb.proxies_behind("1.27.0-distroless", images) == ["a/digest", "a/old"]
    assert climb.proxies_behind("garbage", images) == []


@given(st.integers(23, 29), st.integers(23, 29), st.integers(0, 9))
def test_a_hop_always_lands_one_minor_up_and_never_past_the_target(
    installed: int, goal: int, patch: int
) -> None:
    target = line(f"1.{goal}")
    hop = climb.next_hop(f"1.{installed}.{patch}", target)
    if goal - installed < 2:
        assert hop is None
        return
    assert hop is not None
    assert hop.line.minor == f"1.{installed + 1}"
    assert 1 <= hop.number <= hop.total == goal - installed

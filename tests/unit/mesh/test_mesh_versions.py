"""The upgrade rules of spec section 4, by table and by property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.mesh.versions import Verdict, decide_upgrade, parse_tag

ALLOWED = {Verdict.INSTALL, Verdict.UPGRADE, Verdict.NO_CHANGE}


@pytest.mark.parametrize(
    ("current", "target", "verdict"),
    [
        (None, "1.23.2-distroless", Verdict.INSTALL),
        ("1.22.9", "1.23.0", Verdict.UPGRADE),
        ("1.22.0", "1.23.2", Verdict.UPGRADE),
        ("1.22.0-distroless", "1.23.2-distroless", Verdict.UPGRADE),
        ("1.23.0", "1.23.2", Verdict.UPGRADE),
        ("1.22", "1.23.2-distroless", Verdict.UPGRADE),
        ("v1.22.4", "1.23.2", Verdict.UPGRADE),
        ("1.23.2", "1.23.2", Verdict.NO_CHANGE),
        ("1.23.2-distroless", "1.23.2-debug", Verdict.NO_CHANGE),
        ("1.23.2", "1.23.2-distroless", Verdict.NO_CHANGE),
        ("1.23.2-distroless", "1.23.2", Verdict.NO_CHANGE),
        ("1.21.0", "1.23.2", Verdict.NOT_ALLOWED),
        ("1.21.9-distroless", "1.23", Verdict.NOT_ALLOWED),
        ("1.23", "2.0", Verdict.NOT_ALLOWED),
        ("2.0", "1.23", Verdict.NOT_ALLOWED),
        ("1.23.3", "1.23.2", Verdict.NOT_ALLOWED),
        ("1.24.0-distroless", "1.23.2-distroless", Verdict.NOT_ALLOWED),
        ("", "1.23.2-distroless", Verdict.NOT_ALLOWED),
        ("garbage", "1.23.2-distroless", Verdict.NOT_ALLOWED),
        ("1", "1.23.2-distroless", Verdict.NOT_ALLOWED),
        ("1.23.2.1", "1.23.2-distroless", Verdict.NOT_ALLOWED),
    ],
)
def test_each_rule_gives_its_verdict(current: str | None, target: str, verdict: Verdict) -> None:
    decision = decide_upgrade(current, target)
    assert decision.verdict is verdict
    assert decision.verdict.allowed is (verdict in ALLOWED)
    assert (decision.path is None) is (verdict in ALLOWED)


@pytest.mark.parametrize(
    ("current", "target", "message"),
    [
        (
            "1.23.3",
            "1.23.2",
            "target Istio version (1.23.2) is lower than current version (1.23.3) - downgrade not supported",
        ),
        (
            "2.0",
            "1.23",
            "target Istio version (1.23.0) is lower than current version (2.0.0) - downgrade not supported",
        ),
        (
            "1.24.1-distroless",
            "1.23.2-distroless",
            "target Istio version (1.23.2-distroless) is lower than current version (1.24.1-distroless)"
            " - downgrade not supported",
        ),
        (
            "1.23",
            "2.0",
            "target Istio version (2.0.0) is different than current Istio version (1.23.0)"
            " - major version upgrade is not supported",
        ),
        (
            "1.21.4-distroless",
            "1.23.2-distroless",
            "target Istio version (1.23.2-distroless) is higher than current Istio version "
            "(1.21.4-distroless) - the difference between versions exceed one minor version",
        ),
    ],
)
def test_refusals_are_worded_as_in_the_reference(current: str, target: str, message: str) -> None:
    assert decide_upgrade(current, target).message == message


CLIMB = (
    "; or let the operator climb there one minor at a time (annotation istio-operator.kyma-project.io/"
    'allow-climb: "true" on the Istio CR, or --allow-climb)'
)


@pytest.mark.parametrize(
    ("current", "target", "path"),
    [
        (
            "1.21.4",
            "1.23.2-distroless",
            "installed 1.21.4; target 1.23.2: Istio moves one minor at a time (1.22); this build has no line "
            "for 1.22: upgrade through those with the operator releases that ship them, then come back",
        ),
        (
            "1.2.0",
            "1.23.2-distroless",
            "installed 1.2.0; target 1.23.2: Istio moves one minor at a time (1.3 through 1.22); this build "
            "has no line for 1.3 through 1.22: upgrade through those with the operator releases that ship "
            "them, then come back",
        ),
        (
            "1.24.2",
            "1.29.1-distroless",
            "installed 1.24.2; target 1.29.1: set the operator's Istio line to 1.25 (--istio-line), then one "
            "minor at a time (1.25 through 1.28), then to 1.29" + CLIMB,
        ),
        (
            "1.27.0",
            "1.29.1-distroless",
            "installed 1.27.0; target 1.29.1: set the operator's Istio line to 1.28 (--istio-line) first, "
            "then to 1.29" + CLIMB,
        ),
        (
            "1.24.1",
            "1.23.2-distroless",
            "installed 1.24.1; target 1.23.2: set the operator's Istio line to 1.24 or 1.25 (--istio-line)",
        ),
        (
            "1.29.2",
            "1.29.1-distroless",
            "installed 1.29.2; target 1.29.1: an operator on the 1.29 line keeps the installed 1.29.2 "
            "as it is (a later patch of its line); only an explicit lower target is refused",
        ),
        (
            "1.23.3-distroless",
            "1.23.2-distroless",
            "installed 1.23.3; target 1.23.2: an operator on the 1.23 line keeps the installed 1.23.3 "
            "as it is (a later patch of its line); only an explicit lower target is refused",
        ),
        (
            "2.0",
            "1.23.2-distroless",
            "installed 2.0.0; target 1.23.2: no line of this build installs Istio 2.0 or later of that "
            "minor; keep the operator that installed it",
        ),
    ],
)
def test_a_refusal_says_what_would_work_with_this_build(current: str, target: str, path: str) -> None:
    assert decide_upgrade(current, target).path == path


def test_a_major_upgrade_names_the_release_line_to_stay_on() -> None:
    path = decide_upgrade("1.23.2", "2.0.0").path
    assert path is not None
    assert "Istio 1.x" in path


def test_versions_are_reported_as_full_semver_strings() -> None:
    decision = decide_upgrade("v1.22", "1.23.2-distroless")
    assert (decision.current, decision.target) == ("1.22.0", "1.23.2-distroless")


def test_the_default_target_is_the_pinned_tag() -> None:
    assert decide_upgrade(None, DEFAULT_LINE.tag).target == DEFAULT_LINE.tag


def test_a_missing_istio_tag_is_refused_with_a_clear_message() -> None:
    decision = decide_upgrade("", DEFAULT_LINE.tag)
    assert decision.message == (
        "current Istio version cannot be determined: the last applied configuration holds no IstioTag"
    )
    assert decision.current == ""
    assert decision.path is not None
    assert "operator.kyma-project.io/lastAppliedConfiguration" in decision.path


def test_a_garbage_istio_tag_is_refused_naming_the_tag() -> None:
    decision = decide_upgrade("latest", DEFAULT_LINE.tag)
    assert decision.verdict is Verdict.NOT_ALLOWED
    assert "'latest'" in decision.message


def test_a_flavour_change_is_mentioned_but_allowed() -> None:
    decision = decide_upgrade("1.23.2-distroless", "1.23.2-debug")
    assert decision.message == (
        "Istio 1.23.2 is already installed; the image changes from 1.23.2-distroless to 1.23.2-debug"
    )


def test_a_bad_target_is_a_defect_and_raises() -> None:
    with pytest.raises(ValueError, match="not a version"):
        decide_upgrade("1.22.0", "next")


# --- parse_tag -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("1.23.2", "1.23.2"),
        ("1.23.2-distroless", "1.23.2-distroless"),
        ("1.23.2-debug", "1.23.2-debug"),
        ("1.22", "1.22.0"),
        ("1.22-distroless", "1.22.0-distroless"),
        ("v1.23.2", "1.23.2"),
        (" 1.23.2 ", "1.23.2"),
        ("1.23.2+build.5", "1.23.2+build.5"),
    ],
)
def test_tags_parse_to_semver(tag: str, expected: str) -> None:
    assert str(parse_tag(tag)) == expected


@pytest.mark.parametrize("tag", ["", "  ", "latest", "1", "1.2.3.4", "1.23.2-", "01.2.3", "v"])
def test_a_tag_that_is_no_version_raises_value_error(tag: str) -> None:
    with pytest.raises(ValueError, match=r"Istio version tag|empty"):
        parse_tag(tag)


# --- properties ----------------------------------------------------------------------------------

numbers = st.integers(min_value=0, max_value=200)
flavours = st.sampled_from(["", "-distroless", "-debug", "-rc.1"])
versions = st.tuples(numbers, numbers, numbers)


def tag(major: int, minor: int, patch: int, flavour: str = "") -> str:
    return f"{major}.{minor}.{patch}{flavour}"


@given(numbers, numbers, numbers, flavours, flavours)
def test_any_same_version_is_no_change_whatever_the_flavour(
    major: int, minor: int, patch: int, before: str, after: str
) -> None:
    assert decide_upgrade(tag(major, minor, patch, before), tag(major, minor, patch, after)).verdict is (
        Verdict.NO_CHANGE
    )


@given(versions, versions, flavours)
def test_any_lower_target_is_refused_as_a_downgrade(
    first: tuple[int, int, int], second: tuple[int, int, int], flavour: str
) -> None:
    if first == second:
        return
    low, high = sorted([first, second])
    decision = decide_upgrade(tag(*high, flavour), tag(*low))
    assert decision.verdict is Verdict.NOT_ALLOWED
    assert decision.message.endswith("- downgrade not supported")
    assert decision.message.startswith(f"target Istio version ({tag(*low)}) is lower than current version")


@given(numbers, numbers, numbers, numbers, flavours)
def test_one_minor_up_with_any_patch_is_an_upgrade(
    major: int, minor: int, patch: int, new_patch: int, flavour: str
) -> None:
    decision = decide_upgrade(tag(major, minor, patch, flavour), tag(major, minor + 1, new_patch, flavour))
    assert decision.verdict is Verdict.UPGRADE


@given(numbers, numbers, numbers, st.integers(min_value=1, max_value=50))
def test_a_higher_patch_is_an_upgrade(major: int, minor: int, patch: int, step: int) -> None:
    assert decide_upgrade(tag(major, minor, patch), tag(major, minor, patch + step)).verdict is (
        Verdict.UPGRADE
    )


@given(numbers, numbers, numbers, st.integers(min_value=2, max_value=50), numbers)
def test_two_or_more_minors_up_is_refused(
    major: int, minor: int, patch: int, jump: int, new_patch: int
) -> None:
    decision = decide_upgrade(tag(major, minor, patch), tag(major, minor + jump, new_patch))
    assert decision.verdict is Verdict.NOT_ALLOWED
    assert decision.message.endswith("the difference between versions exceed one minor version")


@given(versions, st.integers(min_value=1, max_value=5), numbers, numbers)
def test_any_major_upgrade_is_refused(
    current: tuple[int, int, int], step: int, new_minor: int, new_patch: int
) -> None:
    decision = decide_upgrade(tag(*current), tag(current[0] + step, new_minor, new_patch))
    assert decision.verdict is Verdict.NOT_ALLOWED
    assert decision.message.endswith("major version upgrade is not supported")


@given(st.text(max_size=20))
def test_any_current_tag_gives_a_decision_and_never_raises(current: str) -> None:
    decision = decide_upgrade(current, DEFAULT_LINE.tag)
    assert decision.verdict in {Verdict.NOT_ALLOWED, Verdict.UPGRADE, Verdict.NO_CHANGE}
    assert decision.message

"""Maintenance windows: Kyma's grammar, "is open at t" and "next opening after t" as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kyma_istio.restart import windows
from kyma_istio.restart.windows import WindowError

SAT = datetime(2026, 12, 12, tzinfo=UTC)
"""A Saturday, midnight UTC."""


def at(day: datetime, hhmm: str) -> datetime:
    hours, minutes = hhmm.split(":")
    return day + timedelta(hours=int(hours), minutes=int(minutes))


@pytest.mark.parametrize(
    ("value", "days", "start", "length"),
    [
        ("Sat 02:00-06:00", {5}, 120, 240),
        ("sat 02:00-06:00", {5}, 120, 240),
        ("Sat-Sun 00:00-24:00", {5, 6}, 0, 1440),
        ("Fri-Mon 22:00-02:00", {4, 5, 6, 0}, 1320, 240),
        ("Sat,Sun 01:30-02:15", {5, 6}, 90, 45),
        ("Mon-Wed,Fri 23:59-00:01", {0, 1, 2, 4}, 1439, 2),
        ("Sun-Sun 12:00-13:00", {6}, 720, 60),
        ("  Tue   09:00-09:01  ", {1}, 540, 1),
    ],
)
def test_every_form_of_the_grammar_parses(value: str, days: set[int], start: int, length: int) -> None:
    window = windows.parse(value)
    assert (set(window.days), window.start, window.length) == (days, start, length)


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("Sat 25:00-26:00", "'25:00'"),
        ("Funday 01:00-02:00", "'Funday'"),
        ("true", "'true'"),
        ("Sat", "'Sat'"),
        ("Sat 02:00", "'02:00'"),
        ("Sat 2:00-6:00", "'2:00'"),
        ("Sat 02:60-03:00", "'02:60'"),
        ("Sat 24:00-02:00", "'24:00'"),
        ("Sat 02:00-02:00", "same time"),
        ("Sat- 02:00-03:00", "'Sat-'"),
        ("Sat,,Sun 02:00-03:00", "''"),
        ("Sat 02:00-03:00 Sun", "is not"),
        ("", "is not"),
    ],
)
def test_bad_values_are_refused_naming_the_part_and_the_rule(value: str, names: str) -> None:
    with pytest.raises(WindowError) as caught:
        windows.parse(value)
    assert names in str(caught.value)


def test_a_window_is_open_from_its_start_up_to_but_not_at_its_end() -> None:
    window = windows.parse("Sat 02:00-06:00")
    assert not window.is_open(at(SAT, "01:59"))
    assert window.is_open(at(SAT, "02:00"))
    assert window.is_open(at(SAT, "05:59"))
    assert not window.is_open(at(SAT, "06:00"))
    assert not window.is_open(at(SAT + timedelta(days=1), "03:00"))  # Sunday


def test_an_end_before_the_start_crosses_midnight_into_the_next_day() -> None:
    window = windows.parse("Sat 22:00-02:00")
    assert window.is_open(at(SAT, "23:00"))
    assert window.is_open(at(SAT + timedelta(days=1), "01:59"))  # Sunday early: Saturday's window
    assert not window.is_open(at(SAT, "01:00"))  # Saturday early: Friday has no window


def test_a_range_wraps_the_week() -> None:
    window = windows.parse("Fri-Mon 10:00-11:00")
    monday, tuesday, thursday = SAT + timedelta(days=2), SAT + timedelta(days=3), SAT - timedelta(days=2)
    assert window.is_open(at(monday, "10:30"))
    assert not window.is_open(at(tuesday, "10:30"))
    assert not window.is_open(at(thursday, "10:30"))


def test_the_next_opening_is_now_when_open_else_the_next_start() -> None:
    window = windows.parse("Sat 02:00-06:00")
    assert window.next_open(at(SAT, "03:00")) == at(SAT, "03:00")
    assert window.next_open(at(SAT, "06:00")) == at(SAT + timedelta(days=7), "02:00")
    assert window.next_open(at(SAT, "01:00")) == at(SAT, "02:00")
    assert windows.describe_opening(at(SAT, "02:00")) == "Sat 02:00 UTC"


def test_times_in_other_zones_are_read_in_utc() -> None:
    window = windows.parse("Sat 02:00-06:00")
    berlin = datetime(2026, 12, 12, 4, 0, tzinfo=UTC).astimezone(timezone(timedelta(hours=1)))
    assert berlin.hour == 5
    assert window.is_open(berlin)


DAYS = st.lists(st.sampled_from(windows.DAYS), min_size=1, max_size=3, unique=True)
TIMES = st.tuples(st.integers(0, 23), st.sampled_from([0, 15, 30, 59]))
INSTANTS = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)


def _value(days: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    return f"{','.join(days)} {start[0]:02d}:{start[1]:02d}-{end[0]:02d}:{end[1]:02d}"


@settings(max_examples=300)
@given(DAYS, TIMES, TIMES, INSTANTS)
def test_the_next_opening_is_open_and_nothing_before_it_is(
    days: list[str], start: tuple[int, int], end: tuple[int, int], t: datetime
) -> None:
    if start == end:
        return
    window = windows.parse(_value(days, start, end))
    opening = window.next_open(t)
    assert opening >= t
    assert window.is_open(opening)
    assert opening - t <= timedelta(days=7)
    # Nothing in between is open: sample the minutes up to the opening (windows start on whole minutes).
    probe = t
    step = max(timedelta(minutes=1), (opening - t) / 200)
    while probe < opening - timedelta(microseconds=1):
        assert not window.is_open(probe), (probe, opening)
        probe += step


@settings(max_examples=200)
@given(DAYS, TIMES, TIMES, INSTANTS)
def test_an_open_window_closes_after_at_most_its_length(
    days: list[str], start: tuple[int, int], end: tuple[int, int], t: datetime
) -> None:
    if start == end:
        return
    window = windows.parse(_value(days, start, end))
    closes = window.closes(t)
    assert (closes is not None) == window.is_open(t)
    if closes is not None:
        assert t < closes <= t + timedelta(minutes=window.length)

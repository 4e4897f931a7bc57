"""Maintenance windows: when the operator may restart a workload, in Kyma's annotation grammar.

``restarter.istio-operator.kyma-project.io/maintenance-window: "<days> <HH:MM>-<HH:MM>"``, in UTC. Days
are one day (``Sat``), a range (``Sat-Sun``; ``Fri-Mon`` wraps the week) or a comma list of either
(``Sat,Sun``, ``Mon-Wed,Fri``); names are the English three-letter ones, in any case. The time range
opens at its start on each listed day; an end before the start crosses midnight into the next day (``Sat
22:00-02:00`` closes Sunday 02:00), and ``24:00`` is the end of the day. A range of no length is refused.

Pure functions of a value and an instant: ``is_open`` and ``next_open`` (the first open instant at or
after ``t``), which the restarter uses to act only inside windows and to schedule the next pass for the
moment one opens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
"""Index = ``datetime.weekday()``."""
_MINUTES_PER_DAY: Final = 24 * 60
_TIME = re.compile(r"^([0-9]{2}):([0-9]{2})$")
GRAMMAR: Final = (
    '"<days> <HH:MM>-<HH:MM>" in UTC, days one of Mon..Sun, a range (Sat-Sun) or a comma list (Sat,Sun), '
    'for example "Sat 02:00-06:00"'
)


class WindowError(ValueError):
    """A value that is no maintenance window; the message names the rule it breaks."""


@dataclass(frozen=True)
class Window:
    """Days of the week on which a window opens, and its opening minute and length in minutes."""

    days: frozenset[int]
    start: int
    """Minutes after midnight UTC at which the window opens on each of ``days``."""
    length: int
    """Minutes it stays open (a window that crosses midnight ends on the next day)."""
    text: str = ""
    """The value as written, for messages."""

    def _openings_around(self, t: datetime) -> list[datetime]:
        """The openings from the day before ``t`` to eight days after it, in order."""
        midnight = t.replace(hour=0, minute=0, second=0, microsecond=0)
        found = []
        for offset in range(-1, 9):
            day = midnight + timedelta(days=offset)
            if day.weekday() in self.days:
                found.append(day + timedelta(minutes=self.start))
        return found

    def is_open(self, t: datetime) -> bool:
        """Whether restarts are allowed at ``t`` (an aware datetime)."""
        t = t.astimezone(UTC)
        return any(
            opening <= t < opening + timedelta(minutes=self.length) for opening in self._openings_around(t)
        )

    def next_open(self, t: datetime) -> datetime:
        """``t`` when the window is open then, else the moment it next opens."""
        t = t.astimezone(UTC)
        if self.is_open(t):
            return t
        return next(opening for opening in self._openings_around(t) if opening > t)

    def closes(self, t: datetime) -> datetime | None:
        """When the opening that contains ``t`` closes; ``None`` when closed at ``t``."""
        t = t.astimezone(UTC)
        for opening in self._openings_around(t):
            end = opening + timedelta(minutes=self.length)
            if opening <= t < end:
                return end
        return None


def _day(name: str, value: str) -> int:
    for index, day in enumerate(DAYS):
        if name.lower() == day.lower():
            return index
    raise WindowError(f"{name!r} in {value!r} is no day: use Mon, Tue, Wed, Thu, Fri, Sat or Sun")


def _days(text: str, value: str) -> frozenset[int]:
    days: set[int] = set()
    for item in text.split(","):
        first, dash, last = item.partition("-")
        if not first or (dash and not last):
            raise WindowError(f"{item!r} in {value!r} is no day or day range (Sat, Sat-Sun)")
        start = _day(first, value)
        end = _day(last, value) if dash else start
        span = (end - start) % 7
        days.update((start + step) % 7 for step in range(span + 1))
    return frozenset(days)


def _minute(text: str, value: str, *, end: bool) -> int:
    match = _TIME.match(text)
    if match is None:
        raise WindowError(f"{text!r} in {value!r} is no time: use HH:MM, 24-hour, UTC")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if end and (hours, minutes) == (24, 0):
        return _MINUTES_PER_DAY
    if hours > 23 or minutes > 59:
        raise WindowError(f"{text!r} in {value!r} is no time of day: hours 00-23, minutes 00-59")
    return hours * 60 + minutes


def parse(value: str) -> Window:
    """The window a value describes; ``WindowError`` naming the part that breaks the grammar."""
    parts = value.split()
    if len(parts) != 2:
        raise WindowError(f"{value!r} is not {GRAMMAR}")
    days_text, times = parts
    start_text, dash, end_text = times.partition("-")
    if not dash:
        raise WindowError(f"{times!r} in {value!r} is no time range: use HH:MM-HH:MM")
    days = _days(days_text, value)
    start = _minute(start_text, value, end=False)
    end = _minute(end_text, value, end=True)
    length = (end - start) % _MINUTES_PER_DAY if end != _MINUTES_PER_DAY else end - start
    if length == 0:
        raise WindowError(f"{value!r} opens and closes at the same time: a window needs a length")
    return Window(days=days, start=start, length=length, text=value.strip())


def describe_opening(t: datetime) -> str:
    """``Sat 02:00 UTC``: an opening as status and Events say it."""
    t = t.astimezone(UTC)
    return f"{DAYS[t.weekday()]} {t:%H:%M} UTC"

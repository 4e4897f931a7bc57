"""Durations as the Kyma manager's flags take them: Go's ``time.ParseDuration`` syntax (``10h``, ``120s``,
``16m40s``, ``1h2m3.5s``, ``500ms``) or plain seconds (``36000``, ``1.5``), so one Deployment manifest
works for both operators. Pure: the CLI and the chart's schema pattern read the same rule.
"""

from __future__ import annotations

import math
import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_TERM = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_SECONDS = re.compile(r"\d+\.?\d*|\.\d+")

SCHEMA_PATTERN = r"^(([0-9]+\.?[0-9]*|\.[0-9]+)(ns|us|ms|s|m|h))+$|^([0-9]+\.?[0-9]*|\.[0-9]+)$"
"""The same rule as a JSON-schema pattern (values.schema.json); a test keeps the two in step."""


def parse_duration(text: str) -> float:
    """Seconds in ``text``; ``ValueError`` naming the accepted forms. Negative durations are refused."""
    value = text.strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    position, total = 0, 0.0
    for match in _TERM.finditer(value):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if value and position == len(value) and math.isfinite(total):
        return total
    raise ValueError(
        f"invalid duration {text!r}: use Go syntax such as 10h, 120s, 16m40s, 500ms, or plain seconds"
    )


def format_duration(seconds: float) -> str:
    """Go's spelling of a whole-second duration, e.g. 36000 -> ``10h0m0s``, 1000 -> ``16m40s``."""
    whole = int(seconds)
    if whole != seconds or whole < 60:
        return f"{seconds:g}s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes}m{secs}s" if hours else f"{minutes}m{secs}s"

"""Reduce istioctl's output to one short, specific sentence for the CR status.

The reference writes only "Istio installation resulted in an error" and leaves users to dig through the
operator logs. istioctl already says what went wrong: a ``✘ <component> encountered an error: ...`` line
per failed component, followed by indented ``Kind/namespace/name (reason)`` lines for what was not ready,
and a final ``Error: ...`` line. These functions find the most specific of those; the full output still
goes to the debug log. Pure: the caller passes the lines it captured.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterable, Sequence
from typing import Final

MAX_SUMMARY_CHARS: Final = 400
"""Status lines are read in ``kubectl get`` and dashboards; longer text goes to the logs."""

MAX_DETAILS: Final = 3
"""At most this many not-ready resources are named per component."""

_ANSI: Final = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_COMPONENT_ERROR: Final = re.compile(r"^✘\s+(?P<component>.+?) encountered an error: (?P<error>.*)$")
_NOT_READY: Final = re.compile(
    r"^(?:failed to wait for resource: )?resources not ready after (?P<after>\S+?):"
)
_ERROR_LINE: Final = re.compile(r"^Error: (?P<error>.*)$")
_LOG_LINE: Final = re.compile(r"^\d{4}-\d\d-\d\dT\S+\s+(?P<level>\w+)\s+(?P<scope>\S+)\s+(?P<message>.*)$")
_PROGRESS: Final = re.compile(
    r"^-\s+Processing resources for (?P<components>.+?)\.(?: Waiting for (?P<waiting>.+))?$"
)
_PRUNING: Final = re.compile(r"^-\s+Pruning removed resources")
_GENERIC_WRAPPERS: Final = ("failed to install manifests: ", "errors occurred during operation: ")
_GENERIC_ERRORS: Final = frozenset({"failed to install manifests", "errors occurred during operation"})
_FAILURE_MARKERS: Final = re.compile(
    r"timed out waiting for|failed to|deadline exceeded|refused|forbidden", re.I
)


def clean_lines(raw: Iterable[str]) -> list[str]:
    """Drop colour codes, trailing blanks and empty lines; keep leading indentation (it marks details)."""
    cleaned = (_ANSI.sub("", line).rstrip() for line in raw)
    return [line for line in cleaned if line.strip()]


def _cap(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= MAX_SUMMARY_CHARS:
        return text
    return text[: MAX_SUMMARY_CHARS - 1].rstrip() + "…"


def _details_after(lines: Sequence[str], index: int) -> list[str]:
    """The indented lines right after ``index``: istioctl's not-ready resources and their reasons."""
    details: list[str] = []
    for line in lines[index + 1 :]:
        if not line[:1].isspace():
            break
        details.append(line.strip())
    return details


def _component_failure(component: str, error: str, details: Sequence[str]) -> str:
    named = "; ".join(details[:MAX_DETAILS])
    if len(details) > MAX_DETAILS:
        named += f"; and {len(details) - MAX_DETAILS} more"
    not_ready = _NOT_READY.match(error)
    if not_ready:
        headline = f"{component} not ready after {not_ready['after']}"
        return f"{headline}: {named}" if named else headline
    return f"{component}: {error} ({named})" if named else f"{component}: {error}"


def _component_failures(lines: Sequence[str]) -> list[str]:
    failures = []
    for index, line in enumerate(lines):
        match = _COMPONENT_ERROR.match(line.strip())
        if match:
            failures.append(
                _component_failure(match["component"], match["error"], _details_after(lines, index))
            )
    return failures


def _strip_wrappers(error: str) -> str:
    stripped = True
    while stripped:
        stripped = False
        for wrapper in _GENERIC_WRAPPERS:
            if error.startswith(wrapper):
                error, stripped = error[len(wrapper) :], True
    return error


def _error_line(lines: Sequence[str]) -> str | None:
    """The last ``Error:`` line without istioctl's generic wrappers, with its continuation lines."""
    for index in range(len(lines) - 1, -1, -1):
        match = _ERROR_LINE.match(lines[index].strip())
        if match:
            error = _strip_wrappers(match["error"]).rstrip(" :")
            details = [detail.lstrip("* ") for detail in _details_after(lines, index)]
            return "; ".join([error, *details[:MAX_DETAILS]])
    return None


def _failure_hint(lines: Sequence[str]) -> str | None:
    """The last error-level log line or line that reads like a failure, for outputs without ✘ or Error."""
    for line in reversed(lines):
        if _ERROR_LINE.match(line.strip()):
            continue
        log = _LOG_LINE.match(line.strip())
        if log and log["level"] in ("error", "fatal"):
            return log["message"]
        if not log and _FAILURE_MARKERS.search(line):
            return line.strip()
    return None


def describe_failure(lines: Sequence[str]) -> str | None:
    """The most specific failure istioctl reported, or None when its output names none."""
    lines = clean_lines(lines)
    components = _component_failures(lines)
    if components:
        return _cap("; ".join(components))
    error = _error_line(lines)
    if error and error not in _GENERIC_ERRORS:
        return _cap(error)
    hint = _failure_hint(lines)
    return _cap(hint) if hint else (_cap(error) if error else None)


def describe_waiting(lines: Sequence[str]) -> str | None:
    """What istioctl was waiting for when its output stopped, from its last progress line."""
    for line in reversed(clean_lines(lines)):
        progress = _PROGRESS.match(line.strip())
        if progress:
            if progress["waiting"]:
                return _cap(progress["waiting"])
            return _cap(f"resources of {progress['components']}")
        if _PRUNING.match(line.strip()):
            return "pruning removed resources"
    return None


def summarize_exit(lines: Sequence[str], *, command: str, exit_code: int) -> str:
    """Why ``istioctl <command>`` exited with ``exit_code``; a negative code is the signal that killed it."""
    finding = describe_failure(lines)
    if finding:
        return finding
    if exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = f"signal {-exit_code}"
        return f"istioctl {command} was killed by {name}"
    return f"istioctl {command} failed with exit code {exit_code} without naming a cause"


def summarize_timeout(lines: Sequence[str], *, command: str, timeout_s: float) -> str:
    """Why ``istioctl <command>`` was stopped after ``timeout_s``: what it was still waiting for."""
    headline = f"istioctl {command} timed out after {timeout_s:g}s"
    waiting = describe_waiting(lines)
    if waiting:
        return _cap(f"{headline} while waiting for {waiting}")
    cleaned = clean_lines(lines)
    if not cleaned:
        return f"{headline} without any output"
    return _cap(f"{headline}; last output: {cleaned[-1].strip()}")

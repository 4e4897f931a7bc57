"""One-line logs, JSON or console, with the CR and the step in each line when known."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from kyma_istio.reconcile.context import CURRENT_CR, CURRENT_STEP

_CONTEXT = ("cr", "step", "state", "duration_s")

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("json", "console")
TIME_ENCODINGS = ("iso8601", "rfc3339", "rfc3339nano", "epoch", "millis", "nano")
"""``--zap-time-encoding`` values (controller-runtime's); iso8601 is ours by default."""
ZAP_LEVELS = {"debug": "debug", "info": "info", "warn": "warning", "error": "error"}
ZAP_LEVELS |= dict.fromkeys(("dpanic", "panic", "fatal"), "error")
ZAP_STACKTRACE_LEVELS = ("info", "error", "panic")


@dataclass(frozen=True)
class LogSettings:
    """How the operator logs: ``--log-*`` or the Kyma manager's ``--zap-*`` flags (``from_flags``)."""

    fmt: str = "json"
    level: str = "info"
    time_encoding: str = "iso8601"


def from_flags(
    *,
    log_format: str = "json",
    log_level: str = "info",
    zap_devel: bool | None = None,
    zap_encoder: str | None = None,
    zap_log_level: str | None = None,
    zap_time_encoding: str | None = None,
) -> LogSettings:
    """The settings the flags ask for; ``ValueError`` names a bad value and the accepted ones.

    The ``--zap-*`` flags win when given (a Kyma manifest sets them). ``--zap-devel`` is
    controller-runtime's development mode: console lines at debug level, unless ``--zap-encoder`` or
    ``--zap-log-level`` say otherwise. A numeric ``--zap-log-level`` (zap's verbosity, > 0) means debug.
    """
    fmt, level = log_format, log_level
    if zap_devel:
        fmt, level = "console", "debug"
    if zap_encoder is not None:
        fmt = zap_encoder
    if zap_log_level is not None:
        level = _zap_level(zap_log_level)
    _one_of("log format", fmt, FORMATS)
    _one_of("log level", level, LEVELS)
    time_encoding = zap_time_encoding or "iso8601"
    _one_of("time encoding", time_encoding, TIME_ENCODINGS)
    return LogSettings(fmt=fmt, level=level, time_encoding=time_encoding)


def _zap_level(value: str) -> str:
    if value.isdigit() and int(value) > 0:
        return "debug"
    if value.lower() in ZAP_LEVELS:
        return ZAP_LEVELS[value.lower()]
    accepted = ", ".join(ZAP_LEVELS)
    raise ValueError(f"invalid zap log level {value!r}: use one of {accepted} or a verbosity > 0")


def _one_of(what: str, value: str, accepted: tuple[str, ...]) -> None:
    if value not in accepted:
        raise ValueError(f"invalid {what} {value!r}: use one of {', '.join(accepted)}")


def timestamp(created: float, encoding: str) -> str | float | int:
    """A record's time in the ``--zap-time-encoding`` asked for."""
    if encoding == "epoch":
        return created
    if encoding == "millis":
        return created * 1000.0
    if encoding == "nano":
        return int(created * 1e9)
    spec = "microseconds" if encoding == "rfc3339nano" else "milliseconds"
    if encoding == "rfc3339":
        spec = "seconds"
    return datetime.fromtimestamp(created, UTC).isoformat(timespec=spec)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the context fields."""

    def __init__(self, time_encoding: str = "iso8601") -> None:
        super().__init__()
        self.time_encoding = time_encoding

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": timestamp(record.created, self.time_encoding),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update({k: getattr(record, k) for k in _CONTEXT if hasattr(record, k)})
        if record.exc_info:
            # The whole exception: the last line alone ("KeyError: 'x'") rarely says where it came from.
            text = self.formatException(record.exc_info)
            line["error"] = text.splitlines()[-1]
            line["exc_info"] = text
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


class ConsoleFormatter(logging.Formatter):
    """``time level logger [cr step] message`` for humans."""

    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(f"{k}={getattr(record, k)}" for k in _CONTEXT if hasattr(record, k))
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S")
        text = f"{ts} {record.levelname[:4]} {record.name} {record.getMessage()}"
        return f"{text} [{context}]" if context else text


class PassContext(logging.Filter):
    """Stamps the CR and step of the pass in progress on every record that does not name its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        for attribute, var in (("cr", CURRENT_CR), ("step", CURRENT_STEP)):
            if not hasattr(record, attribute) and var.get() is not None:
                setattr(record, attribute, var.get())
        return True


def configure(settings: LogSettings | None = None) -> None:
    """Route every logger (kopf's included) through one handler in the chosen format."""
    settings = settings or LogSettings()
    handler = logging.StreamHandler()
    json_lines = settings.fmt == "json"
    handler.setFormatter(JsonFormatter(settings.time_encoding) if json_lines else ConsoleFormatter())
    handler.addFilter(PassContext())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level.upper())
    for noisy in ("httpx", "httpx2", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

"""One-line logs, JSON or console, with the CR and the step in each line when known."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from kyma_istio.reconcile.context import CURRENT_CR, CURRENT_STEP

_CONTEXT = ("cr", "step", "state", "duration_s")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the context fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
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


def configure(*, fmt: str = "json", level: str = "info") -> None:
    """Route every logger (kopf's included) through one handler in the chosen format."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    handler.addFilter(PassContext())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpx2", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

"""Log lines: one JSON object per line with the CR and step, or one console line."""

import json
import logging
import sys
from typing import Any

import pytest

from kyma_istio.operator.logs import ConsoleFormatter, JsonFormatter, LogSettings, from_flags


def record(msg: str = "pass ended %s", *args: object, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("kyma_istio.operator", logging.INFO, __file__, 1, msg, args or ("Ready",), None)
    rec.__dict__.update(extra)
    return rec


def test_a_json_line_carries_time_level_logger_and_message() -> None:
    line = JsonFormatter().format(record())

    parsed = json.loads(line)
    assert parsed["level"] == "info"
    assert parsed["logger"] == "kyma_istio.operator"
    assert parsed["msg"] == "pass ended Ready"
    assert parsed["ts"].endswith("+00:00")
    assert "\n" not in line


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_the_cr_and_step_given_as_extra_are_json_fields() -> None:
    logger = logging.getLogger("kyma_istio.test_operator_logs")
    handler = Capture()
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    try:
        logger.warning("retry in %ds", 4, extra={"cr": "kyma-system/default", "step": "reconcile"})
    finally:
        logger.removeHandler(handler)

    assert len(handler.lines) == 1
    parsed = json.loads(handler.lines[0])

    assert parsed["cr"] == "kyma-system/default"
    assert parsed["step"] == "reconcile"
    assert parsed["level"] == "warning"
    assert parsed["msg"] == "retry in 4s"


def test_context_fields_are_left_out_when_not_given() -> None:
    parsed = json.loads(JsonFormatter().format(record()))

    assert not {"cr", "step", "state", "duration_s"} & set(parsed)


def test_values_json_cannot_encode_are_written_as_text() -> None:
    parsed = json.loads(JsonFormatter().format(record(state=object)))

    assert parsed["state"] == str(object)


def _failing_call() -> None:
    raise RuntimeError("api server gone")


def test_an_exception_keeps_its_whole_traceback_on_one_line() -> None:
    try:
        _failing_call()
    except RuntimeError:
        rec = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())

    line = JsonFormatter().format(rec)

    assert "\n" not in line  # one JSON object per line: the traceback's newlines are escaped
    parsed = json.loads(line)
    assert parsed["error"] == "RuntimeError: api server gone"
    assert parsed["exc_info"].startswith("Traceback (most recent call last):")
    assert "in _failing_call" in parsed["exc_info"]
    assert parsed["exc_info"].endswith("RuntimeError: api server gone")


def test_a_console_line_shows_the_context_in_brackets() -> None:
    text = ConsoleFormatter().format(record(cr="kyma-system/default", step="install"))

    assert text.endswith("INFO kyma_istio.operator pass ended Ready [cr=kyma-system/default step=install]")


def test_a_console_line_without_context_has_no_brackets() -> None:
    assert ConsoleFormatter().format(record()).endswith("pass ended Ready")


def test_lines_logged_during_a_pass_carry_its_cr_and_step() -> None:
    import io
    import json
    import logging

    from kyma_istio.operator.logs import JsonFormatter, PassContext
    from kyma_istio.reconcile.context import CURRENT_CR, CURRENT_STEP

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(PassContext())
    logger = logging.getLogger("tests.pass-context")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    cr_token, step_token = CURRENT_CR.set("kyma-system/default"), CURRENT_STEP.set("verify")
    try:
        logger.info("checking pods")
    finally:
        CURRENT_CR.reset(cr_token)
        CURRENT_STEP.reset(step_token)
        logger.removeHandler(handler)

    line = json.loads(stream.getvalue())
    assert line["cr"] == "kyma-system/default"
    assert line["step"] == "verify"


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({}, LogSettings("json", "info")),
        ({"zap_devel": True}, LogSettings("console", "debug")),
        ({"zap_devel": True, "zap_encoder": "json", "zap_log_level": "info"}, LogSettings("json", "info")),
        ({"zap_log_level": "warn"}, LogSettings("json", "warning")),
        ({"zap_log_level": "3"}, LogSettings("json", "debug")),
        ({"zap_log_level": "panic"}, LogSettings("json", "error")),
        ({"log_format": "console", "zap_devel": False}, LogSettings("console", "info")),
        ({"zap_time_encoding": "epoch"}, LogSettings("json", "info", "epoch")),
    ],
)
def test_the_kyma_zap_flags_map_to_our_log_settings(flags: dict[str, Any], expected: LogSettings) -> None:
    assert from_flags(**flags) == expected


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"log_level": "verbose"}, "invalid log level 'verbose': use one of debug, info, warning, error"),
        ({"zap_log_level": "0"}, "invalid zap log level '0'"),
        ({"zap_encoder": "xml"}, "invalid log format 'xml'"),
        ({"zap_time_encoding": "local"}, "invalid time encoding 'local'"),
    ],
)
def test_bad_log_flags_are_refused_by_name(flags: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        from_flags(**flags)


def test_json_lines_use_the_zap_time_encoding() -> None:
    rec = record()
    rec.created = 1700000000.25

    assert json.loads(JsonFormatter("epoch").format(rec))["ts"] == 1700000000.25
    assert json.loads(JsonFormatter("millis").format(rec))["ts"] == 1700000000250.0
    assert json.loads(JsonFormatter("rfc3339").format(rec))["ts"] == "2023-11-14T22:13:20+00:00"

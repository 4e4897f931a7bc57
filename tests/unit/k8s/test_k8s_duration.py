import re

import pytest

from kyma_istio.k8s.duration import SCHEMA_PATTERN, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10h", 36000.0),
        ("120s", 120.0),
        ("16m40s", 1000.0),
        ("1h2m3.5s", 3723.5),
        ("500ms", 0.5),
        ("10h0m0s", 36000.0),
        ("1.5h", 5400.0),
        ("36000", 36000.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("250us", 0.00025),
    ],
)
def test_go_durations_and_plain_seconds_are_read(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)
    assert re.search(SCHEMA_PATTERN, text)  # the chart's schema accepts it too


@pytest.mark.parametrize("text", ["ten", "10x", "h", "-5s", "5s10", "1d", "10 h", "1e3"])
def test_other_text_is_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="Go syntax such as 10h, 120s, 16m40s"):
        parse_duration(text)
    assert not re.search(SCHEMA_PATTERN, text)


def test_empty_text_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration("")


@pytest.mark.parametrize(
    ("seconds", "text"), [(36000, "10h0m0s"), (1000, "16m40s"), (1, "1s"), (0.5, "0.5s")]
)
def test_defaults_are_printed_as_the_kyma_manager_prints_them(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds

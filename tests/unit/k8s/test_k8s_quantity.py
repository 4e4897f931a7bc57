"""Kubernetes quantities parse exactly, for every suffix the API server accepts."""

from fractions import Fraction

import pytest

from kyma_istio.k8s import quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", Fraction(0)),
        ("4", Fraction(4)),
        ("500m", Fraction(1, 2)),
        ("1.5", Fraction(3, 2)),
        ("1.", Fraction(1)),
        (".5", Fraction(1, 2)),
        ("+2", Fraction(2)),
        ("-1k", Fraction(-1000)),
        ("250u", Fraction(1, 4000)),
        ("5n", Fraction(1, 200_000_000)),
        ("1k", Fraction(10**3)),
        ("1M", Fraction(10**6)),
        ("10G", Fraction(10**10)),
        ("2.5G", Fraction(25 * 10**8)),
        ("1T", Fraction(10**12)),
        ("1P", Fraction(10**15)),
        ("1E", Fraction(10**18)),
        ("1Ki", Fraction(1024)),
        ("1Mi", Fraction(1024**2)),
        ("16Gi", Fraction(16 * 1024**3)),
        ("1Ti", Fraction(1024**4)),
        ("1Pi", Fraction(1024**5)),
        ("1Ei", Fraction(1024**6)),
        ("1.5Gi", Fraction(3 * 1024**3, 2)),
        ("1e3", Fraction(1000)),
        ("1E3", Fraction(1000)),
        ("12e+2", Fraction(1200)),
        ("5e-3", Fraction(5, 1000)),
    ],
)
def test_each_suffix_and_number_form_parses_to_its_exact_value(text: str, value: Fraction) -> None:
    assert quantity.parse_quantity(text) == value


@pytest.mark.parametrize(
    "text", ["", "m", "1.2.3", "1 Gi", " 1", "1gi", "1KI", "1K", "1e", "1e1.5", "abc", "1Gib", "٣", "1e999"]
)
def test_text_that_is_not_a_quantity_is_refused_with_its_value_named(text: str) -> None:
    with pytest.raises(ValueError, match="quantity"):
        quantity.parse_quantity(text)


def test_millis_round_up_like_kubernetes_milli_value() -> None:
    assert quantity.to_millis("4") == 4000
    assert quantity.to_millis("4999m") == 4999
    assert quantity.to_millis("1500u") == 2


def test_units_round_up_like_kubernetes_value() -> None:
    assert quantity.to_units("10G") == 10_000_000_000
    assert quantity.to_units("10Gi") == 10_737_418_240
    assert quantity.to_units("1500m") == 2

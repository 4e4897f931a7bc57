"""Kubernetes resource quantities (``500m``, ``16Gi``, ``1e3``, ``2.5G``) as exact numbers.

Node capacity arrives as quantity strings, and the profile choice compares their sum against exact
thresholds (5 cores, 10,000,000,000 bytes). Floats would blur those boundaries, so values are parsed into
:class:`fractions.Fraction` and rounded only when converted to whole milli-units or bytes, and then
upwards, as Kubernetes does (``MilliValue``/``Value`` round up).

Grammar (as in ``k8s.io/apimachinery/pkg/api/resource``)::

    quantity  ::= [+-] number suffix
    number    ::= digits | digits "." [digits] | "." digits
    suffix    ::= binarySI | decimalExponent | decimalSI
    binarySI  ::= Ki | Mi | Gi | Ti | Pi | Ei
    decimalExponent ::= ("e" | "E") [+-] digits
    decimalSI ::= n | u | m | "" | k | M | G | T | P | E
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Final

_BINARY: Final = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_MAX_EXPONENT: Final = 64
_DECIMAL: Final = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}

# The exponent alternative comes before the decimal one so that ``1E3`` is 1000 while a bare ``1E``
# still falls through to the exa suffix.
_QUANTITY: Final = re.compile(
    r"(?P<sign>[+-]?)(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?:(?P<binary>Ki|Mi|Gi|Ti|Pi|Ei)|[eE](?P<exponent>[+-]?[0-9]+)|(?P<decimal>[numkMGTPE]?))"
)


def parse_quantity(text: str) -> Fraction:
    """The exact value of a quantity string; ``ValueError`` names the text when it is not one."""
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise ValueError(f"invalid Kubernetes quantity {text!r}")
    value = Fraction(match["number"])
    if match["binary"] is not None:
        value *= Fraction(1024) ** _BINARY[match["binary"]]
    elif match["exponent"] is not None:
        exponent = int(match["exponent"])
        # An unbounded exponent would make the exact power arbitrarily expensive to compute.
        if abs(exponent) > _MAX_EXPONENT:
            raise ValueError(f"Kubernetes quantity {text!r} is out of range")
        value *= Fraction(10) ** exponent
    else:
        value *= Fraction(10) ** _DECIMAL[match["decimal"]]
    return -value if match["sign"] == "-" else value


def to_millis(text: str) -> int:
    """A quantity in thousandths (CPU millicores), rounded up like Kubernetes' ``MilliValue``."""
    return math.ceil(parse_quantity(text) * 1000)


def to_units(text: str) -> int:
    """A quantity in whole units (bytes for memory), rounded up like Kubernetes' ``Value``."""
    return math.ceil(parse_quantity(text))

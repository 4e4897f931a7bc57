"""Equality of Kubernetes quantities (``1`` == ``1000m``, ``1Gi`` == ``1024Mi``) for proxy resources.

The restarter compares a running proxy's resources with the expected ones. The API server echoes
quantities in the form they were written, so textual comparison would restart pods whose values are
merely spelled differently. ``mesh.quantity`` has a parser too, but ``restart`` and ``mesh`` are
independent layers (``.importlinter``), so this small private copy keeps the layering intact.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Final

_BINARY: Final = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL: Final = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_MAX_EXPONENT: Final = 64

# The exponent form is tried before the decimal suffix so that ``1E3`` means 1000, not "1 exa" + junk.
_QUANTITY: Final = re.compile(
    r"(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:(?P<binary>Ki|Mi|Gi|Ti|Pi|Ei)|[eE](?P<exponent>[+-]?[0-9]+)|(?P<decimal>[numkMGTPE]?))"
)


def quantity_value(text: str) -> Fraction | None:
    """The exact value of ``text``, or ``None`` when it is not a quantity."""
    match = _QUANTITY.fullmatch(text.strip())
    if match is None:
        return None
    value = Fraction(match["number"])
    if match["binary"] is not None:
        return value * Fraction(1024) ** _BINARY[match["binary"]]
    if match["exponent"] is not None:
        exponent = int(match["exponent"])
        # A huge exponent would make the exact power arbitrarily expensive; no real resource needs it.
        if abs(exponent) > _MAX_EXPONENT:
            return None
        return value * Fraction(10) ** exponent
    return value * Fraction(10) ** _DECIMAL[match["decimal"]]


def same_quantity(left: str | None, right: str | None) -> bool:
    """Whether two optional quantities are equal; unparseable text falls back to exact spelling."""
    if left is None or right is None:
        return left is right
    left_value, right_value = quantity_value(left), quantity_value(right)
    if left_value is None or right_value is None:
        return left == right
    return left_value == right_value


def canonical_quantity(text: str) -> str:
    """One spelling per value (``1000m`` and ``1`` both give ``1``), for hashing expected resources."""
    value = quantity_value(text)
    return text if value is None else str(value)

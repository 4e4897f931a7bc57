"""Equality of Kubernetes quantities (``1`` == ``1000m``, ``1Gi`` == ``1024Mi``) for proxy resources.

The restarter compares a running proxy's resources with the expected ones. The API server echoes
quantities in the form they were written, so textual comparison would restart pods whose values are
merely spelled differently. The parser is ``k8s.quantity``'s; here unparseable text is not an error but
compared as written.
"""

from __future__ import annotations

from fractions import Fraction

from kyma_istio.k8s.quantity import parse_quantity


def quantity_value(text: str) -> Fraction | None:
    """The exact value of ``text``, or ``None`` when it is not a quantity."""
    try:
        return parse_quantity(text.strip())
    except ValueError:
        return None


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

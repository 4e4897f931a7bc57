"""A count with a few example names: what a plan keeps per group instead of every pod.

Examples are the alphabetically smallest names seen, not the first ones, so a plan does not depend
on the order in which the API server happened to return pods.
"""

from __future__ import annotations

import bisect


class Tally:
    """How many pods, and up to ``cap`` of their names in sorted order."""

    __slots__ = ("_cap", "count", "examples")

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self.count = 0
        self.examples: list[str] = []

    def add(self, name: str) -> None:
        """Count one pod; remember its name if it is among the ``cap`` smallest."""
        self.count += 1
        if len(self.examples) < self._cap or (self.examples and name < self.examples[-1]):
            bisect.insort(self.examples, name)
            del self.examples[self._cap :]

    def merge(self, other: Tally) -> None:
        """Fold ``other`` into this tally (order-independent)."""
        self.count += other.count
        self.examples = sorted({*self.examples, *other.examples})[: self._cap]

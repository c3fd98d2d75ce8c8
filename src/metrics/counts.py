"""Sums of per-event counts that add over events and are divided at the end.

A dataclass of numeric fields that inherits :class:`Sums` adds field by field with ``+``; :func:`ratio`
divides two of its sums, NaN when the denominator is empty.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Self


class Sums:
    """Mixin of dataclasses of per-event sums: ``a + b`` adds every field."""

    def __add__(self, other: Self) -> Self:
        return type(self)(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


def ratio(num: float, den: float) -> float:
    """``num / den`` as a float, NaN when ``den`` is not positive."""
    return float(num / den) if den > 0 else float("nan")

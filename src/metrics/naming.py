"""Metric-name helpers: the one place where threshold suffixes such as ``precision@recall0.99`` are made."""

from __future__ import annotations

import math


def format_threshold(value: float) -> str:
    """Format a threshold for a metric-name suffix: 0.99 → ``"0.99"``, 0.999 → ``"0.999"``, 0.9 → ``"0.9"``,
    0.0 → ``"0.0"``, 1 → ``"1.0"``.

    The value is rounded to 10 decimals first, so float noise (``0.1 + 0.2``) never leaks into a name.
    """
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"a metric threshold must be finite, got {value}")
    return repr(round(value, 10))


def with_threshold(prefix: str, value: float) -> str:
    """Append a formatted threshold to a metric prefix: ``with_threshold("precision@recall", 0.99)`` →
    ``"precision@recall0.99"``, ``with_threshold("eff_dm_pt", 0.9)`` → ``"eff_dm_pt0.9"``."""
    return f"{prefix}{format_threshold(value)}"


def fbeta_name(beta: float) -> str:
    """Name of the F-beta score: 1 → ``"f1"``, 3.0 → ``"fbeta3"``, 0.5 → ``"fbeta0.5"``."""
    beta = float(beta)
    if not (math.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be a positive finite number, got {beta}")
    return "f1" if beta == 1 else f"fbeta{beta:g}"

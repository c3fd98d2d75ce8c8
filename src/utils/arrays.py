"""Small vectorised numpy helpers shared by the simulation and the reconstruction."""

from __future__ import annotations

import numpy as np


def wrap(angle: np.ndarray) -> np.ndarray:
    """Angle wrapped to [−π, π)."""
    return np.mod(angle + np.pi, 2.0 * np.pi) - np.pi


def expand(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges [start, start + count): (owner index, position) of every element, in order."""
    owner = np.repeat(np.arange(len(counts)), counts)
    offset = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, np.repeat(starts, counts) + offset

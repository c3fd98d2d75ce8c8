"""Digitisation: measured hit positions (pitch smearing, strip quantisation) and noise hits."""

from __future__ import annotations

import math

import numpy as np

from src.sim.tracker.crossings import Crossings
from src.sim.tracker.geometry import Geometry


def measure(
    det: Geometry, module: np.ndarray, upper: np.ndarray, pos: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Measured positions [n, 3]: Gaussian pitch/√12 smearing along u, strip-centre along v."""
    m = det.modules
    centre = m.sensor_centre(module, upper)
    rel = pos - centre
    u = np.einsum("ij,ij->i", rel, m.u_axis[module])
    v = np.einsum("ij,ij->i", rel, m.v_axis[module])
    u = u + rng.normal(0.0, 1.0, len(u)) * m.pitch[module] / math.sqrt(12.0)
    cell = np.where(upper, m.upper_cell[module], m.lower_cell[module])
    half_v = m.half_v[module]
    v = (np.floor((v + half_v) / cell).clip(0, np.rint(2 * half_v / cell) - 1) + 0.5) * cell - half_v
    return centre + u[:, None] * m.u_axis[module] + v[:, None] * m.v_axis[module]


def noise_crossings(det: Geometry, rate: float, rng: np.random.Generator) -> Crossings:
    """Noise hits: Poisson(``rate``) per sensor, uniform over the sensor."""
    m = det.modules
    n = rng.poisson(rate * 2 * len(m))
    module = rng.integers(0, len(m), n)
    upper = rng.random(n) < 0.5
    u = rng.uniform(-1.0, 1.0, n) * m.half_u[module]
    v = rng.uniform(-1.0, 1.0, n) * m.half_v[module]
    pos = m.sensor_centre(module, upper) + u[:, None] * m.u_axis[module] + v[:, None] * m.v_axis[module]
    return Crossings(np.full(n, -1), module, upper, pos, np.zeros(n))

"""Exact helices in a uniform solenoid field and their crossings with cylinders and planes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from src.sim.tracker.config import TWO_PI
from src.sim.tracker.layout import CURVATURE, TRACKER_R_MAX, TRACKER_Z_MAX


@dataclass(frozen=True)
class Helices:
    """Helix parameters: position = centre + R (cos β, sin β), β = β0 + h s / R, z = z0 + cot · s,
    with s the transverse path length and h = −sign(q B) the turning direction."""

    xc: np.ndarray
    yc: np.ndarray
    radius: np.ndarray
    beta0: np.ndarray
    h: np.ndarray
    z0: np.ndarray
    cot: np.ndarray
    s_stop: np.ndarray  # the particle leaves the tracker (or stops looping) here

    def at(self, idx: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions of helices ``idx`` after transverse path ``s``."""
        beta = self.beta0[idx] + self.h[idx] * s / self.radius[idx]
        r = self.radius[idx]
        return (
            self.xc[idx] + r * np.cos(beta),
            self.yc[idx] + r * np.sin(beta),
            self.z0[idx] + self.cot[idx] * s,
        )

    def direction(self, idx: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Unit momentum directions [n, 3] of helices ``idx`` after transverse path ``s``."""
        phi = self.beta0[idx] + self.h[idx] * (s / self.radius[idx] + 0.5 * np.pi)
        return _unit(np.c_[np.cos(phi), np.sin(phi), self.cot[idx]])


def _unit(v: np.ndarray) -> np.ndarray:
    """Rows of ``v`` normalised to unit length."""
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def helix_radius(pt: np.ndarray, b_field: float) -> np.ndarray:
    """Radius of curvature (cm) of a unit-charge track: R[m] = pT[GeV] / (0.3 B[T])."""
    return pt / (CURVATURE * b_field)


def make_helices(
    particles: np.ndarray,
    b_field: float,
    max_turns: float,
    s_limit: np.ndarray | None = None,
    *,
    r_max: float = TRACKER_R_MAX,
    z_max: float = TRACKER_Z_MAX,
) -> Helices:
    """Helices of ``particles`` with their stopping path length (at most ``s_limit``): where they leave
    the tracker volume (radius ``r_max``, ``|z|`` ``z_max``; the LST tracker's by default) or after
    ``max_turns`` turns."""
    pt = np.maximum(np.hypot(particles["px"], particles["py"]), 1e-9)
    phi0 = np.arctan2(particles["py"], particles["px"])
    radius = helix_radius(pt, b_field)
    h = -np.sign(particles["q"] * b_field).astype(np.float64)
    beta0 = phi0 - h * np.pi / 2.0
    xc = particles["vx"] - radius * np.cos(beta0)
    yc = particles["vy"] - radius * np.sin(beta0)
    cot = particles["pz"] / pt
    with np.errstate(divide="ignore"):
        s_z = np.where(cot != 0, (np.sign(cot) * z_max - particles["vz"]) / cot, np.inf)
    hx = Helices(xc, yc, radius, beta0, h, particles["vz"], cot, np.zeros_like(pt))
    s_r = np.fmin(*cylinder_crossings(hx, np.arange(len(pt)), r_max))
    s_stop = np.minimum.reduce([s_z, np.nan_to_num(s_r, nan=np.inf), max_turns * TWO_PI * radius])
    if s_limit is not None:
        s_stop = np.minimum(s_stop, s_limit)
    return Helices(xc, yc, radius, beta0, h, particles["vz"], cot, s_stop)


def _turn_solutions(
    hx: Helices, idx: np.ndarray, gamma: np.ndarray, c: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Path lengths in [0, 2πR) where cos(β − γ) = c (NaN without solution)."""
    with np.errstate(invalid="ignore"):
        half = np.arccos(c)
    out = []
    for sign in (1.0, -1.0):
        turn = np.mod(hx.h[idx] * (gamma + sign * half - hx.beta0[idx]), TWO_PI)
        out.append(turn * hx.radius[idx])
    return out[0], out[1]


def cylinder_crossings(hx: Helices, idx: np.ndarray, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """First-turn path lengths where helices ``idx`` cross the cylinder r = ``rho``."""
    xc, yc, r = hx.xc[idx], hx.yc[idx], hx.radius[idx]
    dc2 = xc**2 + yc**2
    c = (rho**2 - dc2 - r**2) / (2.0 * r * np.sqrt(dc2))
    return _turn_solutions(hx, idx, np.arctan2(yc, xc), c)


def line_crossings(
    hx: Helices, idx: np.ndarray, alpha: np.ndarray, dist: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """First-turn path lengths where helices ``idx`` cross the planes x cos α + y sin α = dist."""
    c = (dist - hx.xc[idx] * np.cos(alpha) - hx.yc[idx] * np.sin(alpha)) / hx.radius[idx]
    return _turn_solutions(hx, idx, alpha, c)

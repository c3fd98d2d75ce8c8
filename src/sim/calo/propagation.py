"""From the production vertex to the calorimeter: helices in the solenoid's uniform field along z
(straight lines for neutral particles), to the first of the barrel's entrance cylinder and the endcaps'
entrance planes that the particle reaches within their extent.

A particle of charge q and transverse momentum pT turns with curvature κ = q · 0.2998 B / pT (1/m for B
in T, pT in GeV): after a transverse path s its azimuth is φ0 − κ s (positive particles turn clockwise
seen from +z for B > 0) and it has advanced s · pz / pT in z.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: c in m/ns and the curvature constant 0.2998 GeV / (T m), here per mm.
C_MM_PER_NS = 299.792458
CURVATURE_PER_MM = 0.299792458e-3
TWO_PI = 2.0 * np.pi
BARREL, ENDCAP, MISSED = 0, 1, -1


@dataclass(frozen=True)
class Entry:
    """Where particles enter the calorimeter: ``region`` (BARREL, ENDCAP or MISSED), position (mm),
    unit direction, time (ns) and the transverse path length from the vertex (mm)."""

    region: np.ndarray
    position: np.ndarray
    direction: np.ndarray
    time: np.ndarray
    path: np.ndarray


def _helix_at(
    x0: np.ndarray, y0: np.ndarray, phi0: np.ndarray, kappa: np.ndarray, s: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, φ) after transverse path ``s`` (straight where κ = 0)."""
    phi = phi0 - kappa * s
    small = np.abs(kappa) < 1e-12
    k = np.where(small, 1.0, kappa)
    x = np.where(small, x0 + s * np.cos(phi0), x0 + (np.sin(phi0) - np.sin(phi)) / k)
    y = np.where(small, y0 + s * np.sin(phi0), y0 + (np.cos(phi) - np.cos(phi0)) / k)
    return x, y, phi


def _to_cylinder(
    x0: np.ndarray, y0: np.ndarray, phi0: np.ndarray, kappa: np.ndarray, radius: float
) -> np.ndarray:
    """Smallest transverse path s > 0 at which the track reaches ``radius`` (inf if it never does)."""
    small = np.abs(kappa) < 1e-12
    # straight lines
    b = x0 * np.cos(phi0) + y0 * np.sin(phi0)
    disc = b**2 - (x0**2 + y0**2 - radius**2)
    s_line = np.where(disc >= 0, -b + np.sqrt(np.maximum(disc, 0.0)), np.inf)
    s_line = np.where(s_line > 0, s_line, np.inf)
    # circles: centre c, radius rho; the angle of (p - c) is theta(s) = phi0 - kappa s + sign(kappa) pi/2
    k = np.where(small, 1.0, kappa)
    sgn = np.sign(k)
    rho = 1.0 / np.abs(k)
    cx, cy = x0 + np.sin(phi0) / k, y0 - np.cos(phi0) / k
    d = np.maximum(np.hypot(cx, cy), 1e-12)
    cos_arg = (radius**2 - d**2 - rho**2) / (2.0 * d * rho)
    reach = np.abs(cos_arg) <= 1.0
    theta_c = np.arctan2(cy, cx)
    spread = np.arccos(np.clip(cos_arg, -1.0, 1.0))
    s_circle = np.full(len(x0), np.inf)
    for theta in (theta_c + spread, theta_c - spread):
        turn = np.mod(sgn * (phi0 + sgn * 0.5 * np.pi - theta), TWO_PI)
        turn = np.where(turn < 1e-12, TWO_PI, turn)
        s_circle = np.minimum(s_circle, np.where(reach, rho * turn, np.inf))
    return np.where(small, s_line, s_circle)


def propagate(
    gen: dict[str, np.ndarray],
    rows: np.ndarray,
    *,
    b_field: float,
    barrel: tuple[float, float, float] | None,
    endcap: tuple[float, float, float] | None,
) -> Entry:
    """Entry points of particles ``rows`` of the ``gen_*`` arrays into the calorimeter.

    ``barrel`` is (radius, 0, half-length) of the entrance cylinder, ``endcap`` (|z|, r_min, r_max) of
    the entrance planes (None where the detector has none); a particle enters where it first reaches
    one of them inside its extent, or is MISSED (it curls up, or leaves through the beam hole).
    """
    x0, y0, z0 = gen["gen_vx"][rows], gen["gen_vy"][rows], gen["gen_vz"][rows]
    px, py, pz = gen["gen_px"][rows], gen["gen_py"][rows], gen["gen_pz"][rows]
    q = gen["gen_charge"][rows].astype(np.float64)
    pt = np.maximum(np.hypot(px, py), 1e-12)
    phi0 = np.arctan2(py, px)
    cot = pz / pt
    kappa = q * CURVATURE_PER_MM * b_field / pt
    n = len(rows)
    best = np.full(n, np.inf)
    region = np.full(n, MISSED, dtype=np.int8)
    if barrel is not None:
        radius, _, half_length = barrel
        s = _to_cylinder(x0, y0, phi0, kappa, radius)
        ok = np.isfinite(s) & (np.abs(z0 + cot * np.where(np.isfinite(s), s, 0.0)) <= half_length)
        best = np.where(ok, s, best)
        region[ok] = BARREL
    if endcap is not None:
        z_plane, r_min, r_max = endcap
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(pz != 0, (np.sign(pz) * z_plane - z0) / cot, np.inf)
        s = np.where(s > 0, s, np.inf)
        x, y, _ = _helix_at(x0, y0, phi0, kappa, np.where(np.isfinite(s), s, 0.0))
        r = np.hypot(x, y)
        ok = np.isfinite(s) & (r >= r_min) & (r <= r_max) & (s < best)
        best = np.where(ok, s, best)
        region[ok] = ENDCAP
    s = np.where(np.isfinite(best), best, 0.0)
    x, y, phi = _helix_at(x0, y0, phi0, kappa, s)
    direction = np.c_[np.cos(phi), np.sin(phi), cot]
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    energy = gen["gen_energy"][rows]
    p = np.sqrt(px**2 + py**2 + pz**2)
    beta = np.where(energy > 0, p / np.maximum(energy, 1e-12), 1.0)
    length = s * np.sqrt(1.0 + cot**2)
    time = gen["gen_time"][rows] + length / (np.maximum(beta, 1e-6) * C_MM_PER_NS)
    return Entry(region=region, position=np.c_[x, y, z0 + cot * s], direction=direction, time=time, path=s)

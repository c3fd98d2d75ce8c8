"""Helices in a solenoid (field along +z) in the perigee parameters of LCIO and EDM4hep, vectorised.

At the point of closest approach (PCA) to the reference point (the origin) in the transverse plane:
``d0`` (mm), ``phi0`` (direction of the momentum there), ``omega`` = q·0.2998e-3·B/pT (1/mm: positive for
positive particles with B > 0, as MarlinTrk's ``HelixTrack(position, momentum, charge, Bz)`` makes it),
``z0`` (mm) and ``tan_lambda`` = pz/pT. The PCA lies at (−d0 sin φ0, d0 cos φ0, z0) and the circle's centre
at (ρ − d0)(sin φ0, −cos φ0) with ρ = 1/ω; a point at transverse path ``s`` from the PCA is
``C − ρ (sin(φ0 − s/ρ), −cos(φ0 − s/ρ))``, ``z0 + s tan λ``. Every formula is exact for any ω ≠ 0 and
stays precise for straight tracks (ρ of 100 m).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: pT (GeV) = C_CURV · B (T) · radius (mm).
C_CURV = 0.299792458e-3


def wrap(angle: np.ndarray) -> np.ndarray:
    """Angles wrapped into [−π, π)."""
    return (angle + np.pi) % (2.0 * np.pi) - np.pi


@dataclass(frozen=True)
class Perigee:
    """Perigee parameters of n helices (mm, rad, 1/mm), each [n]."""

    d0: np.ndarray
    z0: np.ndarray
    phi0: np.ndarray
    omega: np.ndarray
    tan_lambda: np.ndarray

    @property
    def rho(self) -> np.ndarray:
        """Signed radius 1/ω (mm)."""
        return 1.0 / self.omega

    def pt(self, b_field: float) -> np.ndarray:
        """Transverse momentum (GeV) in a field of ``b_field`` T."""
        return C_CURV * b_field / np.abs(self.omega)

    def centre(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of the circles' centres (mm)."""
        k = self.rho - self.d0
        return k * np.sin(self.phi0), -k * np.cos(self.phi0)

    def at(self, s: np.ndarray) -> np.ndarray:
        """Points [n, 3] (mm) at transverse path ``s`` from the PCA."""
        rho = self.rho
        xc, yc = self.centre()
        phi = self.phi0 - s / rho
        return np.stack(
            [xc - rho * np.sin(phi), yc + rho * np.cos(phi), self.z0 + s * self.tan_lambda], axis=1
        )

    def radius_at(self, s: np.ndarray) -> np.ndarray:
        """Transverse radius (mm) at transverse path ``s`` from the PCA."""
        rho, d0 = self.rho, self.d0
        half = np.sin(0.5 * s / rho)
        # r² = d0² + 4ρ(ρ − d0) sin²(s/2ρ), the law of cosines about the centre
        return np.sqrt(d0**2 + 4.0 * rho * (rho - d0) * half**2)

    def cylinder_path(self, radius: float | np.ndarray) -> np.ndarray:
        """Transverse path (mm) from the PCA to the first crossing of the cylinder of ``radius``, NaN where
        the helix never reaches it or starts outside it (r grows monotonically over the first half turn)."""
        rho, d0 = self.rho, self.d0
        # sin²(s/2ρ) = (R² − d0²) / (4ρ(ρ − d0)), in [0, 1] when the cylinder is crossed
        q = (np.asarray(radius, dtype=np.float64) ** 2 - d0**2) / (4.0 * rho * (rho - d0))
        with np.errstate(invalid="ignore"):
            s = 2.0 * np.abs(rho) * np.arcsin(np.sqrt(q))
        return np.where((q >= 0.0) & (q <= 1.0), s, np.nan)

    def plane_path(self, z: float | np.ndarray) -> np.ndarray:
        """Transverse path (mm) from the PCA to the plane at ``z``, NaN where it lies behind (s < 0) or
        the helix runs parallel to it."""
        with np.errstate(divide="ignore", invalid="ignore"):
            s = (z - self.z0) / self.tan_lambda
        return np.where(np.isfinite(s) & (s >= 0.0), s, np.nan)


def perigee(
    vertex: np.ndarray, momentum: np.ndarray, charge: np.ndarray, b_field: float
) -> tuple[Perigee, np.ndarray]:
    """Perigee parameters (about the origin) of charged particles produced at ``vertex`` [n, 3] (mm) with
    ``momentum`` [n, 3] (GeV) and ``charge`` [n] (e) in a field of ``b_field`` T along +z, and the
    transverse path from the PCA to the vertex (mm; negative for a particle made moving inwards)."""
    px, py, pz = momentum[:, 0], momentum[:, 1], momentum[:, 2]
    pt = np.hypot(px, py)
    omega = charge * C_CURV * b_field / pt
    rho = 1.0 / omega
    phi_v = np.arctan2(py, px)
    xc = vertex[:, 0] + rho * np.sin(phi_v)
    yc = vertex[:, 1] - rho * np.cos(phi_v)
    dist = np.hypot(xc, yc)
    sign = np.sign(rho)
    d0 = rho - sign * dist
    phi0 = np.arctan2(sign * xc, -sign * yc)
    s_vertex = rho * wrap(phi0 - phi_v)
    tan_lambda = pz / pt
    params = Perigee(
        d0=d0, z0=vertex[:, 2] - s_vertex * tan_lambda, phi0=phi0, omega=omega, tan_lambda=tan_lambda
    )
    return params, s_vertex

"""Particle guns: single particles or several close-by ones (the TICL studies' "CloseByParticleGun"),
at given energies and directions, for calibration, tests and single-particle studies.

Each of the ``n_particles`` particles is a species drawn uniformly from ``pdg``, with an energy that is
fixed (``energy`` a number) or drawn uniformly or log-uniformly (``energy_sampling``) in
``energy: [lo, hi]`` GeV, and a direction whose η and φ are fixed (numbers) or uniform in ranges
(``[lo, hi]``); ``mirror_eta`` flips the sign of η with probability ½ (both endcaps). With ``delta_r``
the first particle's direction is drawn as above and every other one uniformly within ΔR = sqrt(Δη² +
Δφ²) <= ``delta_r`` of it (close-by particles whose showers overlap). All start at ``vertex`` (mm).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from src.sim.generators import particle_table, pdg_mass_charge

ENERGY_SAMPLING = ("uniform", "log_uniform")


def _range(value: float | Sequence[float], name: str) -> tuple[float, float]:
    """(lo, hi) of a number (lo = hi) or of a [lo, hi] pair; a ``ValueError`` names the key."""
    if isinstance(value, int | float):
        return float(value), float(value)
    lo, hi = (float(v) for v in value)
    if hi < lo:
        raise ValueError(f"generator.{name}: [lo, hi] needs lo <= hi, got {[lo, hi]}")
    return lo, hi


class ParticleGun:
    """Single or close-by particles (``conf/generator/gun.yaml``); satisfies ``EventGenerator``."""

    def __init__(
        self,
        *,
        pdg: Sequence[int],
        n_particles: int,
        energy: float | Sequence[float],
        energy_sampling: str,
        eta: float | Sequence[float],
        phi: float | Sequence[float],
        mirror_eta: bool,
        delta_r: float | None,
        vertex: Sequence[float],
    ) -> None:
        self.pdg = tuple(int(p) for p in pdg)
        if not self.pdg:
            raise ValueError("generator.pdg: give at least one PDG id, e.g. [22] or [211, -211]")
        masses = [pdg_mass_charge(p)[0] for p in self.pdg]
        if n_particles < 1:
            raise ValueError(f"generator.n_particles must be >= 1, got {n_particles}")
        if energy_sampling not in ENERGY_SAMPLING:
            raise ValueError(
                f"generator.energy_sampling={energy_sampling!r}; allowed: {list(ENERGY_SAMPLING)}"
            )
        self.energy = _range(energy, "energy")
        if self.energy[0] <= max(masses):
            raise ValueError(
                f"generator.energy: {self.energy[0]} GeV is not above the mass of {self.pdg}"
                f" ({max(masses):.4g} GeV); the energy is the total energy"
            )
        if delta_r is not None and delta_r <= 0:
            raise ValueError(f"generator.delta_r must be positive or null, got {delta_r}")
        self.n_particles = int(n_particles)
        self.energy_sampling = energy_sampling
        self.eta, self.phi = _range(eta, "eta"), _range(phi, "phi")
        self.mirror_eta = bool(mirror_eta)
        self.delta_r = None if delta_r is None else float(delta_r)
        self.vertex = tuple(float(v) for v in vertex)
        if len(self.vertex) != 3:
            raise ValueError(f"generator.vertex: three coordinates (mm) expected, got {list(vertex)}")

    def describe(self) -> dict[str, Any]:
        """Every setting that changes the events."""
        return {
            "generator": "gun",
            "pdg": list(self.pdg),
            "n_particles": self.n_particles,
            "energy": list(self.energy),
            "energy_sampling": self.energy_sampling,
            "eta": list(self.eta),
            "phi": list(self.phi),
            "mirror_eta": self.mirror_eta,
            "delta_r": self.delta_r,
            "vertex": list(self.vertex),
        }

    def __call__(self, seed: int) -> dict[str, np.ndarray]:
        """The ``gen_*`` arrays of one event (deterministic for ``seed``)."""
        rng = np.random.default_rng(seed)
        n = self.n_particles
        pdg = np.asarray(self.pdg)[rng.integers(len(self.pdg), size=n)]
        lo, hi = self.energy
        if self.energy_sampling == "log_uniform":
            energy = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
        else:
            energy = rng.uniform(lo, hi, n)
        eta = rng.uniform(*self.eta, n)
        phi = rng.uniform(*self.phi, n)
        if self.delta_r is not None and n > 1:
            radius = self.delta_r * np.sqrt(rng.random(n - 1))
            angle = rng.uniform(0.0, 2.0 * np.pi, n - 1)
            eta[1:] = eta[0] + radius * np.cos(angle)
            phi[1:] = phi[0] + radius * np.sin(angle)
        if self.mirror_eta:  # close-by particles flip together
            eta = np.where(rng.random(1 if self.delta_r is not None else n) < 0.5, -eta, eta)
        phi = np.mod(phi + np.pi, 2.0 * np.pi) - np.pi
        mass = np.array([pdg_mass_charge(int(p))[0] for p in pdg])
        p = np.sqrt(np.maximum(energy**2 - mass**2, 0.0))
        pt = p / np.cosh(eta)
        return particle_table(
            pdg,
            pt * np.cos(phi),
            pt * np.sin(phi),
            pt * np.sinh(eta),
            vertex=np.tile(self.vertex, (n, 1)),
        )

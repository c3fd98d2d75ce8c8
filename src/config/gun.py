"""Schema of ``generator=gun``: single or close-by particles (``src.sim.generators.gun.ParticleGun``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegaconf import MISSING


@dataclass
class GunConf:
    """``generator=gun``: particle species, multiplicity, energies and directions."""

    _target_: str = "src.sim.generators.gun.ParticleGun"
    pdg: list[int] = MISSING
    n_particles: int = MISSING
    energy: Any = MISSING  # GeV: a number, or [lo, hi]
    energy_sampling: str = MISSING  # uniform | log_uniform (for an energy range)
    eta: Any = MISSING  # a number, or [lo, hi]
    phi: Any = MISSING  # rad: a number, or [lo, hi]
    mirror_eta: bool = MISSING
    delta_r: Any = MISSING  # ΔR of close-by particles around the first, or null
    vertex: list[float] = MISSING  # mm


SCHEMAS = {("generator", "gun"): GunConf}

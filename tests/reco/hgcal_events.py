"""HGCAL-like calorimeter events with known showers, for the tests of the TICL chain.

The layout follows the hgcal detector: 26 CE-E layers from |z| = 3.2 m every 13.5 mm, then 21 CE-H
layers (7 every 55 mm, 14 every 88 mm), square silicon cells of 10.9 mm, scintillator beyond r = 1.5 m in
CE-H. A shower is a cloud of energy spots: EM showers along a Gamma profile in the first ~20 layers within a
Molière radius of ~2 cm; hadron showers start in CE-E or CE-H and are made of several EM-like sub-showers
spread over ~5 cm (so CLUE3D may split them, as real hadrons fragment). Each particle comes from the
origin along (η, φ). Events are calorimeter events of ``src.event_model`` (``gen_*``, ``hit_*`` with CSR
contributions), with ``gen_interaction`` marking the signal (0) and pileup (k >= 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from src.event_model import SUBDETECTORS
from src.sim.generators import pdg_mass_charge

CELL = 10.9
Z_LAYERS = np.concatenate(
    [3190.0 + 13.5 * np.arange(26), 3545.0 + 55.0 * np.arange(7), 3930.0 + 88.0 * np.arange(14)]
)
NOISE = 0.0004  # GeV, every cell's noise sigma
THRESHOLD = 0.002  # GeV


@dataclass(frozen=True)
class Particle:
    """A particle shot from the origin: PDG id, energy (GeV), direction, interaction (0: signal)."""

    pdg: int
    energy: float
    eta: float
    phi: float
    interaction: int = 0


def _spots(p: Particle, rng: np.random.Generator, n_spots: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Energy spots of one shower: (layer, transverse offset [n, 2] in mm, energy)."""
    em = abs(p.pdg) in (11, 22)
    if em:
        t_max = max(2.0, np.log(p.energy / 0.01))
        depth = rng.gamma(shape=t_max / 1.5 + 1.0, scale=1.5, size=n_spots)  # ~ layers
        layer = np.clip(np.round(depth), 0, 46).astype(int)
        r = rng.exponential(9.0, n_spots)
        centre = np.zeros((n_spots, 2))
    else:
        start = rng.integers(8, 30)
        n_sub = rng.integers(2, 5)
        sub = rng.integers(0, n_sub, n_spots)
        sub_start = start + rng.integers(0, 6, n_sub)
        sub_centre = rng.normal(0.0, 40.0, (n_sub, 2))
        depth = sub_start[sub] + rng.gamma(shape=3.0, scale=2.0, size=n_spots)
        layer = np.clip(np.round(depth), 0, 46).astype(int)
        r = rng.exponential(18.0, n_spots)
        centre = sub_centre[sub]
    angle = rng.uniform(0, 2 * np.pi, n_spots)
    offset = centre + np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
    energy = np.full(n_spots, p.energy / n_spots)
    return layer, offset, energy


def gen_table(particles: Sequence[Particle]) -> dict[str, np.ndarray]:
    """The ``gen_*`` arrays of particles shot from the origin (``gen_interaction`` set)."""
    pdg = np.array([p.pdg for p in particles], dtype=np.int32)
    energy = np.array([p.energy for p in particles], dtype=np.float64)
    mass, charge = (
        (
            np.array(v, dtype=np.float64).reshape(-1)
            for v in zip(*map(pdg_mass_charge, pdg.tolist()), strict=True)
        )
        if len(pdg)
        else (np.zeros(0), np.zeros(0))
    )
    momentum = np.sqrt(np.maximum(energy**2 - mass**2, 0.0))
    theta = 2 * np.arctan(np.exp(-np.array([p.eta for p in particles], dtype=np.float64)))
    phi = np.array([p.phi for p in particles], dtype=np.float64)
    n = len(pdg)
    return {
        "gen_pdg": pdg,
        "gen_charge": charge.astype(np.float32),
        "gen_status": np.ones(n, dtype=np.int8),
        "gen_mass": mass,
        "gen_px": momentum * np.sin(theta) * np.cos(phi),
        "gen_py": momentum * np.sin(theta) * np.sin(phi),
        "gen_pz": momentum * np.cos(theta),
        "gen_energy": energy,
        "gen_vx": np.zeros(n),
        "gen_vy": np.zeros(n),
        "gen_vz": np.zeros(n),
        "gen_time": np.zeros(n),
        "gen_parent": np.full(n, -1, dtype=np.int32),
        "gen_calo_entry": np.full(n, -1, dtype=np.int32),
        "gen_interaction": np.array([p.interaction for p in particles], dtype=np.int16),
    }


def simulate(
    gen: dict[str, np.ndarray], *, seed: int = 0, n_noise: int = 0, spots_per_gev: float = 40.0
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The calorimeter event of ``gen_*`` particles (each showering along its momentum from the origin,
    in the endcap its pz points to) and the noise σ of each hit (GeV)."""
    rng = np.random.default_rng(seed)
    pt = np.hypot(gen["gen_px"], gen["gen_py"])
    eta = np.arcsinh(gen["gen_pz"] / np.maximum(pt, 1e-12))
    phi = np.arctan2(gen["gen_py"], gen["gen_px"])
    reach = (np.abs(eta) > 1.5) & (np.abs(eta) < 3.0)
    cells: dict[tuple[int, int, int, int], dict[int, float]] = {}
    for k in np.flatnonzero(reach):
        p = Particle(int(gen["gen_pdg"][k]), float(gen["gen_energy"][k]), float(eta[k]), float(phi[k]))
        layer, offset, energy = _spots(p, rng, max(20, int(spots_per_gev * p.energy)))
        side = 1 if p.eta > 0 else -1
        z = side * Z_LAYERS[layer]
        r = np.abs(z) / np.sinh(abs(p.eta))
        x = r * np.cos(p.phi) + offset[:, 0]
        y = r * np.sin(p.phi) + offset[:, 1]
        for lay, ix, iy, e in zip(layer, np.floor(x / CELL), np.floor(y / CELL), energy, strict=True):
            key = (side, int(lay), int(ix), int(iy))
            cells.setdefault(key, {})
            cells[key][int(k)] = cells[key].get(int(k), 0.0) + float(e)
    for _ in range(n_noise):
        side, lay = int(rng.choice([-1, 1])), int(rng.integers(0, 47))
        r, angle = rng.uniform(400, 1400), rng.uniform(-np.pi, np.pi)
        key = (side, lay, int(np.floor(r * np.cos(angle) / CELL)), int(np.floor(r * np.sin(angle) / CELL)))
        cells.setdefault(key, {})
    hits: dict[str, list] = {k: [] for k in ("cell", "x", "y", "z", "energy", "sub", "layer", "particle")}
    contrib_p: list[int] = []
    contrib_e: list[float] = []
    ptr = [0]
    for side, lay, ix, iy in sorted(cells):
        parts = cells[(side, lay, ix, iy)]
        measured = sum(parts.values()) + rng.normal(0.0, NOISE)
        if parts and measured < THRESHOLD:
            continue
        x, y = (ix + 0.5) * CELL, (iy + 0.5) * CELL
        ce_e = lay < 26
        sub = "hgcal_ce_e" if ce_e else ("hgcal_ce_h_scint" if np.hypot(x, y) > 1500 else "hgcal_ce_h_si")
        hits["cell"].append(((lay * 2 + (side > 0)) * 100000 + (ix + 500)) * 1000 + iy + 500)
        hits["x"].append(x)
        hits["y"].append(y)
        hits["z"].append(side * Z_LAYERS[lay])
        hits["energy"].append(max(measured, THRESHOLD) if parts else 5 * NOISE)
        hits["sub"].append(SUBDETECTORS.index(sub))
        hits["layer"].append(lay if ce_e else lay - 26)
        order = sorted(parts, key=lambda q: -parts[q])
        hits["particle"].append(order[0] if order else -1)
        contrib_p.extend(order)
        contrib_e.extend(parts[q] for q in order)
        ptr.append(len(contrib_p))
    n_hit = len(hits["x"])
    calo_entry = np.where(reach, np.arange(len(reach)), -1).astype(np.int32)
    event = {k: np.asarray(v).copy() for k, v in gen.items()} | {
        "gen_calo_entry": calo_entry,
        "hit_cell": np.array(hits["cell"], dtype=np.int64),
        "hit_x": np.array(hits["x"], dtype=np.float32),
        "hit_y": np.array(hits["y"], dtype=np.float32),
        "hit_z": np.array(hits["z"], dtype=np.float32),
        "hit_energy": np.array(hits["energy"], dtype=np.float32),
        "hit_time": (np.abs(np.array(hits["z"])) / 299.792458 + rng.normal(0, 0.03, n_hit)).astype(
            np.float32
        ),
        "hit_subdetector": np.array(hits["sub"], dtype=np.int8),
        "hit_layer": np.array(hits["layer"], dtype=np.int16),
        "hit_particle": np.array(hits["particle"], dtype=np.int32),
        "hit_contrib_ptr": np.array(ptr, dtype=np.int64),
        "hit_contrib_particle": np.array(contrib_p, dtype=np.int32),
        "hit_contrib_energy": np.array(contrib_e, dtype=np.float32),
    }
    return event, np.full(n_hit, NOISE)


def hgcal_event(
    particles: Sequence[Particle], *, seed: int = 0, n_noise: int = 0
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """A calorimeter event of ``particles`` and the noise σ of each of its hits (GeV)."""
    return simulate(gen_table(particles), seed=seed, n_noise=n_noise)


class SyntheticHGCAL:
    """A stand-in for the HGCAL simulation with the detector interface (``__call__(gen, seed)``,
    ``describe()``, ``noise_sigma(subdetector, layer)``), for tests of the data chain."""

    def __init__(self, n_noise: int = 0) -> None:
        self.n_noise = n_noise

    def describe(self) -> dict:
        return {"synthetic_hgcal": 1, "n_noise": self.n_noise}

    def __call__(self, gen: dict[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
        return simulate(gen, seed=seed, n_noise=self.n_noise)[0]

    def noise_sigma(self, subdetector: np.ndarray, layer: np.ndarray) -> np.ndarray:
        del layer
        return np.full(len(subdetector), NOISE)

    def inside(self, vertex: np.ndarray) -> np.ndarray:
        """Points [n, 3] in front of the calorimeter."""
        return np.abs(vertex[:, 2]) < Z_LAYERS[0]


class SyntheticGun:
    """Close-by signal particles (``n_particles`` photons or pions in the +z endcap, or all of PDG id
    ``pdg``), generator interface."""

    def __init__(self, n_particles: int = 2, pdg: int | None = None) -> None:
        self.n_particles, self.pdg = n_particles, pdg

    def describe(self) -> dict:
        return {"synthetic_gun": self.n_particles, "pdg": self.pdg}

    def __call__(self, seed: int) -> dict[str, np.ndarray]:
        particles = random_particles(np.random.default_rng(seed), n_signal=self.n_particles, n_pileup=0)
        if self.pdg is not None:
            particles = [Particle(self.pdg, p.energy, p.eta, p.phi) for p in particles]
        return gen_table(particles)


class SyntheticMinBias:
    """A pileup interaction: ``n_particles`` soft particles in both endcaps, generator interface."""

    def __init__(self, n_particles: int = 6) -> None:
        self.n_particles = n_particles

    def describe(self) -> dict:
        return {"synthetic_minbias": self.n_particles}

    def __call__(self, seed: int) -> dict[str, np.ndarray]:
        parts = random_particles(np.random.default_rng(seed), n_signal=0, n_pileup=self.n_particles)
        return gen_table([Particle(p.pdg, p.energy, p.eta, p.phi, 0) for p in parts])


def random_particles(
    rng: np.random.Generator, *, n_signal: int, n_pileup: int, eta: tuple[float, float] = (1.7, 2.8)
) -> list[Particle]:
    """Signal particles (photons and charged pions of 10-100 GeV, close by in one endcap) and pileup
    particles (1-10 GeV, anywhere in both endcaps), each pileup particle its own interaction."""
    out = []
    eta0, phi0 = rng.uniform(*eta), rng.uniform(-np.pi, np.pi)
    for _ in range(n_signal):
        pdg = int(rng.choice([22, 211, -211, 11]))
        out.append(
            Particle(pdg, float(rng.uniform(10, 100)), eta0 + rng.normal(0, 0.05), phi0 + rng.normal(0, 0.05))
        )
    for k in range(n_pileup):
        pdg = int(rng.choice([22, 211, -211, 130]))
        side = rng.choice([-1, 1])
        out.append(
            Particle(
                pdg, float(rng.uniform(1, 10)), side * rng.uniform(*eta), rng.uniform(-np.pi, np.pi), k + 1
            )
        )
    return out

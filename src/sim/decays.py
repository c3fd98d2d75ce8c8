"""Decays in flight of the long-lived particles the generator leaves undecayed: K⁰S, Λ and the other weakly
decaying hyperons (Σ±, Ξ⁰, Ξ⁻, Ω⁻ and their antiparticles, cτ of 2.4-8.7 cm), and of the π⁰ these make.

Each decays into one of its two-body modes (branching fractions of the PDG review, renormalised over the
modes listed; the π⁰ Dalitz decay, 1.2%, is counted as γγ), isotropically in its rest frame, after a
lab-frame flight of βγ·cτ·Exp(1) from its production vertex along its momentum (a straight line: exact
for the neutral ones; for the charged hyperons, which fly a few cm before decaying, the bending in the
field is neglected). Lifetimes and masses come from the ``particle`` package.

The caller decides which decays happen, since only it knows its detector::

    points = decay_points(gen, rng)                     # where each unstable particle would decay
    keep = np.hypot(points.vertex[:, 0], points.vertex[:, 1]) < r_calo  # e.g. before the calorimeter
    gen = decay(gen, points.subset(keep), rng)          # daughters appended, mothers marked DECAYED

:func:`decay_in_flight` repeats this with a predicate on the decay vertex until no new particle decays
(Ξ → Λ → p π, K⁰S → π⁰ π⁰ → 4 γ). Daughters get status ``SIMULATED``, ``gen_parent`` = the mother's row,
the decay vertex and time as production vertex and time, and ``gen_calo_entry`` −1 (the detector
simulation fills it); a mother that decays gets status ``DECAYED``; a particle whose decay the caller
rejects keeps its status (it reaches the detector) and is not offered again by ``decay_in_flight``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from particle import Particle

from src.sim.generators import DECAYED, SIMULATED, particle_table, pdg_mass_charge

#: Two-body decay modes: mother PDG id → ((branching fraction, daughter, daughter), ...); antiparticles
#: decay into the charge conjugates.
MODES: dict[int, tuple[tuple[float, int, int], ...]] = {
    310: ((0.6920, 211, -211), (0.3069, 111, 111)),  # K0S
    3122: ((0.641, 2212, -211), (0.359, 2112, 111)),  # Lambda
    3222: ((0.5157, 2212, 111), (0.4831, 2112, 211)),  # Sigma+
    3112: ((0.99848, 2112, -211),),  # Sigma-
    3322: ((0.99524, 3122, 111),),  # Xi0
    3312: ((0.99887, 3122, -211),),  # Xi-
    3334: ((0.678, 3122, -321), (0.236, 3322, -211), (0.086, 3312, 111)),  # Omega-
    111: ((0.98823, 22, 22),),  # pi0
}
C_MM_PER_NS = 299.792458
_UNSTABLE = np.array(sorted(MODES), dtype=np.int32)


@functools.lru_cache(maxsize=256)
def _conjugate(pdg: int) -> int:
    """PDG id of the antiparticle (itself for self-conjugate particles)."""
    return int(Particle.from_pdgid(pdg).invert().pdgid)


@functools.lru_cache(maxsize=64)
def _ctau(pdg: int) -> float:
    """cτ (mm) of a particle."""
    return float(Particle.from_pdgid(pdg).ctau)


def unstable(pdg: np.ndarray) -> np.ndarray:
    """Which PDG ids this module decays (those of :data:`MODES` and their antiparticles)."""
    return np.isin(np.abs(pdg), _UNSTABLE)


@dataclass(frozen=True)
class DecayPoints:
    """Where particles would decay: their ``rows`` in the gen table, the decay ``vertex`` [n, 3] (mm)
    and ``time`` [n] (ns)."""

    rows: np.ndarray
    vertex: np.ndarray
    time: np.ndarray

    def subset(self, keep: np.ndarray) -> DecayPoints:
        """The decays selected by a boolean mask or index array."""
        return DecayPoints(self.rows[keep], self.vertex[keep], self.time[keep])

    def __len__(self) -> int:
        return len(self.rows)


def decay_points(gen: dict[str, np.ndarray], rng: np.random.Generator, *, first_row: int = 0) -> DecayPoints:
    """Sampled decay vertex and time of every not yet decayed unstable particle at or after row
    ``first_row``: a proper time cτ·Exp(1), a flight of βγ times that along the momentum."""
    pdg = gen["gen_pdg"]
    rows = np.flatnonzero(unstable(pdg) & (gen["gen_status"] != DECAYED))
    rows = rows[rows >= first_row]
    ctau = np.array([_ctau(abs(int(p))) for p in pdg[rows]], dtype=np.float64)
    proper = ctau * rng.exponential(1.0, len(rows))  # mm/c
    mom = np.stack([gen["gen_px"][rows], gen["gen_py"][rows], gen["gen_pz"][rows]], axis=1)
    mass = gen["gen_mass"][rows]
    start = np.stack([gen["gen_vx"][rows], gen["gen_vy"][rows], gen["gen_vz"][rows]], axis=1)
    vertex = start + mom / mass[:, None] * proper[:, None]
    time = gen["gen_time"][rows] + gen["gen_energy"][rows] / mass * proper / C_MM_PER_NS
    return DecayPoints(rows, vertex, time)


def _choose_modes(pdg: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Daughter PDG ids (two arrays) of mothers ``pdg``, drawn by branching fraction."""
    draw = rng.random(len(pdg))
    d1, d2 = np.zeros(len(pdg), np.int32), np.zeros(len(pdg), np.int32)
    for mother in np.unique(np.abs(pdg)):
        sel = np.abs(pdg) == mother
        modes = MODES[int(mother)]
        cum = np.cumsum([br for br, _, _ in modes])
        pick = np.minimum(np.searchsorted(cum / cum[-1], draw[sel], side="right"), len(modes) - 1)
        a = np.array([m[1] for m in modes])[pick]
        b = np.array([m[2] for m in modes])[pick]
        anti = pdg[sel] < 0
        d1[sel] = np.where(anti, [_conjugate(int(x)) for x in a], a)
        d2[sel] = np.where(anti, [_conjugate(int(x)) for x in b], b)
    return d1, d2


def _two_body(
    rng: np.random.Generator,
    *,
    mom: np.ndarray,
    energy: np.ndarray,
    mass: np.ndarray,
    m1: np.ndarray,
    m2: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Lab momenta [n, 3] of the two daughters (masses ``m1``, ``m2``) of mothers with momenta ``mom``:
    isotropic in the mother's rest frame, then boosted."""
    n = len(mass)
    p_star = np.sqrt(np.maximum((mass**2 - (m1 + m2) ** 2) * (mass**2 - (m1 - m2) ** 2), 0.0)) / (2.0 * mass)
    cos_t, phi = rng.uniform(-1.0, 1.0, n), rng.uniform(0.0, 2.0 * np.pi, n)
    sin_t = np.sqrt(1.0 - cos_t**2)
    direction = np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=1)
    beta = mom / energy[:, None]
    gamma = energy / mass
    out = []
    for sign, m in ((1.0, m1), (-1.0, m2)):
        p = sign * p_star[:, None] * direction
        e = np.sqrt(p_star**2 + m**2)
        bp = (beta * p).sum(axis=1)
        out.append(p + (gamma**2 / (gamma + 1.0) * bp + gamma * e)[:, None] * beta)
    return out[0], out[1]


def decay(gen: dict[str, np.ndarray], points: DecayPoints, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A new gen table: ``gen`` with the particles of ``points`` decayed at their points (status
    ``DECAYED``) and their daughters appended (status ``SIMULATED``, parent = the mother's row)."""
    rows = points.rows
    out = {k: v.copy() for k, v in gen.items()}
    if not len(rows):
        return out
    d1, d2 = _choose_modes(gen["gen_pdg"][rows], rng)
    mom = np.stack([gen["gen_px"][rows], gen["gen_py"][rows], gen["gen_pz"][rows]], axis=1)
    m1, m2 = (np.array([pdg_mass_charge(int(d))[0] for d in ds]) for ds in (d1, d2))
    p1, p2 = _two_body(rng, mom=mom, energy=gen["gen_energy"][rows], mass=gen["gen_mass"][rows], m1=m1, m2=m2)
    # daughters interleaved: (first, second) of each mother in turn
    pdg = np.stack([d1, d2], axis=1).ravel()
    p = np.stack([p1, p2], axis=1).reshape(-1, 3)
    daughters = particle_table(
        pdg,
        p[:, 0],
        p[:, 1],
        p[:, 2],
        vertex=np.repeat(points.vertex, 2, axis=0),
        time=np.repeat(points.time, 2),
        status=SIMULATED,
        parent=np.repeat(rows, 2),
    )
    out["gen_status"][rows] = DECAYED
    return {k: np.concatenate([out[k], daughters[k]]) for k in out}


def decay_in_flight(
    gen: dict[str, np.ndarray],
    rng: np.random.Generator,
    *,
    inside: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Decay every unstable particle whose decay vertex [n, 3] (mm) satisfies ``inside`` (all when None),
    then their unstable daughters, and so on; each particle is offered once."""
    first = 0
    while True:
        points = decay_points(gen, rng, first_row=first)
        if inside is not None:
            points = points.subset(np.asarray(inside(points.vertex), dtype=bool))
        if not len(points):
            return gen
        first = len(gen["gen_pdg"])
        gen = decay(gen, points, rng)

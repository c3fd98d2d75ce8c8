"""Minimum-bias and hard-scatter particles: from the tracker simulation's own spectra (vertices in the
luminous region, negative-binomial multiplicities, flat η, Tsallis pT, jets and π⁰ photons) or, for the
pileup interactions with ``minbias="pythia"``, from Pythia 8 pp minimum bias at 14 TeV."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from src.sim.decays import decay_in_flight
from src.sim.generators import DECAYED
from src.sim.generators.pythia import shared_minimum_bias
from src.sim.tracker.config import DECAY, PION_MASS, PRIMARY, TrackerSimConfig, particle_table
from src.sim.tracker.layout import TRACKER_R_MAX, TRACKER_Z_MAX
from src.utils.arrays import wrap

MM_PER_CM = 10.0


@functools.lru_cache(maxsize=8)
def _tsallis_table(n: float, t: float, pt_min: float) -> tuple[np.ndarray, np.ndarray]:
    """(CDF, pT) grid of dN/dpT ∝ pT (1 + (mT − m)/(n T))^−n above ``pt_min``."""
    pt = np.geomspace(pt_min, 200.0, 4000)
    mt = np.hypot(pt, PION_MASS)
    pdf = pt * (1.0 + (mt - PION_MASS) / (n * t)) ** (-n)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(pt))])
    return cdf / cdf[-1], pt


@dataclass(frozen=True)
class Vertices:
    """Interaction vertices (row 0 = hard scatter), their charged-particle multiplicities and the jet
    axes (η, φ) of the hard scatter."""

    pos: np.ndarray  # [n, 3]
    n_charged: np.ndarray
    jets: np.ndarray  # [hs_jets, 2]


def generate_vertices(cfg: TrackerSimConfig, rng: np.random.Generator) -> Vertices:
    """Hard scatter plus Poisson(μ) pileup vertices in the luminous region, negative-binomial
    multiplicities in |η| < ``eta_max``."""
    n_vtx = rng.poisson(cfg.pileup) + 1
    mean = np.full(n_vtx, cfg.dndeta * 2.0 * cfg.eta_max)
    mean[0] *= cfg.hs_multiplicity if cfg.hard_scatter else 0.0
    k = np.full(n_vtx, cfg.multiplicity_k)
    k[0] = cfg.hs_multiplicity_k
    n_charged = rng.negative_binomial(k, k / (k + mean))
    pos = np.c_[rng.normal(0.0, cfg.beam_sigma_xy, (n_vtx, 2)), rng.normal(0.0, cfg.beam_sigma_z, n_vtx)]
    jets = np.c_[rng.uniform(-2.5, 2.5, cfg.hs_jets), rng.uniform(-np.pi, np.pi, cfg.hs_jets)]
    return Vertices(pos, n_charged, jets)


def _kinematics(
    cfg: TrackerSimConfig, rng: np.random.Generator, vertex: np.ndarray, jets: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pT, η, φ) of particles from ``vertex``: flat η and φ, Tsallis pT; at the hard scatter a harder
    spectrum and a fraction of the particles collimated around the ``jets`` axes."""
    n = len(vertex)
    eta = rng.uniform(-cfg.eta_max, cfg.eta_max, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    in_jet = np.flatnonzero((vertex == 0) & (rng.random(n) < cfg.hs_jet_fraction)) if len(jets) else []
    jet = rng.integers(0, max(len(jets), 1), len(in_jet))
    spread = rng.normal(0.0, cfg.hs_jet_width, (len(in_jet), 2))
    eta[in_jet] = jets[jet, 0] + spread[:, 0]
    phi[in_jet] = wrap(jets[jet, 1] + spread[:, 1])
    n_exp = np.where(vertex == 0, cfg.hs_tsallis_n, cfg.tsallis_n)
    pt = np.empty(n)
    for value in np.unique(n_exp):
        sel = n_exp == value
        cdf, grid = _tsallis_table(float(value), cfg.tsallis_t, cfg.pt_min)
        pt[sel] = np.interp(rng.random(int(sel.sum())), cdf, grid)
    return pt, eta, phi


def generate_charged(cfg: TrackerSimConfig, rng: np.random.Generator, vtx: Vertices) -> np.ndarray:
    """Primary charged particles (process 0)."""
    vertex = np.repeat(np.arange(len(vtx.n_charged)), vtx.n_charged)
    pt, eta, phi = _kinematics(cfg, rng, vertex, vtx.jets)
    mom = np.c_[pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)]
    q = rng.choice(np.array([-1, 1], dtype=np.int8), len(vertex))
    return particle_table(vertex, vtx.pos[vertex], mom, q, parent=np.zeros(len(q), np.int64), process=PRIMARY)


def generate_photons(
    cfg: TrackerSimConfig, rng: np.random.Generator, vtx: Vertices
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """π⁰ → γγ photons: (vertex, start [n, 3], momentum [n, 3]); each photon takes a uniform share of
    its π⁰'s momentum, along the π⁰ direction."""
    n_pi0 = rng.poisson(cfg.pi0_per_charged * vtx.n_charged)
    vertex = np.repeat(np.arange(len(n_pi0)), n_pi0)
    pt, eta, phi = _kinematics(cfg, rng, vertex, vtx.jets)
    share = rng.random(len(vertex))
    vertex, pt = np.repeat(vertex, 2), np.repeat(pt, 2) * np.c_[share, 1.0 - share].ravel()
    eta, phi = np.repeat(eta, 2), np.repeat(phi, 2)
    mom = np.c_[pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)]
    return vertex, vtx.pos[vertex], mom


def hard_scatter_only(vtx: Vertices) -> Vertices:
    """The same vertices with no particles at the pileup ones (their particles come from elsewhere)."""
    n_charged = np.zeros_like(vtx.n_charged)
    n_charged[0] = vtx.n_charged[0]
    return dataclasses.replace(vtx, n_charged=n_charged)


def _inside_tracker(vertex_mm: np.ndarray) -> np.ndarray:
    """Whether decay vertices (mm) lie inside the tracker volume (only their decays can leave hits)."""
    r = np.hypot(vertex_mm[:, 0], vertex_mm[:, 1]) / MM_PER_CM
    return (r < TRACKER_R_MAX) & (np.abs(vertex_mm[:, 2]) / MM_PER_CM < TRACKER_Z_MAX)


def pythia_pileup(
    cfg: TrackerSimConfig, rng: np.random.Generator, vtx: Vertices
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Particles of the pileup vertices (rows 1..) from Pythia 8 pp minimum bias at 14 TeV, each event
    shifted to its vertex: charged particles (process PRIMARY, or DECAY for the daughters of the K⁰S and
    hyperons that decay inside the tracker, :mod:`src.sim.decays`) and photons (vertex, start [n, 3],
    momentum [n, 3]). The own spectra's acceptance applies to both: pT > ``pt_min``, |η| < ``eta_max``.
    Pythia's multiplicities replace ``dndeta``/``multiplicity_k``; units converted from mm to cm."""
    generator = shared_minimum_bias()
    seeds = rng.integers(0, 2**31 - 1, len(vtx.pos) - 1)
    events = [decay_in_flight(generator(int(seed)), rng, inside=_inside_tracker) for seed in seeds]
    if not events:
        none = np.zeros((0, 3))
        empty = particle_table(
            np.zeros(0, np.int32),
            none,
            none,
            np.zeros(0, np.int8),
            parent=np.zeros(0, np.int64),
            process=PRIMARY,
        )
        return empty, (np.zeros(0, np.int64), none, none)
    vertex = np.repeat(np.arange(1, len(vtx.pos)), [len(e["gen_pdg"]) for e in events])
    gen = {k: np.concatenate([e[k] for e in events]) for k in events[0]}
    mom = np.stack([gen["gen_px"], gen["gen_py"], gen["gen_pz"]], axis=1)
    start = vtx.pos[vertex] + np.stack([gen["gen_vx"], gen["gen_vy"], gen["gen_vz"]], axis=1) / MM_PER_CM
    pt = np.hypot(mom[:, 0], mom[:, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(mom[:, 2] / pt)
    accepted = (gen["gen_status"] != DECAYED) & (pt > cfg.pt_min) & (np.abs(eta) < cfg.eta_max)
    charged = np.flatnonzero(accepted & (gen["gen_charge"] != 0))
    photon = np.flatnonzero(accepted & (gen["gen_pdg"] == 22))
    q = gen["gen_charge"][charged].astype(np.int8)
    table = particle_table(
        vertex[charged],
        start[charged],
        mom[charged],
        q,
        parent=np.zeros(len(charged), np.int64),
        process=PRIMARY,
    )
    table["process"] = np.where(gen["gen_parent"][charged] >= 0, DECAY, PRIMARY)
    return table, (vertex[photon], start[photon], mom[photon])

"""Fast simulation of a CMS-like tracker with pileup: particles, exact helices, hits.

An event is a hard-scatter interaction plus Poisson(μ) minimum-bias interactions spread along the
beam line (:mod:`src.sim.tracker.minbias`). Charged particles follow exact helices in the uniform solenoid
field (:mod:`src.sim.tracker.helix`), vectorised over particles: their crossings with cylinders, flat ladders
and disk planes are solved analytically, with the tilted barrel modules by a few Newton steps from the
crossing of their mean cylinder (:mod:`src.sim.tracker.crossings`). π⁰ photons convert in the material
and hadrons interact in it (:mod:`src.sim.tracker.material`), adding displaced secondaries. A particle
stops when it leaves the tracker volume, after ``max_turns`` turns, or when it has lost its kinetic
energy at ``sensor_energy_loss`` per sensor crossed. Hits are smeared along the pitch direction and
quantised to the strip (or macro-pixel) centre along the strip; hits are lost with probability
1 − ``hit_efficiency`` and noise hits are added (:mod:`src.sim.tracker.digitisation`). The reconstruction
(line segments, :mod:`src.reco.lst`) is not part of the simulation.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from src.sim.tracker.config import HIT_DTYPE, SimEvent, TrackerSimConfig
from src.sim.tracker.crossings import propagate
from src.sim.tracker.digitisation import measure, noise_crossings
from src.sim.tracker.geometry import build_geometry
from src.sim.tracker.helix import helix_radius, make_helices
from src.sim.tracker.layout import TRACKER_R_MAX, TRACKER_R_MIN, TRACKER_Z_MAX, Material, tracker_material
from src.sim.tracker.material import convert_photons, nuclear_interactions, turn_segments
from src.sim.tracker.minbias import (
    generate_charged,
    generate_photons,
    generate_vertices,
    hard_scatter_only,
    pythia_pileup,
)
from src.utils.arrays import wrap

log = logging.getLogger(__name__)

#: A φ window (centre, half width) of the detector: only hits inside it are simulated.
PhiWindow = tuple[float, float]


def _in_region(phi: np.ndarray, region: PhiWindow, extra: np.ndarray | float = 0.0) -> np.ndarray:
    """Whether angles ``phi`` (± ``extra``) reach the φ region."""
    centre, half = region
    return np.abs(wrap(phi - centre)) <= half + extra


def reachable(particles: np.ndarray, cfg: TrackerSimConfig, region: PhiWindow) -> np.ndarray:
    """Particles that can leave a hit in the φ region.

    From the beam line a hit at radius r lies at azimuth φ0 + h·t/2 with r = 2R sin(t/2): between φ0 and
    φ0 + h·asin(r_max/2R), or up to π − asin(r_min/2R) for loopers. A particle starting displaced at r0
    stays within 2R of its start: within asin(2R/r0) of its start azimuth (anywhere if 2R > r0).
    """
    pt = np.hypot(particles["px"], particles["py"])
    two_r = 2.0 * helix_radius(pt, cfg.b_field)
    looper = two_r < TRACKER_R_MAX
    reach = np.where(
        looper,
        np.pi - np.arcsin(np.minimum(TRACKER_R_MIN / two_r, 1.0)),
        np.arcsin(np.minimum(TRACKER_R_MAX / two_r, 1.0)),
    )
    h = -np.sign(particles["q"] * cfg.b_field)
    mid = np.arctan2(particles["py"], particles["px"]) + 0.5 * h * reach
    r0 = np.hypot(particles["vx"], particles["vy"])
    displaced = r0 > 1.0
    spread = np.where(two_r < r0, np.arcsin(np.minimum(two_r / r0.clip(1e-9), 1.0)), np.pi)
    mid = np.where(displaced, np.arctan2(particles["vy"], particles["vx"]), mid)
    half = np.where(displaced, spread, 0.5 * reach)
    return _in_region(mid, region, half + 0.02)


def generate_particles(
    cfg: TrackerSimConfig,
    rng: np.random.Generator,
    *,
    material: Material | None = None,
    bounds: tuple[float, float] = (TRACKER_R_MAX, TRACKER_Z_MAX),
) -> tuple[np.ndarray, np.ndarray]:
    """All charged particles of an event with their path limits: primaries (ids 1..N), conversion
    electrons and nuclear-interaction secondaries (ids after), in ``material`` within the tracker volume
    ``bounds`` (r_max, z_max) (the LST tracker's by default)."""
    vtx = generate_vertices(cfg, rng)
    mat = tracker_material() if material is None else material
    if cfg.minbias == "own":
        primaries = generate_charged(cfg, rng, vtx)
    else:  # pileup from Pythia, the hard scatter from the own spectra
        vtx = hard_scatter_only(vtx)
        pileup, pileup_photons = pythia_pileup(cfg, rng, vtx)
        primaries = np.concatenate([generate_charged(cfg, rng, vtx), pileup])
    primaries["particle_id"] = np.arange(1, len(primaries) + 1)
    hx = make_helices(primaries, cfg.b_field, 1.0, r_max=bounds[0], z_max=bounds[1])
    nuclear, s_limit = nuclear_interactions(cfg, rng, primaries, hx, mat)
    photons = generate_photons(cfg, rng, vtx)
    if cfg.minbias != "own":
        photons = tuple(np.concatenate(pair) for pair in zip(photons, pileup_photons, strict=True))
    conversions = convert_photons(rng, *photons, mat)
    particles = np.concatenate([primaries, conversions, nuclear])
    particles["particle_id"] = np.arange(1, len(particles) + 1)
    s_limit = np.concatenate([s_limit, np.full(len(conversions) + len(nuclear), np.inf)])
    return particles, s_limit


def simulate_event(cfg: TrackerSimConfig, seed: int, *, phi_window: PhiWindow | None = None) -> SimEvent:
    """Generate, propagate and digitise one event; with ``phi_window`` only the hits inside it (and only
    the particles that can reach it are propagated)."""
    rng = np.random.default_rng(seed)
    det = build_geometry()
    particles, s_limit = generate_particles(cfg, rng)
    region = phi_window
    prop = np.flatnonzero(reachable(particles, cfg, region)) if region else np.arange(len(particles))
    segments = turn_segments(particles[prop], s_limit[prop], cfg, rng)
    cross = propagate(particles[prop], segments, det, cfg)
    cross = dataclasses.replace(cross, particle=prop[cross.particle])
    cross = cross.subset(rng.random(len(cross.module)) < cfg.hit_efficiency)
    pos = measure(det, cross.module, cross.upper, cross.pos, rng)
    noise = noise_crossings(det, cfg.noise_rate, rng)
    module = np.concatenate([cross.module, noise.module])
    upper = np.concatenate([cross.upper, noise.upper])
    pos = np.concatenate([pos, noise.pos])
    pid = np.concatenate([particles["particle_id"][cross.particle], np.zeros(len(noise.module), np.int64)])
    if region:
        keep = _in_region(np.arctan2(pos[:, 1], pos[:, 0]), region)
        module, upper, pos, pid = module[keep], upper[keep], pos[keep], pid[keep]
    hits = np.zeros(len(module), dtype=HIT_DTYPE)
    hits["hit_id"] = np.arange(1, len(module) + 1)
    hits["x"], hits["y"], hits["z"] = pos.T
    hits["layer"] = det.modules.layer[module]
    hits["module_id"] = module
    hits["upper"] = upper
    hits["particle_id"] = pid
    log.debug("event seed=%d: %d particles, %d hits", seed, len(particles), len(hits))
    return SimEvent(hits=hits, particles=particles)

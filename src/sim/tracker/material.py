"""Interactions with the tracker material: photon conversions, nuclear interactions, and the energy loss
and multiple scattering of loopers between turns."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from src.sim.tracker.config import (
    CONVERSION,
    ELECTRON_MASS,
    ION_LOSS,
    NUCLEAR,
    PION_MASS,
    TWO_PI,
    TrackerSimConfig,
    particle_table,
)
from src.sim.tracker.helix import Helices, _unit, cylinder_crossings, make_helices
from src.sim.tracker.layout import TRACKER_R_MIN, Material, tracker_material


def _surface_x0(mat: Material) -> np.ndarray:
    """Thickness (X0) of the surfaces in the order of the crossing arrays: cylinders, disks +z, disks −z."""
    return np.concatenate([mat.cyl_x0, mat.disk_x0, mat.disk_x0])


def _line_material(start: np.ndarray, d: np.ndarray, mat: Material) -> tuple[np.ndarray, np.ndarray]:
    """Straight lines (unit directions ``d``): path length to each surface (inf if not crossed) and
    cosine of the incidence angle, [n, surfaces]."""
    px, py, pz = (start[:, k : k + 1] for k in range(3))
    dx, dy, dz = (d[:, k : k + 1] for k in range(3))
    a, b = dx**2 + dy**2, px * dx + py * dy
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (-b + np.sqrt(b**2 - a * (px**2 + py**2 - mat.cyl_r**2))) / a
        ok = (t > 0) & (np.abs(pz + t * dz) < mat.cyl_half_z)
        cos_c = np.abs((px + t * dx) * dx + (py + t * dy) * dy) / mat.cyl_r
        zd = np.concatenate([mat.disk_z, -mat.disk_z])
        td = (zd - pz) / dz
        rd = np.hypot(px + td * dx, py + td * dy)
        r_lo, r_hi = np.tile(mat.disk_r[:, 0], 2), np.tile(mat.disk_r[:, 1], 2)
        ok_d = (td > 0) & (rd > r_lo) & (rd < r_hi)
    s = np.where(np.c_[ok, ok_d], np.c_[t, td], np.inf)
    return s, np.c_[cos_c, np.broadcast_to(np.abs(dz), td.shape)]


def _helix_material(hx: Helices, mat: Material) -> tuple[np.ndarray, np.ndarray]:
    """Helices: transverse path to each surface on the way out (inf if not crossed before stopping)
    and cosine of the incidence angle, [n, surfaces]."""
    idx = np.arange(len(hx.radius))
    s_all, cos_all = [], []
    for r, half_z in zip(mat.cyl_r, mat.cyl_half_z, strict=True):
        s = np.fmin(*cylinder_crossings(hx, idx, r))
        x, y, z = hx.at(idx, s)
        d = hx.direction(idx, s)
        s_all.append(np.where((s < hx.s_stop) & (np.abs(z) < half_z), s, np.inf))
        cos_all.append(np.abs(d[:, 0] * x + d[:, 1] * y) / r)
    for zd, (r_lo, r_hi) in zip(
        np.concatenate([mat.disk_z, -mat.disk_z]), np.tile(mat.disk_r, (2, 1)), strict=True
    ):
        with np.errstate(divide="ignore", invalid="ignore"):
            s = (zd - hx.z0) / hx.cot
        x, y, _ = hx.at(idx, s)
        r = np.hypot(x, y)
        s_all.append(np.where((s > 0) & (s < hx.s_stop) & (r > r_lo) & (r < r_hi), s, np.inf))
        cos_all.append(np.abs(hx.direction(idx, s)[:, 2]))
    return np.stack(s_all, axis=1), np.stack(cos_all, axis=1)


def _first_interaction(
    s: np.ndarray, thickness: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Rows that interact and where (path length): each crossed surface interacts with probability
    1 − exp(−thickness), the first one along the path wins."""
    prob = np.where(np.isfinite(s), -np.expm1(-thickness), 0.0)
    s_hit = np.where(rng.random(s.shape) < prob, s, np.inf)
    first = s_hit.min(axis=1)
    rows = np.flatnonzero(np.isfinite(first))
    return rows, first[rows]


def convert_photons(
    rng: np.random.Generator, vertex: np.ndarray, start: np.ndarray, mom: np.ndarray, mat: Material
) -> np.ndarray:
    """e⁺e⁻ pairs (process CONVERSION) of photons converting in the material (7/9 X0 per conversion
    length); the electron takes a uniform share of the photon momentum, both along the photon."""
    d = _unit(mom)
    s, cos = _line_material(start, d, mat)
    with np.errstate(divide="ignore"):
        rows, s_conv = _first_interaction(s, 7.0 / 9.0 * _surface_x0(mat) / cos, rng)
    point = start[rows] + s_conv[:, None] * d[rows]
    share = rng.random(len(rows))[:, None]
    mom_e = np.concatenate([mom[rows] * share, mom[rows] * (1.0 - share)])
    q = np.repeat(np.array([-1, 1], dtype=np.int8), len(rows))
    n = 2 * len(rows)
    return particle_table(
        np.tile(vertex[rows], 2),
        np.tile(point, (2, 1)),
        mom_e,
        q,
        parent=np.zeros(n, np.int64),
        process=CONVERSION,
    )


def _scatter(d: np.ndarray, cos_t: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """Unit vectors at polar angle acos(``cos_t``) and azimuth ``psi`` around unit vectors ``d``."""
    ref = np.where(np.abs(d[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    e1 = _unit(np.cross(d, ref))
    e2 = np.cross(d, e1)
    sin_t = np.sqrt(1.0 - cos_t**2)[:, None]
    return cos_t[:, None] * d + sin_t * (np.cos(psi)[:, None] * e1 + np.sin(psi)[:, None] * e2)


def nuclear_interactions(
    cfg: TrackerSimConfig, rng: np.random.Generator, primaries: np.ndarray, hx: Helices, mat: Material
) -> tuple[np.ndarray, np.ndarray]:
    """Hadronic interactions of primaries in the material on their first turn: the primary stops there
    (returned path limit) and Poisson(``nuclear_multiplicity``) charged secondaries leave with 5-50% of
    its momentum into its forward hemisphere (process NUCLEAR)."""
    s, cos = _helix_material(hx, mat)
    with np.errstate(divide="ignore"):
        rows, s_int = _first_interaction(s, cfg.nuclear_per_x0 * _surface_x0(mat) / cos, rng)
    s_limit = np.full(len(primaries), np.inf)
    s_limit[rows] = s_int
    point = np.c_[hx.at(rows, s_int)]
    p = np.hypot(primaries["px"][rows], primaries["py"][rows]) * np.hypot(1.0, hx.cot[rows])
    n_sec = rng.poisson(cfg.nuclear_multiplicity, len(rows))
    k = np.repeat(np.arange(len(rows)), n_sec)
    d = _scatter(
        hx.direction(rows, s_int)[k], rng.uniform(-0.5, 1.0, len(k)), rng.uniform(0.0, TWO_PI, len(k))
    )
    mom = d * (p[k] * rng.uniform(0.02, 0.3, len(k)))[:, None]
    q = rng.choice(np.array([-1, 1], dtype=np.int8), len(k))
    parent = primaries[rows[k]]
    sec = particle_table(parent["vertex_id"], point[k], mom, q, parent=parent["particle_id"], process=NUCLEAR)
    return sec, s_limit


@dataclass(frozen=True)
class Segments:
    """Helix segments to propagate, at most one turn each: ``particles`` rows hold each segment's start
    point and momentum, ``owner`` its particle (row), ``s_offset`` the path length before it and
    ``s_limit`` the path it may run (to the end of its turn or to a nuclear interaction)."""

    particles: np.ndarray
    owner: np.ndarray
    s_offset: np.ndarray
    s_limit: np.ndarray


def turn_segments(
    particles: np.ndarray, s_limit: np.ndarray, cfg: TrackerSimConfig, rng: np.random.Generator
) -> Segments:
    """Split each particle's path into turns: an exact helix per turn, and between turns (back at the
    turn's start point, higher in z) the energy loss and multiple scattering of the material crossed
    during the turn, so that loopers drift instead of retracing the same circle."""
    mat = tracker_material()
    state, owner = particles, np.arange(len(particles))
    offset, limit = np.zeros(len(particles)), s_limit
    parts = []
    for turn in range(math.ceil(cfg.max_turns)):
        hx = make_helices(state, cfg.b_field, min(1.0, cfg.max_turns - turn), limit)
        # a turn whose circle stays inside the innermost sensors leaves no hit, nor do the next ones
        sensitive = np.hypot(hx.xc, hx.yc) + hx.radius > TRACKER_R_MIN
        parts.append((state[sensitive], owner[sensitive], offset[sensitive], hx.s_stop[sensitive]))
        period = TWO_PI * hx.radius
        again = np.flatnonzero(sensitive & (hx.s_stop >= period * (1.0 - 1e-9)))
        state, mom = state[again].copy(), _turn_material(state[again], hx, again, mat, rng)
        state["vz"] += hx.cot[again] * period[again]
        state["px"], state["py"], state["pz"] = mom.T
        owner, offset, limit = owner[again], offset[again] + period[again], limit[again] - period[again]
        keep = np.hypot(state["px"], state["py"]) > 1e-3
        state, owner, offset, limit = state[keep], owner[keep], offset[keep], limit[keep]
    cols = [np.concatenate(c) for c in zip(*parts, strict=True)]
    return Segments(*cols)


def _turn_material(
    state: np.ndarray, hx: Helices, idx: np.ndarray, mat: Material, rng: np.random.Generator
) -> np.ndarray:
    """Momenta [n, 3] after one turn through the barrel material inside the turn's circle (every
    cylinder it spans, twice): ionisation (and bremsstrahlung for electrons) and multiple scattering."""
    centre = np.hypot(hx.xc[idx], hx.yc[idx])
    r_in, r_out = np.abs(centre - hx.radius[idx]), centre + hx.radius[idx]
    inside = (mat.cyl_r > r_in[:, None]) & (mat.cyl_r < r_out[:, None])
    x_turn = 2.0 * (inside * mat.cyl_x0).sum(axis=1) * np.hypot(1.0, hx.cot[idx])
    mom = np.stack([state["px"], state["py"], state["pz"]], axis=1)
    p = np.linalg.norm(mom, axis=1)
    mass = np.where(state["process"] == CONVERSION, ELECTRON_MASS, PION_MASS)
    energy = np.hypot(p, mass)
    energy = np.where(state["process"] == CONVERSION, energy * np.exp(-x_turn), energy) - ION_LOSS * x_turn
    p_new = np.sqrt(np.maximum(energy**2 - mass**2, 0.0))
    # Highland: θ0 = 13.6 MeV / (β p) √x (1 + 0.038 ln x), per projected plane
    theta0 = 0.0136 * energy / p**2 * np.sqrt(x_turn) * (1.0 + 0.038 * np.log(np.maximum(x_turn, 1e-6)))
    kick = rng.normal(0.0, 1.0, (len(p), 2)) * theta0[:, None]
    d = _scatter(mom / p[:, None], np.cos(np.hypot(*kick.T)), np.arctan2(kick[:, 1], kick[:, 0]))
    return d * p_new[:, None]

"""Deposits: the showers and MIP tracks of the particles that enter one region, as energy deposits on
its layers (before cells, sampling fluctuations, noise and thresholds: see :mod:`src.sim.calo.digitise`).

Inside the calorimeter a particle travels straight along its entry direction (its shower axis). The
axis crosses every layer at a path length s; the material in front of a layer, measured along the axis,
is its normal-incidence depth times the obliquity s / (normal distance). A spot at some depth belongs to
the layer whose sampling cell holds that depth and lands where the axis crosses the layer, moved
sideways by its radius in a random direction (perpendicular to the axis) and then along the axis onto
the layer's surface. Muons, charged hadrons before they interact and charged hadrons that never interact
cross each layer as MIPs until they have lost their kinetic energy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from src.sim.calo.geometry import Region
from src.sim.calo.propagation import C_MM_PER_NS
from src.sim.calo.showers import (
    CONVERSION_DEPTH,
    HAD_R_CORE,
    HAD_R_TAIL,
    SUBSHOWER_DEPTH,
    SUBSHOWER_FRACTION,
    Spots,
    em_fraction,
    em_spots,
    hadronic_spots,
)

EM, HADRONIC, MIP = 0, 1, 2


@dataclass(frozen=True)
class Deposits:
    """Deposits of one region: the gen row of the particle, the layer, the position (mm) on the layer,
    the amount (GeV of deposited energy for EM and HADRONIC deposits, path length over the layer's
    thickness for MIP crossings), the kind and the time (ns)."""

    row: np.ndarray
    layer: np.ndarray
    position: np.ndarray
    amount: np.ndarray
    kind: np.ndarray
    time: np.ndarray

    @staticmethod
    def concat(parts: list[Deposits]) -> Deposits:
        """All deposits of several parts."""
        if not parts:
            return Deposits(
                *(np.zeros(0, dtype=d) for d in (np.int64, np.int64)),
                np.zeros((0, 3)),
                np.zeros(0),
                np.zeros(0, dtype=np.int8),
                np.zeros(0),
            )
        return Deposits(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in Deposits.__dataclass_fields__)
        )


@dataclass(frozen=True)
class Axes:
    """Straight axes of particles in a region: origin (entry point), unit direction, entry time, two
    unit vectors across the axis, and per layer the path length s, the obliquity and the depths (X0, λ_I)
    along the axis at the end of each layer's sampling cell ([particles, layers])."""

    origin: np.ndarray
    direction: np.ndarray
    time: np.ndarray
    u: np.ndarray
    v: np.ndarray
    s: np.ndarray
    obliquity: np.ndarray
    x0: np.ndarray
    lam: np.ndarray


def make_axes(region: Region, origin: np.ndarray, direction: np.ndarray, time: np.ndarray) -> Axes:
    """Where the axes of particles entering ``region`` at ``origin`` along ``direction`` cross its layers."""
    pos = region.position[None, :]
    if region.barrel:
        ox, oy, dx, dy = origin[:, :1], origin[:, 1:2], direction[:, :1], direction[:, 1:2]
        a = np.maximum(dx**2 + dy**2, 1e-12)
        b = ox * dx + oy * dy
        s = (-b + np.sqrt(np.maximum(b**2 - a * (ox**2 + oy**2 - pos**2), 0.0))) / a
    else:
        side = np.sign(origin[:, 2:3])
        s = (side * pos - origin[:, 2:3]) / np.where(
            np.abs(direction[:, 2:3]) > 1e-12, direction[:, 2:3], 1e-12
        )
    obliquity = np.clip(s / (pos - region.front), 1.0, 50.0)
    across = np.cross(direction, np.array([0.0, 0.0, 1.0]))
    across[np.linalg.norm(across, axis=1) < 1e-9] = [1.0, 0.0, 0.0]
    u = across / np.linalg.norm(across, axis=1, keepdims=True)
    v = np.cross(direction, u)
    return Axes(
        origin=origin,
        direction=direction,
        time=time,
        u=u,
        v=v,
        s=s,
        obliquity=obliquity,
        x0=region.x0[None, :] * obliquity,
        lam=region.lam[None, :] * obliquity,
    )


def layer_of(table: np.ndarray, particle: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Layer whose sampling cell holds ``depth`` on the axis of ``particle`` (``table`` [p, L] of depths
    at the end of each layer); L where the depth lies beyond the last layer (leakage)."""
    n_layers = table.shape[1]
    span = float(table.max()) + 1.0 if table.size else 1.0
    flat = (table + np.arange(len(table))[:, None] * span).ravel()
    return np.searchsorted(flat, np.minimum(depth, span - 0.5) + particle * span) - particle * n_layers


def place(
    region: Region, axes: Axes, particle: np.ndarray, layer: np.ndarray, offset: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (mm) on ``layer`` of deposits displaced by ``offset`` [n, 2] (mm, along u and v) from
    the axis of ``particle``, and their times (ns)."""
    d = axes.direction[particle]
    s = axes.s[particle, layer]
    q = axes.origin[particle] + d * s[:, None]
    q += offset[:, :1] * axes.u[particle] + offset[:, 1:] * axes.v[particle]
    pos = region.position[layer]
    if region.barrel:
        rq = np.maximum(np.hypot(q[:, 0], q[:, 1]), 1e-9)
        radial = (d[:, 0] * q[:, 0] + d[:, 1] * q[:, 1]) / rq
        step = np.where(np.abs(radial) > 0.05, (pos - rq) / np.where(np.abs(radial) > 0.05, radial, 1.0), 0.0)
    else:
        side = np.sign(axes.origin[particle, 2])
        step = (side * pos - q[:, 2]) / np.where(np.abs(d[:, 2]) > 1e-6, d[:, 2], 1e-6)
    return q + d * step[:, None], axes.time[particle] + s / C_MM_PER_NS


def _lateral(radius: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    psi = rng.random(len(radius)) * 2.0 * np.pi
    return np.stack([radius * np.cos(psi), radius * np.sin(psi)], axis=1)


def _from_spots(
    region: Region,
    axes: Axes,
    rows: np.ndarray,
    particle: np.ndarray,
    spots: Spots,
    *,
    kind: int,
    shift: np.ndarray,
    rng: np.random.Generator,
) -> Deposits:
    """Deposits of spots of showers along the axes of ``particle`` (one per shower), each shower's
    spots displaced sideways by ``shift`` [showers, 2] (mm)."""
    p = particle[spots.shower]
    table = axes.x0 if kind == EM else axes.lam
    layer = layer_of(table, p, spots.depth)
    keep = layer < region.n_layers
    p, layer = p[keep], layer[keep]
    scale = region.moliere if kind == EM else region.lambda_length
    offset = _lateral(spots.radius[keep] * scale[layer], rng) + shift[spots.shower[keep]]
    pos, time = place(region, axes, p, layer, offset)
    return Deposits(rows[p], layer, pos, spots.energy[keep], np.full(len(p), kind, dtype=np.int8), time)


def em_showers(
    region: Region,
    axes: Axes,
    rows: np.ndarray,
    particle: np.ndarray,
    energy: np.ndarray,
    *,
    photon: np.ndarray,
    rng: np.random.Generator,
) -> Deposits:
    """Electromagnetic showers of ``particle`` (photons convert at an exponential depth first)."""
    start = np.where(photon, rng.exponential(CONVERSION_DEPTH, len(particle)), 0.0)
    s = region.first().sampling
    spots = em_spots(
        energy,
        start,
        z_eff=s.z_eff,
        ec_eff=s.ec_eff,
        fs=s.fs,
        ehat=s.ehat,
        stochastic=region.first().stochastic,
        rng=rng,
    )
    return _from_spots(
        region, axes, rows, particle, spots, kind=EM, shift=np.zeros((len(particle), 2)), rng=rng
    )


def mip_tracks(
    region: Region,
    axes: Axes,
    rows: np.ndarray,
    particle: np.ndarray,
    *,
    kinetic: np.ndarray,
    last: np.ndarray,
) -> tuple[Deposits, np.ndarray]:
    """MIP crossings of ``particle`` through layers before ``last`` (exclusive) until their ``kinetic``
    energy (GeV) is lost; returns the deposits and the energy each particle lost (GeV)."""
    loss = np.array([region.readouts[j].sampling.mip_loss for j in region.inner]) / 1000.0
    per_layer = loss[None, :] * axes.obliquity[particle]
    before = np.cumsum(per_layer, axis=1) - per_layer
    cross = (np.arange(region.n_layers)[None, :] < last[:, None]) & (before < kinetic[:, None])
    lost = np.minimum((per_layer * cross).sum(axis=1), kinetic)
    p_idx, layer = np.nonzero(cross)
    p = particle[p_idx]
    pos, time = place(region, axes, p, layer, np.zeros((len(p), 2)))
    amount = axes.obliquity[p, layer]
    return Deposits(rows[p], layer, pos, amount, np.full(len(p), MIP, dtype=np.int8), time), lost


def hadron_showers(
    region: Region,
    axes: Axes,
    rows: np.ndarray,
    particle: np.ndarray,
    energy: np.ndarray,
    *,
    charged: np.ndarray,
    baryon: np.ndarray,
    rng: np.random.Generator,
) -> Deposits:
    """Hadrons: MIP crossings (charged) until they interact at an exponential depth in λ_I, then a
    hadronic shower of the energy left, split into π⁰ sub-showers and a hadronic component."""
    start = rng.exponential(1.0, len(particle))
    at = layer_of(axes.lam[particle], np.arange(len(particle)), start)
    interacts = at < region.n_layers
    mips, lost = mip_tracks(region, axes, rows, particle[charged], kinetic=energy[charged], last=at[charged])
    left = energy.copy()
    left[charged] -= lost
    show = interacts & (left > 1e-3)
    particle, start, at, left, baryon = particle[show], start[show], at[show], left[show], baryon[show]
    f_em = em_fraction(left, baryon, rng)
    stochastic = np.array([ro.stochastic for ro in region.readouts])[region.inner[at]]
    had_parts = []
    for c in np.unique(stochastic):
        sel = np.flatnonzero(stochastic == c)
        spots = hadronic_spots((1.0 - f_em[sel]) * left[sel], start[sel], stochastic=float(c), rng=rng)
        had_parts.append(
            _from_spots(
                region,
                axes,
                rows,
                particle[sel],
                spots,
                kind=HADRONIC,
                shift=np.zeros((len(sel), 2)),
                rng=rng,
            )
        )
    # π⁰ sub-showers: up to 1 / SUBSHOWER_FRACTION of them, Dirichlet-shared, displaced off the axis
    e_em = f_em * left
    n_sub = np.clip(np.ceil(e_em / 2.0), 1, np.ceil(1.0 / SUBSHOWER_FRACTION)).astype(np.int64)
    owner = np.repeat(np.arange(len(particle)), n_sub)
    share = rng.gamma(np.ones(len(owner)))
    share /= np.bincount(owner, share, minlength=len(particle))[owner]
    k = axes.obliquity[particle[owner], -1]
    depth_lam = start[owner] + rng.exponential(SUBSHOWER_DEPTH, len(owner))
    depth_x0 = k * np.interp(depth_lam / k, region.lam, region.x0)
    s = region.first().sampling
    spots = em_spots(
        e_em[owner] * share,
        depth_x0,
        z_eff=s.z_eff,
        ec_eff=s.ec_eff,
        fs=s.fs,
        ehat=s.ehat,
        stochastic=region.first().stochastic,
        rng=rng,
    )
    u = rng.random(len(owner))
    r_off = (
        np.minimum(HAD_R_CORE * np.sqrt(u / (1.0 - u)), 3.0 * HAD_R_TAIL) * region.lambda_length[at[owner]]
    )
    em = _from_spots(region, axes, rows, particle[owner], spots, kind=EM, shift=_lateral(r_off, rng), rng=rng)
    return Deposits.concat([mips, *had_parts, em])

"""Sensor crossings of helices: flat barrel ladders, tilted rings and disk planes, solved analytically
(tilted modules by Newton steps), and the ranging out of particles that lose their energy."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields

import numpy as np

from src.sim.tracker.config import CONVERSION, ELECTRON_MASS, PION_MASS, TWO_PI, TrackerSimConfig
from src.sim.tracker.geometry import DiskSensors, Geometry, LadderSet, TiltedRings
from src.sim.tracker.helix import Helices, cylinder_crossings, line_crossings, make_helices
from src.sim.tracker.material import Segments
from src.utils.arrays import expand


@dataclass(frozen=True)
class Crossings:
    """Sensor crossings: helix index, module, upper flag, true position and path length."""

    particle: np.ndarray
    module: np.ndarray
    upper: np.ndarray
    pos: np.ndarray  # [n, 3]
    s: np.ndarray

    @staticmethod
    def concat(parts: list[Crossings]) -> Crossings:
        """Concatenate crossings."""
        return Crossings(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Crossings)))

    def subset(self, keep: np.ndarray) -> Crossings:
        """The crossings selected by mask or index ``keep``."""
        return Crossings(*(getattr(self, f.name)[keep] for f in fields(Crossings)))


def _cylinder_passes(hx: Helices, rho: float, r_max: float) -> tuple[np.ndarray, np.ndarray]:
    """(helix index, path length) of reference points for surfaces between radii ``rho`` and ``r_max``:
    every crossing of r = ``rho`` within the helices' turn, and the point of closest approach to the axis
    of helices that stay outside ``rho`` but get within ``r_max`` (they can touch the surface without
    crossing the cylinder)."""
    idx = np.arange(len(hx.radius))
    out_i, out_s = [], []
    for s in cylinder_crossings(hx, idx, rho):
        ok = np.isfinite(s)
        out_i.append(idx[ok])
        out_s.append(s[ok])
    centre = np.hypot(hx.xc, hx.yc)
    inner = np.flatnonzero((centre - hx.radius > rho) & (centre - hx.radius < r_max))
    beta = np.arctan2(hx.yc[inner], hx.xc[inner]) + np.pi  # circle point nearest the axis
    s_near = np.mod(hx.h[inner] * (beta - hx.beta0[inner]), TWO_PI) * hx.radius[inner]
    out_i.append(inner)
    out_s.append(s_near)
    return np.concatenate(out_i), np.concatenate(out_s)


def barrel_crossings(hx: Helices, lad: LadderSet) -> Crossings:
    """Crossings of the lower and upper sensors of one barrel layer's ladders.

    Ladders of one parity share a radius d and do not overlap each other. A helix reaching their plane
    crosses the cylinder r = d − sep (their closest approach to the axis) or, starting outside it, comes
    closest to the axis near the plane; there the nearest ladder of that parity is the candidate. Each
    (helix, ladder) candidate is intersected exactly with the ladder's sensor planes (both solutions of
    the turn) and kept inside the module.
    """
    step = TWO_PI / len(lad.phi)
    pairs = []
    for parity in (0, 1):
        d = float(lad.dist[parity])
        pidx, s_cyl = _cylinder_passes(hx, d - lad.sep, math.hypot(d, lad.half_u) + lad.sep)
        x, y, _ = hx.at(pidx, s_cyl)
        j0 = 2 * np.rint((np.arctan2(y, x) - parity * step) / (2.0 * step)).astype(np.int64) + parity
        pairs.append(pidx * len(lad.phi) + j0 % len(lad.phi))
    # passes in and out propose the same ladders: one candidate per (helix, ladder)
    keys = np.sort(np.concatenate(pairs))
    pidx, ladder = np.divmod(keys[np.r_[True, keys[1:] != keys[:-1]]], len(lad.phi))
    half_z = 0.5 * lad.n_z * lad.module_length
    alpha = lad.phi[ladder]
    parts = []
    for upper in (False, True):
        side = (0.5 if upper else -0.5) * lad.lower_sign[ladder] * lad.sep
        for s in line_crossings(hx, pidx, alpha, lad.dist[ladder] + side):
            run = np.flatnonzero(s < hx.s_stop[pidx])  # reached before the helix stops
            x, y, z = hx.at(pidx[run], s[run])
            u = np.abs(-x * np.sin(alpha[run]) + y * np.cos(alpha[run]))
            ok = (u <= lad.half_u) & (np.abs(z) < half_z)
            k = np.floor((z[ok] + half_z) / lad.module_length).astype(np.int64)
            run = run[ok]
            module = lad.first_module + ladder[run] * lad.n_z + k
            pos = np.stack([x[ok], y[ok], z[ok]], axis=1)
            parts.append(Crossings(pidx[run], module, np.full(len(run), upper), pos, s[run]))
    return Crossings.concat(parts)


def _plane_newton(
    hx: Helices, idx: np.ndarray, s: np.ndarray, normal: np.ndarray, dist: np.ndarray, *, n_iter: int
) -> tuple[np.ndarray, np.ndarray]:
    """``n_iter`` Newton iterations from ``s`` for the helix crossing of planes normal · P = dist (tilted
    planes have no closed form); returns the path length and the final residual (cm)."""
    nx, ny, nz = normal.T
    xc, yc, r, h = hx.xc[idx], hx.yc[idx], hx.radius[idx], hx.h[idx]
    beta0, z0, cot = hx.beta0[idx], hx.z0[idx], hx.cot[idx]
    for _ in range(n_iter):
        beta = beta0 + h * s / r
        c, sn = np.cos(beta), np.sin(beta)
        f = nx * (xc + r * c) + ny * (yc + r * sn) + nz * (z0 + cot * s) - dist
        s = s - f / (h * (ny * c - nx * sn) + nz * cot)
    beta = beta0 + h * s / r
    f = nx * (xc + r * np.cos(beta)) + ny * (yc + r * np.sin(beta)) + nz * (z0 + cot * s) - dist
    return s, np.abs(f)


def _band_points(hx: Helices, r_lo: float, r_hi: float, step: float) -> tuple[np.ndarray, np.ndarray]:
    """(helix index, path length) of points at most ``step`` apart along every part of the helices (one
    turn, before they stop) lying between radii ``r_lo`` and ``r_hi``. On the circle, r² = A + B cos(β − γ)
    (γ: azimuth of the centre), so the band is two arcs of β symmetric about the farthest point."""
    centre, radius = np.hypot(hx.xc, hx.yc), hx.radius
    a, b = centre**2 + radius**2, 2.0 * radius * centre
    with np.errstate(divide="ignore", invalid="ignore"):
        near = np.arccos(np.clip((r_hi**2 - a) / b, -1.0, 1.0))  # |β − γ| at r_hi (or the farthest point)
        far = np.arccos(np.clip((r_lo**2 - a) / b, -1.0, 1.0))
    idx = np.flatnonzero((np.abs(centre - radius) < r_hi) & (centre + radius > r_lo) & (far > near))
    gamma, h = np.arctan2(hx.yc[idx], hx.xc[idx]), hx.h[idx]
    out_i, out_s = [], []
    for lo, hi in ((near[idx], far[idx]), (-far[idx], -near[idx])):
        first = np.where(h > 0, lo, hi)  # the arc end reached first along the helix
        s0 = np.mod(h * (gamma + first - hx.beta0[idx]), TWO_PI) * radius[idx]
        length = (hi - lo) * radius[idx]
        n = np.ceil(length / step).astype(np.int64) + 1
        owner, k = expand(np.zeros(len(idx), np.int64), n)
        s = s0[owner] + k * (length / (n - 1))[owner]
        s = np.mod(s, TWO_PI * radius[idx][owner])  # an arc may straddle the start of the turn
        ok = s < hx.s_stop[idx][owner]
        out_i.append(idx[owner][ok])
        out_s.append(s[ok])
    return np.concatenate(out_i), np.concatenate(out_s)


def _pair_key(pidx: np.ndarray, module: np.ndarray, s: np.ndarray, bin_size: float) -> np.ndarray:
    """One int64 key per (helix, module, path-length bin), for de-duplication."""
    return (pidx.astype(np.int64) * 100_000 + module) * 1_000_000 + np.floor(s / bin_size).astype(np.int64)


def tilted_crossings(hx: Helices, rings: TiltedRings, det: Geometry) -> Crossings:
    """Crossings of the sensors of one layer's tilted rings. Points every 2 cm along the parts of the
    helices within the rings' radial extent select, of the two rings bracketing their z/r, those whose
    module plane is within a step, and there the two modules bracketing their φ; the crossing of each
    candidate sensor plane is then found by Newton iterations from that point and kept inside the module."""
    step = 2.0
    pidx, s_ref = _band_points(hx, rings.r_min, rings.r_max, step)
    x, y, z = hx.at(pidx, s_ref)
    r = np.hypot(x, y)
    # points over the flat ladders (below the first ring's z/r, with a margin) cannot reach a ring
    beyond = np.flatnonzero(np.abs(z) > 0.7 * np.abs(rings.z).min() / rings.r * r)
    pidx, s_ref, x, y, z, r = (a[beyond] for a in (pidx, s_ref, x, y, z, r))
    k = np.searchsorted(rings.z / rings.r, z / r).clip(1, len(rings.z) - 1)
    # rings k − 1, k bracket the point's z/r; keep those whose module plane (in r–z) is within a step
    pidx, s_ref, ring = np.repeat(pidx, 2), np.repeat(s_ref, 2), np.c_[k - 1, k].ravel()
    r, z, phi = np.repeat(r, 2), np.repeat(z, 2), np.repeat(np.arctan2(y, x), 2)
    tau = np.arctan2(np.abs(rings.z[ring]), rings.r)
    dist = (r - rings.r) * np.cos(tau) + (z - rings.z[ring]) * np.sign(rings.z[ring]) * np.sin(tau)
    near = np.abs(dist) < step * np.hypot(1.0, hx.cot[pidx])  # within a step of path (in 3D)
    pidx, s_ref, ring, phi = pidx[near], s_ref[near], ring[near], phi[near]
    j0 = np.floor(phi / (TWO_PI / rings.n_phi)).astype(np.int64)  # the two modules bracketing φ
    module = (
        rings.first_module[np.repeat(ring, 2)] + (np.repeat(j0, 2) + np.tile([0, 1], len(j0))) % rings.n_phi
    )
    pidx, s_ref = np.repeat(pidx, 2), np.repeat(s_ref, 2)
    # one Newton start per (helix, module, 8 cm of path): consecutive points propose the same candidates
    _, first = np.unique(_pair_key(pidx, module, s_ref, 8.0), return_index=True)
    module, pidx, start = module[first], pidx[first], s_ref[first]
    m, parts = det.modules, []
    for upper in (False, True):
        s, u, v, pos = _module_crossing(hx, det, pidx, start, module, upper=upper)
        ok = (s > 0) & (s < hx.s_stop[pidx]) & (u <= m.half_u[module]) & (v <= m.half_v[module])
        # several reference points can lead to the same crossing: keep it once
        _, first = np.unique(_pair_key(pidx[ok], module[ok], s[ok], 1e-3), return_index=True)
        ok = np.flatnonzero(ok)[first]
        parts.append(Crossings(pidx[ok], module[ok], np.full(len(ok), upper), pos[ok], s[ok]))
        # the upper sensor is millimetres away: only candidates near the module need solving again
        near = ~((u > m.half_u[module] + 1.0) | (v > m.half_v[module] + 1.0))
        pidx, module, start = pidx[near], module[near], np.where(np.isnan(s), start, s)[near]
    return Crossings.concat(parts)


def _module_crossing(
    hx: Helices, det: Geometry, pidx: np.ndarray, s0: np.ndarray, module: np.ndarray, *, upper: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Crossing of a (tilted) sensor plane by Newton from ``s0``: path length (NaN if not converged),
    |u| and |v| in the module frame, and the position [n, 3]."""
    m = det.modules
    centre = m.sensor_centre(module, np.full(len(module), upper))
    normal = m.normal[module]
    dist = np.einsum("ij,ij->i", normal, centre)
    s, residual = _plane_newton(hx, pidx, s0, normal, dist, n_iter=2)
    # most candidates are far outside their module after two steps: converge only the others
    x, y, z = hx.at(pidx, s)
    rel = np.stack([x, y, z], axis=1) - centre
    near = (np.abs(np.einsum("ij,ij->i", rel, m.u_axis[module])) < m.half_u[module] + 2.0) & (
        np.abs(np.einsum("ij,ij->i", rel, m.v_axis[module])) < m.half_v[module] + 2.0
    )
    s[near], residual[near] = _plane_newton(hx, pidx[near], s[near], normal[near], dist[near], n_iter=3)
    s = np.where(near & (residual < 1e-4), s, np.nan)
    pos = np.stack(hx.at(pidx, s), axis=1)
    rel = pos - centre
    u = np.abs(np.einsum("ij,ij->i", rel, m.u_axis[module]))
    v = np.abs(np.einsum("ij,ij->i", rel, m.v_axis[module]))
    return s, u, v, pos


def disk_crossings(hx: Helices, disks: DiskSensors) -> Crossings:
    """Crossings of all disk sensor planes: for each disk side, the helices spanning it in z meet each of
    its planes once; then ring by radius, module by φ (the plane's face parity) and local bounds."""
    z_end = hx.z0 + hx.cot * hx.s_stop
    z_lo, z_hi = np.minimum(hx.z0, z_end), np.maximum(hx.z0, z_end)
    pidx, plane, s = [], [], []
    for layer in np.unique(disks.plane_layer):
        for side in (-1.0, 1.0):
            planes = np.flatnonzero((disks.plane_layer == layer) & (np.sign(disks.plane_z) == side))
            zp = disks.plane_z[planes]
            reach = np.flatnonzero((z_hi > zp.min()) & (z_lo < zp.max()))
            with np.errstate(divide="ignore", invalid="ignore"):
                sp = (zp[None, :] - hx.z0[reach, None]) / hx.cot[reach, None]
            i, j = np.nonzero((sp > 0) & (sp < hx.s_stop[reach, None]))
            pidx.append(reach[i])
            plane.append(planes[j])
            s.append(sp[i, j])
    pidx, plane, s = np.concatenate(pidx), np.concatenate(plane), np.concatenate(s)
    x, y, z = hx.at(pidx, s)
    # ring: the last of the plane's rings starting below r (rings of a plane do not overlap)
    key = plane * 1000.0 + np.hypot(x, y)
    ring = np.searchsorted(disks.ring_plane * 1000.0 + disks.ring_r_lo, key, side="right") - 1
    keep = (ring >= disks.ring_start[plane]) & (ring < disks.ring_start[plane + 1])
    pidx, plane, s, x, y, z, ring = (a[keep] for a in (pidx, plane, s, x, y, z, ring))
    n_phi, phi0, parity = disks.ring_n_phi[ring], disks.ring_phi0[ring], disks.plane_parity[plane]
    step = TWO_PI / n_phi
    j = 2 * np.rint((np.arctan2(y, x) - phi0 - parity * step) / (2.0 * step)) + parity
    j = np.mod(j, n_phi).astype(np.int64)
    alpha = phi0 + j * step
    u = -x * np.sin(alpha) + y * np.cos(alpha)
    v = x * np.cos(alpha) + y * np.sin(alpha) - 0.5 * (disks.ring_r_lo + disks.ring_r_hi)[ring]
    half_v = 0.5 * (disks.ring_r_hi - disks.ring_r_lo)[ring]
    ok = (np.abs(u) <= disks.ring_half_u[ring]) & (np.abs(v) <= half_v)
    pos = np.stack([x[ok], y[ok], z[ok]], axis=1)
    module = disks.ring_first_module[ring[ok]] + j[ok]
    return Crossings(pidx[ok], module, disks.plane_upper[plane[ok]], pos, s[ok])


def propagate(particles: np.ndarray, seg: Segments, det: Geometry, cfg: TrackerSimConfig) -> Crossings:
    """All sensor crossings of the turn segments of ``particles`` (crossing particle = row of
    ``particles``), before they range out."""
    hx = make_helices(seg.particles, cfg.b_field, 1.0, seg.s_limit)
    parts = [barrel_crossings(hx, lad) for lad in det.ladders]
    parts += [tilted_crossings(hx, rings, det) for rings in det.tilted]
    parts.append(disk_crossings(hx, det.disks))
    cross = Crossings.concat(parts)
    cross = dataclasses.replace(
        cross, particle=seg.owner[cross.particle], s=cross.s + seg.s_offset[cross.particle]
    )
    return range_out(cross, particles, cfg.sensor_energy_loss)


def range_out(cross: Crossings, particles: np.ndarray, loss: float) -> Crossings:
    """Keep each particle's first T / ``loss`` sensor crossings along its path (T = kinetic energy;
    electron mass for conversion electrons, pion mass otherwise): soft secondaries and loopers stop."""
    p = np.sqrt(particles["px"] ** 2 + particles["py"] ** 2 + particles["pz"] ** 2)
    mass = np.where(particles["process"] == CONVERSION, ELECTRON_MASS, PION_MASS)
    n_max = (np.hypot(p, mass) - mass) / loss
    order = np.lexsort((cross.s, cross.particle))
    part = cross.particle[order]
    first = np.searchsorted(part, part, side="left")
    rank = np.arange(len(part)) - first
    return cross.subset(np.sort(order[rank < n_max[part]]))

"""Fast simulation of the TrackML-like tracker (:mod:`src.sim.tracker.trackml_layout`): particles, exact
helices, multiple scattering, digitised hits with their truth, TrackML's volume and layer ids.

The particles are those of the LST simulation (:func:`src.sim.tracker.simulate.generate_particles`: hard
scatter plus Poisson(μ) minimum-bias interactions, photon conversions and nuclear interactions), here in
this detector's material and volume. Each particle follows its helix for up to ``max_turns`` turns (until
it leaves the tracker or ranges out at ``sensor_energy_loss`` per sensor crossed); its crossings of every
layer are exact. Multiple scattering (Highland, at each crossed layer and passive cylinder) displaces the
later crossings: a kick θ at path length ℓ_i moves the crossing at ℓ_j by θ (ℓ_j − ℓ_i), within the
layer's surface. Hits are lost with probability 1 − ``hit_efficiency``; the measured position is smeared
by pitch/√12 along r·φ (and along z or r in the pixels) and, in the strips, is the centre of the strip
along z (barrel) or r (disks). Noise hits: Poisson(``noise_rate``) per module, uniform on the layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from src.sim.tracker.config import TWO_PI, SimEvent, TrackerSimConfig
from src.sim.tracker.crossings import Crossings, range_out
from src.sim.tracker.helix import Helices, cylinder_crossings, make_helices
from src.sim.tracker.simulate import generate_particles
from src.sim.tracker.trackml_layout import Detector, trackml_detector

TRACKML_HIT_DTYPE = np.dtype(
    [
        ("hit_id", np.int64),
        ("x", np.float64),  # measured (cm)
        ("y", np.float64),
        ("z", np.float64),
        ("tx", np.float64),  # true crossing (cm)
        ("ty", np.float64),
        ("tz", np.float64),
        ("tpx", np.float64),  # momentum at the crossing (GeV)
        ("tpy", np.float64),
        ("tpz", np.float64),
        ("layer", np.int16),  # row of the detector's layer table
        ("volume_id", np.int64),
        ("layer_id", np.int64),
        ("module_id", np.int64),
        ("particle_id", np.int64),  # 0 = noise
    ]
)


@dataclass(frozen=True)
class _Surfaces:
    """Every surface a particle can cross: the sensitive layers, then the passive cylinders."""

    barrel: np.ndarray
    position: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    x0: np.ndarray
    n_layers: int


def _surfaces(det: Detector) -> _Surfaces:
    """The layers and passive cylinders as arrays."""
    passive = np.array(det.passive)
    extent = det.column("extent")
    return _Surfaces(
        barrel=np.concatenate([det.column("barrel"), np.ones(len(passive), bool)]),
        position=np.concatenate([det.column("position"), passive[:, 0]]),
        lo=np.concatenate([extent[:, 0], -passive[:, 1]]),
        hi=np.concatenate([extent[:, 1], passive[:, 1]]),
        x0=np.concatenate([det.column("x0"), passive[:, 2]]),
        n_layers=len(det.layers),
    )


def surface_crossings(hx: Helices, surf: _Surfaces, max_turns: float) -> Crossings:
    """Every crossing of every surface by the helices before they stop (``module`` = surface index)."""
    parts = []
    idx = np.arange(len(hx.radius))
    period = TWO_PI * hx.radius
    turns = max(1, math.ceil(max_turns))
    for k in np.flatnonzero(surf.barrel):
        for s0 in cylinder_crossings(hx, idx, float(surf.position[k])):
            s = s0[:, None] + np.arange(turns)[None] * period[:, None]  # the same points, turn after turn
            row, t = np.nonzero(np.isfinite(s) & (s < hx.s_stop[:, None]))
            s = s[row, t]
            z = hx.z0[row] + hx.cot[row] * s
            ok = (z > surf.lo[k]) & (z < surf.hi[k])
            parts.append((row[ok], np.full(int(ok.sum()), k), s[ok]))
    for k in np.flatnonzero(~surf.barrel):
        with np.errstate(divide="ignore", invalid="ignore"):
            s = (surf.position[k] - hx.z0) / hx.cot
        row = np.flatnonzero((s > 0) & (s < hx.s_stop))
        x, y, _ = hx.at(row, s[row])
        r = np.hypot(x, y)
        ok = (r > surf.lo[k]) & (r < surf.hi[k])
        parts.append((row[ok], np.full(int(ok.sum()), k), s[row][ok]))
    row, surface, s = (np.concatenate(c) for c in zip(*parts, strict=True))
    pos = np.stack(hx.at(row, s), axis=1)
    return Crossings(row, surface, np.zeros(len(row), bool), pos, s)


def _earlier_sums(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Per row, the sum of ``values`` over the earlier rows of the same particle (rows sorted by particle,
    ``first`` = each row's particle's first row)."""
    total = np.cumsum(values, axis=0) - values
    return total - total[first]


def scatter(
    cross: Crossings, hx: Helices, surf: _Surfaces, momentum: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Crossing positions [n, 3] displaced by the multiple scattering at the earlier crossings of the same
    particle, kept on their surface; and the unit directions [n, 3] at the crossings.

    Each crossing scatters by two Highland angles (θ0 for the surface's thickness along the path;
    ``momentum`` [particles] in GeV): one across the transverse direction, which turns the rest of the
    helix about the crossing point by δφ = θ₁ / sin θ (a later point moves by δφ × its chord from the
    kick, perpendicular to the chord: bounded however many turns follow), and one in the polar direction,
    which changes cot θ by −θ₂ / sin²θ (a later point moves in z by that × its transverse path from the
    kick). First order in the angles, summed over the earlier crossings."""
    order = np.lexsort((cross.s, cross.particle))
    row, s, pos = cross.particle[order], cross.s[order], cross.pos[order]
    d = hx.direction(row, s)
    radial = np.c_[pos[:, 0], pos[:, 1], np.zeros(len(pos))] / np.hypot(pos[:, 0], pos[:, 1])[:, None]
    barrel = surf.barrel[cross.module[order]]
    cos_in = np.where(barrel, np.abs(np.einsum("ij,ij->i", d, radial)), np.abs(d[:, 2]))
    x = surf.x0[cross.module[order]] / np.maximum(cos_in, 1e-3)
    theta0 = 0.0136 / momentum[row] * np.sqrt(x) * (1.0 + 0.038 * np.log(x))
    kick = rng.normal(0.0, 1.0, (len(s), 2)) * theta0[:, None]
    sin2 = np.maximum(1.0 - d[:, 2] ** 2, 1e-6)
    dphi, dcot = kick[:, 0] / np.sqrt(sin2), -kick[:, 1] / sin2
    first = np.searchsorted(row, row, side="left")
    a = _earlier_sums(dphi, first)
    b = _earlier_sums(dphi[:, None] * pos[:, :2], first)
    moved = pos[:, :2] * a[:, None] - b  # Σ δφ_i (P_j − P_i), to be turned by 90°
    shift = np.c_[-moved[:, 1], moved[:, 0], s * _earlier_sums(dcot, first) - _earlier_sums(dcot * s, first)]
    normal = np.where(barrel[:, None], radial, np.array([[0.0, 0.0, 1.0]]))
    shift -= np.einsum("ij,ij->i", shift, normal)[:, None] * normal  # along the surface ...
    moved = pos + shift
    radius = surf.position[cross.module[order]]
    moved[barrel, :2] *= (radius[barrel] / np.hypot(moved[barrel, 0], moved[barrel, 1]))[:, None]  # ... on it
    out_pos, out_dir = np.empty_like(pos), np.empty_like(d)
    out_pos[order], out_dir[order] = moved, d
    return out_pos, out_dir


def on_surface(surf: _Surfaces, surface: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Whether positions lie within their surface's extent (z for cylinders, r for disks): a crossing
    that scattering moved beyond its layer's edge is no hit of that layer."""
    v = np.where(surf.barrel[surface], pos[:, 2], np.hypot(pos[:, 0], pos[:, 1]))
    return (v > surf.lo[surface]) & (v < surf.hi[surface])


def digitise(det: Detector, layer: np.ndarray, pos: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Measured positions [n, 3] (cm) of true positions on their layers: Gaussian pitch/√12 along r·φ;
    along v (z in the barrel, r in the disks) Gaussian in the pixels, the strip's centre in the strips."""
    pu, pv = det.column("pitch_u")[layer], det.column("pitch_v")[layer]
    barrel, pixel = det.column("barrel")[layer], det.column("pixel")[layer]
    lo = det.column("extent")[layer, 0]
    r, phi = np.hypot(pos[:, 0], pos[:, 1]), np.arctan2(pos[:, 1], pos[:, 0])
    v = np.where(barrel, pos[:, 2], r)
    phi = phi + rng.normal(0.0, 1.0, len(r)) * pu / math.sqrt(12.0) / r
    smeared = v + rng.normal(0.0, 1.0, len(r)) * pv / math.sqrt(12.0)
    v = np.where(pixel, smeared, lo + (np.floor((v - lo) / pv) + 0.5) * pv)
    r = np.where(barrel, r, v)
    z = np.where(barrel, v, pos[:, 2])
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


def module_ids(det: Detector, layer: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """1-based module number within the layer: barrel (z ring, φ); disks (radial ring, φ)."""
    out = np.zeros(len(layer), np.int64)
    r, phi = np.hypot(pos[:, 0], pos[:, 1]), np.mod(np.arctan2(pos[:, 1], pos[:, 0]), TWO_PI)
    for k, lay in enumerate(det.layers):
        sel = np.flatnonzero(layer == k)
        lo, hi = lay.extent
        v = pos[sel, 2] if lay.barrel else r[sel]
        ring = np.clip(((v - lo) / (hi - lo) * lay.n_rings).astype(np.int64), 0, lay.n_rings - 1)
        n_phi = np.array(lay.n_phi)[0 if lay.barrel else ring]
        iphi = np.minimum((phi[sel] / TWO_PI * n_phi).astype(np.int64), n_phi - 1)
        first = ring * lay.n_phi[0] if lay.barrel else np.r_[0, np.cumsum(lay.n_phi)][ring]
        out[sel] = first + iphi + 1
    return out


def noise_hits(det: Detector, rate: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Noise: Poisson(``rate``) hits per module, uniform over each layer; (layer [n], positions [n, 3])."""
    n = rng.poisson(rate * det.n_modules())
    layer = np.repeat(np.arange(len(n)), n)
    lo, hi = det.column("extent")[layer].T
    position, barrel = det.column("position")[layer], det.column("barrel")[layer]
    u = rng.uniform(0.0, 1.0, (2, len(layer)))
    phi = u[0] * TWO_PI
    r = np.where(barrel, position, np.sqrt(lo**2 + u[1] * (hi**2 - lo**2)))
    z = np.where(barrel, lo + u[1] * (hi - lo), position)
    return layer, np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


def simulate_trackml_event(cfg: TrackerSimConfig, seed: int) -> SimEvent:
    """One event in the TrackML-like tracker: ``hits`` (TRACKML_HIT_DTYPE, cm) and ``particles``."""
    rng = np.random.default_rng(seed)
    det = trackml_detector()
    surf = _surfaces(det)
    particles, s_limit = generate_particles(cfg, rng, material=det.material, bounds=(det.r_max, det.z_max))
    hx = make_helices(particles, cfg.b_field, cfg.max_turns, s_limit, r_max=det.r_max, z_max=det.z_max)
    cross = surface_crossings(hx, surf, cfg.max_turns)
    momentum = np.sqrt(particles["px"] ** 2 + particles["py"] ** 2 + particles["pz"] ** 2)
    cross = range_out(cross, particles, cfg.sensor_energy_loss)
    pos, direction = scatter(cross, hx, surf, momentum, rng)
    keep = (rng.random(len(cross.module)) < cfg.hit_efficiency) & (cross.module < surf.n_layers)
    keep &= on_surface(surf, cross.module, pos)
    layer, row, pos, direction = cross.module[keep], cross.particle[keep], pos[keep], direction[keep]
    noise_layer, noise_pos = noise_hits(det, cfg.noise_rate, rng)
    layer = np.concatenate([layer, noise_layer])
    true = np.concatenate([pos, noise_pos])
    measured = digitise(det, layer, true, rng)
    hits = np.zeros(len(layer), dtype=TRACKML_HIT_DTYPE)
    hits["hit_id"] = np.arange(1, len(layer) + 1)
    hits["x"], hits["y"], hits["z"] = measured.T
    hits["tx"], hits["ty"], hits["tz"] = true.T
    mom = np.zeros((len(layer), 3))
    mom[: len(row)] = direction * momentum[row, None]
    hits["tpx"], hits["tpy"], hits["tpz"] = mom.T
    hits["layer"] = layer
    hits["volume_id"], hits["layer_id"] = det.column("volume_id")[layer], det.column("layer_id")[layer]
    hits["module_id"] = module_ids(det, layer, true)
    hits["particle_id"] = np.concatenate(
        [particles["particle_id"][row], np.zeros(len(noise_layer), np.int64)]
    )
    return SimEvent(hits=hits, particles=particles)

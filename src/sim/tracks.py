"""Reconstructed tracks of an event's charged particles, as a CLICdet-like all-silicon tracker measures
them: the ``track_*`` arrays of :data:`src.event_model.TRACKS`.

Each charged particle that reaches the detector (``gen_charge`` ≠ 0, status not ``DECAYED``) follows its
exact helix (:mod:`src.sim.perigee`) from its production vertex through the barrel layers and endcap disks
of ``layout`` (outgoing half turn only); with at least ``min_hits`` crossings and inside the efficiency it
becomes a track whose perigee parameters are the true ones smeared with Gaussian resolutions
(:class:`TrackResolution`). χ² is drawn from the χ² distribution with ndf = 2·hits − 5; the innermost-hit
radius is that of the first layer crossed; dE/dx is the mean silicon loss of the particle's βγ and mass
(:func:`src.sim.dedx.silicon_dedx`) smeared by ``dedx_hit_resolution``/√hits; the time is the production
time smeared by ``hit_time_resolution``/√hits. No fake tracks are made (``track_particle`` is never −1).

The calorimeter simulation calls :func:`make_tracks` with its detector's numbers::

    tracks = make_tracks(gen, rng, b_field=4.0, r_calo=1500.0, z_calo=2307.0)

and ``track_calo_x/y/z`` hold the reconstructed helix at the calorimeter entrance: the barrel cylinder of
radius ``r_calo`` if reached within |z| ≤ ``z_calo``, otherwise the endcap plane |z| = ``z_calo`` (after
as many turns as it takes); NaN for a helix that reaches neither (tan λ = 0 loopers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from src.sim.dedx import silicon_dedx
from src.sim.generators import DECAYED
from src.sim.perigee import C_CURV, Perigee, perigee, wrap


@dataclass(frozen=True)
class TrackerLayout:
    """Sensitive layers (mm): barrel cylinders (radius, half length) and endcap disks at ±z (z, r_min,
    r_max)."""

    barrel_r: tuple[float, ...]
    barrel_half_z: tuple[float, ...]
    disk_z: tuple[float, ...]
    disk_r_min: tuple[float, ...]
    disk_r_max: tuple[float, ...]


#: CLICdet's vertex detector (3 double barrel layers, 3 double disks) and main tracker (3 inner + 3 outer
#: barrel layers, 7 inner + 4 outer disks), after the CLICdet model note (CLICdp-Note-2017-001, Table 1);
#: disk radii approximate (inner edges follow the ~7° acceptance).
# fmt: off
CLICDET_TRACKER = TrackerLayout(
    barrel_r=(31.0, 33.0, 44.0, 46.0, 58.0, 60.0,  # vertex barrel (double layers)
              127.0, 340.0, 554.0,  # inner tracker barrel
              819.0, 1153.0, 1486.0),  # outer tracker barrel
    barrel_half_z=(130.0, 130.0, 130.0, 130.0, 130.0, 130.0,
                   482.0, 482.0, 692.0,
                   1264.0, 1264.0, 1264.0),
    disk_z=(160.0, 162.0, 230.0, 232.0, 300.0, 302.0,  # vertex disks (double)
            524.0, 808.0, 1093.0, 1377.0, 1661.0, 1946.0, 2190.0,  # inner tracker disks
            1310.0, 1617.0, 1883.0, 2190.0),  # outer tracker disks
    disk_r_min=(27.0, 27.0, 30.0, 30.0, 38.0, 38.0,
                64.0, 100.0, 134.0, 169.0, 204.0, 239.0, 269.0,
                560.0, 560.0, 560.0, 560.0),
    disk_r_max=(102.0, 102.0, 102.0, 102.0, 102.0, 102.0,
                400.0, 560.0, 560.0, 560.0, 560.0, 560.0, 560.0,
                1430.0, 1430.0, 1430.0, 1430.0),
)
# fmt: on


@dataclass(frozen=True)
class TrackResolution:
    """Resolutions and efficiency of the tracker (GeV, mm, rad, ns).

    σ(1/pT) = ``pt_a`` (L_barrel/L)² ⊕ ``pt_b``/(pT sin^½ θ), with L the radial lever arm of the hits
    (shorter for tracks leaving through the endcap); σ(d0), σ(z0) = a ⊕ b/(p sin^{3/2} θ);
    σ(φ0), σ(θ) = ``angle_a`` ⊕ ``angle_b``/(p sin^½ θ). Efficiency ``eff_plateau``·(1 − exp(−(pT −
    ``pt_min``)/``pt_turn_on``)) above ``pt_min``, 0 below.
    """

    pt_a: float
    pt_b: float
    d0_a: float
    d0_b: float
    z0_a: float
    z0_b: float
    angle_a: float
    angle_b: float
    eff_plateau: float
    pt_min: float
    pt_turn_on: float
    min_hits: int
    dedx_hit_resolution: float
    hit_time_resolution: float


#: CLICdet (CLICdet performance note, arXiv:1812.07337, Sec. 4): σ(pT)/pT² = 2×10⁻⁵ GeV⁻¹ for high-pT
#: central tracks (the CLIC goal, reached by CLICdet) with a multiple-scattering term of 0.2% in σ(pT)/pT
#: (CLICdet full-simulation fits for central pions); σ(d0) = 5 µm ⊕ 15 µm GeV/(p sin^{3/2} θ) (the CLIC
#: goal, reached), σ(z0) taken alike; angular resolutions ~1.5 mrad at 1 GeV (the Highland angle of the
#: ~1% X0 in front of the second vertex layer) down to 2×10⁻⁵ rad; efficiency ~99% above 1 GeV, falling
#: below 0.3 GeV; dE/dx from silicon pixels/strips (~30% per hit); ~5 ns hit time stamps.
CLICDET_RESOLUTION = TrackResolution(
    pt_a=2e-5,
    pt_b=2e-3,
    d0_a=0.005,
    d0_b=0.015,
    z0_a=0.005,
    z0_b=0.015,
    angle_a=2e-5,
    angle_b=1.5e-3,
    eff_plateau=0.99,
    pt_min=0.1,
    pt_turn_on=0.15,
    min_hits=4,
    dedx_hit_resolution=0.3,
    hit_time_resolution=5.0,
)


def _expand(p: Perigee) -> Perigee:
    """The same helices with [n, 1] fields, to broadcast against [layers]."""
    return Perigee(*(f[:, None] for f in (p.d0, p.z0, p.phi0, p.omega, p.tan_lambda)))


def layer_crossings(
    helices: Perigee, s_vertex: np.ndarray, layout: TrackerLayout
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per helix: number of layers crossed after the production vertex on the outgoing half turn, and
    the radii (mm) of the innermost and outermost crossings (NaN without any)."""
    h, s_v = _expand(helices), s_vertex[:, None]
    r_b = np.asarray(layout.barrel_r)[None, :]
    s_b = h.cylinder_path(r_b)
    with np.errstate(invalid="ignore"):
        hit_b = (s_b >= s_v) & (np.abs(h.z0 + s_b * h.tan_lambda) <= np.asarray(layout.barrel_half_z))
    z_d = np.asarray(layout.disk_z)[None, :]
    s_d = h.plane_path(np.where(h.tan_lambda >= 0, z_d, -z_d))
    r_d = h.radius_at(s_d)
    half_turn = np.pi * np.abs(h.rho)
    with np.errstate(invalid="ignore"):
        hit_d = (
            (s_d >= s_v)
            & (s_d <= half_turn)
            & (r_d >= np.asarray(layout.disk_r_min))
            & (r_d <= np.asarray(layout.disk_r_max))
        )
    hit = np.concatenate([hit_b, hit_d], axis=1)
    radii = np.concatenate([np.broadcast_to(r_b, hit_b.shape), r_d], axis=1)
    n_hits = hit.sum(axis=1)
    r_in = np.where(n_hits > 0, np.where(hit, radii, np.inf).min(axis=1), np.nan)
    r_out = np.where(n_hits > 0, np.where(hit, radii, -np.inf).max(axis=1), np.nan)
    return n_hits, r_in, r_out


def efficiency(pt: np.ndarray, res: TrackResolution) -> np.ndarray:
    """Probability that a particle of transverse momentum ``pt`` (GeV) with enough hits makes a track."""
    return np.where(pt > res.pt_min, res.eff_plateau * -np.expm1(-(pt - res.pt_min) / res.pt_turn_on), 0.0)


def calo_entrance(helices: Perigee, *, r_calo: float, z_calo: float) -> np.ndarray:
    """Points [n, 3] (mm) where helices enter the calorimeter: the cylinder r = ``r_calo`` within
    |z| ≤ ``z_calo``, else the plane |z| = ``z_calo``; NaN where neither is reached."""
    s_cyl = helices.cylinder_path(r_calo)
    with np.errstate(invalid="ignore"):
        z_cyl = helices.z0 + s_cyl * helices.tan_lambda
        barrel = np.isfinite(s_cyl) & (np.abs(z_cyl) <= z_calo)
    s_end = helices.plane_path(np.where(helices.tan_lambda >= 0, z_calo, -z_calo))
    return helices.at(np.where(barrel, s_cyl, s_end))


def _smear(
    true: Perigee, rng: np.random.Generator, *, p: np.ndarray, sin_t: np.ndarray, lever: np.ndarray,
    b_field: float, res: TrackResolution, layout: TrackerLayout,
) -> Perigee:  # fmt: skip
    """Measured perigee parameters: the true ones with the Gaussian resolutions of ``res``."""
    pt = p * sin_t
    full = layout.barrel_r[-1] - layout.barrel_r[0]
    arm = (full / np.clip(lever, 0.1 * full, None)) ** 2
    s_inv_pt = np.hypot(res.pt_a * arm, res.pt_b / (pt * np.sqrt(sin_t)))
    s_d0 = np.hypot(res.d0_a, res.d0_b / (p * sin_t**1.5))
    s_z0 = np.hypot(res.z0_a, res.z0_b / (p * sin_t**1.5))
    s_angle = np.hypot(res.angle_a, res.angle_b / (p * np.sqrt(sin_t)))
    g = rng.standard_normal((5, len(p)))
    theta = np.arctan2(1.0, true.tan_lambda) + s_angle * g[4]
    return Perigee(
        d0=true.d0 + s_d0 * g[0],
        z0=true.z0 + s_z0 * g[1],
        phi0=wrap(true.phi0 + s_angle * g[2]),
        omega=true.omega + C_CURV * b_field * s_inv_pt * g[3],
        tan_lambda=1.0 / np.tan(theta),
    )


def make_tracks(
    gen: dict[str, np.ndarray],
    rng: np.random.Generator,
    *,
    b_field: float,
    r_calo: float,
    z_calo: float,
    layout: TrackerLayout = CLICDET_TRACKER,
    resolution: TrackResolution = CLICDET_RESOLUTION,
) -> dict[str, np.ndarray]:
    """The ``track_*`` arrays (mm, GeV, ns) of the charged particles of ``gen`` (``gen_*`` arrays) in a
    field of ``b_field`` T along +z, extrapolated to a calorimeter entrance at radius ``r_calo`` and
    |z| = ``z_calo`` (mm). Deterministic for the state of ``rng``."""
    rows = np.flatnonzero((gen["gen_charge"] != 0) & (gen["gen_status"] != DECAYED))
    vertex = np.stack([gen["gen_vx"][rows], gen["gen_vy"][rows], gen["gen_vz"][rows]], axis=1)
    mom = np.stack([gen["gen_px"][rows], gen["gen_py"][rows], gen["gen_pz"][rows]], axis=1)
    pt = np.hypot(mom[:, 0], mom[:, 1])
    rows, vertex, mom, pt = rows[pt > 0], vertex[pt > 0], mom[pt > 0], pt[pt > 0]
    true, s_vertex = perigee(vertex, mom, gen["gen_charge"][rows].astype(np.float64), b_field)
    n_hits, r_in, r_out = layer_crossings(true, s_vertex, layout)
    found = (n_hits >= resolution.min_hits) & (rng.random(len(rows)) < efficiency(pt, resolution))
    sel = np.flatnonzero(found)
    true = Perigee(*(f[sel] for f in (true.d0, true.z0, true.phi0, true.omega, true.tan_lambda)))
    rows, mom, n_hits, r_in, r_out = rows[sel], mom[sel], n_hits[sel], r_in[sel], r_out[sel]
    p = np.linalg.norm(mom, axis=1)
    reco = _smear(
        true, rng, p=p, sin_t=pt[sel] / p, lever=r_out - r_in, b_field=b_field, res=resolution, layout=layout
    )
    ndf = 2 * n_hits - 5
    chi2 = rng.chisquare(np.maximum(ndf, 1))
    mass = gen["gen_mass"][rows]
    dedx_rel = resolution.dedx_hit_resolution / np.sqrt(n_hits)
    dedx = silicon_dedx(p / mass, mass) * (1.0 + dedx_rel * rng.standard_normal(len(p)))
    sigma_t = resolution.hit_time_resolution / np.sqrt(n_hits)
    time = gen["gen_time"][rows] + sigma_t * rng.standard_normal(len(p))
    reco_pt = reco.pt(b_field)
    calo = calo_entrance(reco, r_calo=r_calo, z_calo=z_calo)
    f32 = np.float32
    return {
        "track_particle": rows.astype(np.int32),
        "track_charge": np.sign(reco.omega).astype(np.int8),
        "track_pt": reco_pt.astype(f32),
        "track_eta": np.arcsinh(reco.tan_lambda).astype(f32),
        "track_phi": reco.phi0.astype(f32),
        "track_p": (reco_pt * np.hypot(1.0, reco.tan_lambda)).astype(f32),
        "track_chi2": chi2.astype(f32),
        "track_ndf": ndf.astype(np.int16),
        "track_dedx": dedx.astype(f32),
        "track_dedx_error": (dedx_rel * dedx).astype(f32),
        "track_inner_radius": r_in.astype(f32),
        "track_tan_lambda": reco.tan_lambda.astype(f32),
        "track_d0": reco.d0.astype(f32),
        "track_omega": reco.omega.astype(f32),
        "track_z0": reco.z0.astype(f32),
        "track_time": time.astype(f32),
        "track_calo_x": calo[:, 0].astype(f32),
        "track_calo_y": calo[:, 1].astype(f32),
        "track_calo_z": calo[:, 2].astype(f32),
    }

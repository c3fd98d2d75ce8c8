"""Fast simulation of a CMS-like tracker with pileup: particles, exact helices, hits, line segments.

An event is a hard-scatter interaction plus Poisson(μ) minimum-bias interactions spread along the
beam line. Charged particles (negative-binomial multiplicity, flat η, Tsallis pT) follow exact helices
in the uniform solenoid field, vectorised over particles: their crossings with cylinders, flat ladders
and disk planes are solved analytically, with the tilted barrel modules by a few Newton steps from the
crossing of their mean cylinder. π⁰ photons convert in the material and hadrons interact in it
(:func:`src.data.detector.tracker_material`), adding displaced secondaries. A particle stops when it
leaves the tracker volume, after ``max_turns`` turns, or when it has lost its kinetic energy at
``sensor_energy_loss`` per sensor crossed. Hits are smeared along the pitch direction and quantised to
the strip (or macro-pixel) centre along the strip; hits are lost with probability 1 − ``hit_efficiency``
and noise hits are added. Line segments are then built as CMS LST does (:mod:`src.data.line_segments`).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
from dataclasses import dataclass, fields

import numpy as np

from src.data.detector import (
    CURVATURE,
    TRACKER_R_MAX,
    TRACKER_R_MIN,
    TRACKER_Z_MAX,
    Detector,
    DiskSensors,
    LadderSet,
    Material,
    TiltedRings,
    build_detector,
    expand,
    tracker_material,
    wrap,
)
from src.data.line_segments import build_line_segments, line_segment_event

log = logging.getLogger(__name__)

PION_MASS = 0.13957
ELECTRON_MASS = 0.000511
ION_LOSS = 0.05  # GeV of ionisation loss per radiation length of tracker material (silicon, carbon)
TWO_PI = 2.0 * np.pi

HIT_DTYPE = np.dtype(
    [
        ("hit_id", np.int64),
        ("x", np.float64),
        ("y", np.float64),
        ("z", np.float64),
        ("layer", np.int8),
        ("module_id", np.int32),
        ("upper", np.bool_),
        ("particle_id", np.int64),  # 0 = noise (TrackML convention)
    ]
)
PARTICLE_DTYPE = np.dtype(
    [
        ("particle_id", np.int64),  # 1-based
        ("vertex_id", np.int32),  # 0 = hard scatter, 1.. = pileup interactions
        ("vx", np.float64),
        ("vy", np.float64),
        ("vz", np.float64),
        ("px", np.float64),
        ("py", np.float64),
        ("pz", np.float64),
        ("q", np.int8),
        ("parent_id", np.int64),  # 0 = none (primaries, conversion electrons)
        ("process", np.int8),  # PRIMARY, CONVERSION or NUCLEAR
    ]
)
PRIMARY, CONVERSION, NUCLEAR = 0, 1, 2


@dataclass(frozen=True)
class TrackerSimConfig:
    """Every knob of the simulation, with physical defaults (cm, GeV, T)."""

    pileup: float = 200.0  # Poisson mean of minimum-bias interactions
    b_field: float = 3.8
    phi_sector: tuple[float, float] | None = None  # keep only LS with LS_phi in [lo, hi)
    # luminous region
    beam_sigma_z: float = 4.5
    beam_sigma_xy: float = 0.0015
    # minimum-bias charged particles
    dndeta: float = 6.5  # charged particles per unit η per interaction
    eta_max: float = 3.0
    multiplicity_k: float = 2.0  # negative-binomial shape of the multiplicity
    tsallis_n: float = 7.0
    tsallis_t: float = 0.16
    pt_min: float = 0.1
    # hard scatter (ttbar-like: busier and harder)
    hard_scatter: bool = True
    hs_multiplicity: float = 4.0  # × the minimum-bias mean
    hs_multiplicity_k: float = 10.0  # negative-binomial shape (ttbar multiplicities are narrower)
    hs_tsallis_n: float = 3.3
    hs_jets: int = 6
    hs_jet_fraction: float = 0.5  # hard-scatter particles in jets (Gaussian in η and φ around the axes)
    hs_jet_width: float = 0.15
    # secondaries from the material (src.data.detector.tracker_material)
    pi0_per_charged: float = 0.55  # π⁰ (→ γγ) per charged primary; photons convert to e⁺e⁻
    nuclear_per_x0: float = 0.3  # nuclear interaction lengths per radiation length (X0 / λ_I)
    nuclear_multiplicity: float = 4.0  # mean charged secondaries of a nuclear interaction
    # detector response
    hit_efficiency: float = 0.99
    noise_rate: float = 0.01  # noise hits per sensor
    max_turns: float = 12.0
    sensor_energy_loss: float = 0.0005  # GeV lost per sensor crossing (ionisation in silicon + support)
    # LST line-segment building
    pt_cut: float = 0.8
    connect_pt: float = 0.7  # module map: modules reachable above this pT are connected
    lum_dz: float = 15.0  # half length of the luminous region assumed by the LST windows

    def __post_init__(self) -> None:
        """Accept a list (from YAML) for ``phi_sector`` and check ranges."""
        if self.phi_sector is not None:
            lo, hi = (float(v) for v in self.phi_sector)
            if not -np.pi <= lo < hi <= np.pi:
                raise ValueError(f"phi_sector must satisfy -π <= lo < hi <= π, got {self.phi_sector}")
            object.__setattr__(self, "phi_sector", (lo, hi))
        if self.pileup < 0 or not 0.0 <= self.hit_efficiency <= 1.0 or self.max_turns <= 0:
            raise ValueError("pileup >= 0, 0 <= hit_efficiency <= 1 and max_turns > 0 are required")


@dataclass(frozen=True)
class SimEvent:
    """One simulated event: ``hits`` (HIT_DTYPE) and ``particles`` (PARTICLE_DTYPE) record arrays.

    With a φ sector only hits that can belong to a line segment of the sector are simulated; the
    particle table always holds every generated particle.
    """

    hits: np.ndarray
    particles: np.ndarray

    @property
    def particle_pt(self) -> np.ndarray:
        """Transverse momentum of each particle (GeV)."""
        return np.hypot(self.particles["px"], self.particles["py"])

    @property
    def particle_eta(self) -> np.ndarray:
        """Pseudorapidity of each particle."""
        return np.arcsinh(self.particles["pz"] / self.particle_pt)


# ---------------------------------------------------------------- particle generation


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


def particle_table(
    vertex: np.ndarray, start: np.ndarray, mom: np.ndarray, q: np.ndarray, *, parent: np.ndarray, process: int
) -> np.ndarray:
    """PARTICLE_DTYPE records (particle ids are assigned once the event's table is complete)."""
    out = np.zeros(len(q), dtype=PARTICLE_DTYPE)
    out["vertex_id"] = vertex
    out["vx"], out["vy"], out["vz"] = start.T
    out["px"], out["py"], out["pz"] = mom.T
    out["q"] = q
    out["parent_id"] = parent
    out["process"] = process
    return out


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


# ---------------------------------------------------------------- helices


@dataclass(frozen=True)
class Helices:
    """Helix parameters: position = centre + R (cos β, sin β), β = β0 + h s / R, z = z0 + cot · s,
    with s the transverse path length and h = −sign(q B) the turning direction."""

    xc: np.ndarray
    yc: np.ndarray
    radius: np.ndarray
    beta0: np.ndarray
    h: np.ndarray
    z0: np.ndarray
    cot: np.ndarray
    s_stop: np.ndarray  # the particle leaves the tracker (or stops looping) here

    def at(self, idx: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions of helices ``idx`` after transverse path ``s``."""
        beta = self.beta0[idx] + self.h[idx] * s / self.radius[idx]
        r = self.radius[idx]
        return (
            self.xc[idx] + r * np.cos(beta),
            self.yc[idx] + r * np.sin(beta),
            self.z0[idx] + self.cot[idx] * s,
        )

    def direction(self, idx: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Unit momentum directions [n, 3] of helices ``idx`` after transverse path ``s``."""
        phi = self.beta0[idx] + self.h[idx] * (s / self.radius[idx] + 0.5 * np.pi)
        return _unit(np.c_[np.cos(phi), np.sin(phi), self.cot[idx]])


def _unit(v: np.ndarray) -> np.ndarray:
    """Rows of ``v`` normalised to unit length."""
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def helix_radius(pt: np.ndarray, b_field: float) -> np.ndarray:
    """Radius of curvature (cm) of a unit-charge track: R[m] = pT[GeV] / (0.3 B[T])."""
    return pt / (CURVATURE * b_field)


def make_helices(
    particles: np.ndarray, b_field: float, max_turns: float, s_limit: np.ndarray | None = None
) -> Helices:
    """Helices of ``particles`` with their stopping path length (at most ``s_limit``)."""
    pt = np.maximum(np.hypot(particles["px"], particles["py"]), 1e-9)
    phi0 = np.arctan2(particles["py"], particles["px"])
    radius = helix_radius(pt, b_field)
    h = -np.sign(particles["q"] * b_field).astype(np.float64)
    beta0 = phi0 - h * np.pi / 2.0
    xc = particles["vx"] - radius * np.cos(beta0)
    yc = particles["vy"] - radius * np.sin(beta0)
    cot = particles["pz"] / pt
    with np.errstate(divide="ignore"):
        s_z = np.where(cot != 0, (np.sign(cot) * TRACKER_Z_MAX - particles["vz"]) / cot, np.inf)
    hx = Helices(xc, yc, radius, beta0, h, particles["vz"], cot, np.zeros_like(pt))
    s_r = np.fmin(*cylinder_crossings(hx, np.arange(len(pt)), TRACKER_R_MAX))
    s_stop = np.minimum.reduce([s_z, np.nan_to_num(s_r, nan=np.inf), max_turns * TWO_PI * radius])
    if s_limit is not None:
        s_stop = np.minimum(s_stop, s_limit)
    return Helices(xc, yc, radius, beta0, h, particles["vz"], cot, s_stop)


def _turn_solutions(
    hx: Helices, idx: np.ndarray, gamma: np.ndarray, c: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Path lengths in [0, 2πR) where cos(β − γ) = c (NaN without solution)."""
    with np.errstate(invalid="ignore"):
        half = np.arccos(c)
    out = []
    for sign in (1.0, -1.0):
        turn = np.mod(hx.h[idx] * (gamma + sign * half - hx.beta0[idx]), TWO_PI)
        out.append(turn * hx.radius[idx])
    return out[0], out[1]


def cylinder_crossings(hx: Helices, idx: np.ndarray, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """First-turn path lengths where helices ``idx`` cross the cylinder r = ``rho``."""
    xc, yc, r = hx.xc[idx], hx.yc[idx], hx.radius[idx]
    dc2 = xc**2 + yc**2
    c = (rho**2 - dc2 - r**2) / (2.0 * r * np.sqrt(dc2))
    return _turn_solutions(hx, idx, np.arctan2(yc, xc), c)


def line_crossings(
    hx: Helices, idx: np.ndarray, alpha: np.ndarray, dist: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """First-turn path lengths where helices ``idx`` cross the planes x cos α + y sin α = dist."""
    c = (dist - hx.xc[idx] * np.cos(alpha) - hx.yc[idx] * np.sin(alpha)) / hx.radius[idx]
    return _turn_solutions(hx, idx, alpha, c)


# ---------------------------------------------------------------- material interactions


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


# ---------------------------------------------------------------- sensor crossings


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


def tilted_crossings(hx: Helices, rings: TiltedRings, det: Detector) -> Crossings:
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
    hx: Helices, det: Detector, pidx: np.ndarray, s0: np.ndarray, module: np.ndarray, *, upper: bool
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


def propagate(particles: np.ndarray, seg: Segments, det: Detector, cfg: TrackerSimConfig) -> Crossings:
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


# ---------------------------------------------------------------- hits


def measure(
    det: Detector, module: np.ndarray, upper: np.ndarray, pos: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Measured positions [n, 3]: Gaussian pitch/√12 smearing along u, strip-centre along v."""
    m = det.modules
    centre = m.sensor_centre(module, upper)
    rel = pos - centre
    u = np.einsum("ij,ij->i", rel, m.u_axis[module])
    v = np.einsum("ij,ij->i", rel, m.v_axis[module])
    u = u + rng.normal(0.0, 1.0, len(u)) * m.pitch[module] / math.sqrt(12.0)
    cell = np.where(upper, m.upper_cell[module], m.lower_cell[module])
    half_v = m.half_v[module]
    v = (np.floor((v + half_v) / cell).clip(0, np.rint(2 * half_v / cell) - 1) + 0.5) * cell - half_v
    return centre + u[:, None] * m.u_axis[module] + v[:, None] * m.v_axis[module]


def noise_crossings(det: Detector, rate: float, rng: np.random.Generator) -> Crossings:
    """Noise hits: Poisson(``rate``) per sensor, uniform over the sensor."""
    m = det.modules
    n = rng.poisson(rate * 2 * len(m))
    module = rng.integers(0, len(m), n)
    upper = rng.random(n) < 0.5
    u = rng.uniform(-1.0, 1.0, n) * m.half_u[module]
    v = rng.uniform(-1.0, 1.0, n) * m.half_v[module]
    pos = m.sensor_centre(module, upper) + u[:, None] * m.u_axis[module] + v[:, None] * m.v_axis[module]
    return Crossings(np.full(n, -1), module, upper, pos, np.zeros(n))


def sector_region(cfg: TrackerSimConfig, det: Detector) -> tuple[float, float] | None:
    """(centre, half width) in φ of the hits needed for the LS of the φ sector (None = everything)."""
    if cfg.phi_sector is None:
        return None
    lo, hi = cfg.phi_sector
    half = 0.5 * (hi - lo) + det.conn_dphi + 0.05
    return (0.5 * (lo + hi), half) if half < np.pi else None


def _in_region(phi: np.ndarray, region: tuple[float, float], extra: np.ndarray | float = 0.0) -> np.ndarray:
    """Whether angles ``phi`` (± ``extra``) reach the φ region."""
    centre, half = region
    return np.abs(wrap(phi - centre)) <= half + extra


def reachable(particles: np.ndarray, cfg: TrackerSimConfig, region: tuple[float, float]) -> np.ndarray:
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


def generate_particles(cfg: TrackerSimConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """All charged particles of an event with their path limits: primaries (ids 1..N), conversion
    electrons and nuclear-interaction secondaries (ids after)."""
    vtx = generate_vertices(cfg, rng)
    mat = tracker_material()
    primaries = generate_charged(cfg, rng, vtx)
    primaries["particle_id"] = np.arange(1, len(primaries) + 1)
    hx = make_helices(primaries, cfg.b_field, 1.0)
    nuclear, s_limit = nuclear_interactions(cfg, rng, primaries, hx, mat)
    conversions = convert_photons(rng, *generate_photons(cfg, rng, vtx), mat)
    particles = np.concatenate([primaries, conversions, nuclear])
    particles["particle_id"] = np.arange(1, len(particles) + 1)
    s_limit = np.concatenate([s_limit, np.full(len(conversions) + len(nuclear), np.inf)])
    return particles, s_limit


def simulate_event(cfg: TrackerSimConfig, seed: int) -> SimEvent:
    """Generate, propagate and digitise one event (hits limited to the φ sector's region if any)."""
    rng = np.random.default_rng(seed)
    det = build_detector(cfg.connect_pt, cfg.b_field)
    particles, s_limit = generate_particles(cfg, rng)
    region = sector_region(cfg, det)
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


def simulate_ls_event(cfg: TrackerSimConfig, seed: int) -> dict[str, np.ndarray]:
    """Line segments of one simulated event.

    Returns ``x`` float32 [N, 23] (columns of ``src.data.schema.LS_FEATURE_NAMES``), ``particle_id``
    int64 [N] (−1 = fake), ``sim_pt``/``sim_eta`` float32 [N] (NaN for fakes) and ``track_length`` int64
    [N] (LS of the same particle in the event, 0 for fakes). Deterministic for a seed.
    """
    event = simulate_event(cfg, seed)
    det = build_detector(cfg.connect_pt, cfg.b_field)
    ls = build_line_segments(event.hits, det, cfg)
    return line_segment_event(ls, event, cfg)

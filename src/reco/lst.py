"""CMS LST-style mini-doublets (MD) and line segments (LS) from simulated hits, with truth.

Mini-doublets pair a lower and an upper hit of the same module inside LST's pT-dependent windows: the
angle between the hit pair's direction and the position vector ("dphichange") must be compatible with
pT > ``pt_cut`` (asin(r · 0.3 B / 2 pT_cut) plus multiple-scattering and luminous-region terms).
Line segments pair MDs of connected modules of adjacent layers inside LST's segment windows: z (barrel)
or r (endcap) pointing back to the luminous region, Δφ and the segment's dphichange compatible with
pT > ``pt_cut``, and the MDs' dphichange consistent with the segment's bending ("dAlpha" cuts). The
cuts and constants follow LST's ``MiniDoublet.h`` and ``Segment.h``. An LS is sim-matched when its four
hits come from the same particle; every other LS is a combinatorial fake.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from src.reco.module_map import ModuleMap, build_module_map
from src.sim.tracker.layout import CURVATURE
from src.utils.arrays import expand, wrap

SIN_ALPHA_MAX = 0.95
PIXEL_PS_ZPITCH = 0.15
STRIP_2S_ZPITCH = 5.0
DISKS_2S_MIN_RADIUS = 60.0
#: LST per-layer multiple-scattering scales (barrel 1-6, endcap 7-11) and nominal layer positions.
MULS_SCALE = np.array(
    [0.0, 0.0052, 0.0038, 0.0034, 0.0034, 0.0032, 0.0034, 0.006, 0.006, 0.006, 0.006, 0.006]
)
NOMINAL_POSITION = np.array(
    [1.0, 25.007, 37.219, 52.310, 68.666, 85.977, 108.302, 130.993, 154.814, 185.353, 221.635, 265.022]
)


@dataclass(frozen=True)
class LSTConfig:
    """The knobs of the line-segment reconstruction (GeV, cm, T); ``b_field`` is the detector's."""

    b_field: float = 3.8
    pt_cut: float = 0.8  # LST's pT threshold of the mini-doublet and segment windows
    connect_pt: float = 0.7  # module map: modules reachable above this pT are connected
    lum_dz: float = 15.0  # half length of the luminous region assumed by the LST windows
    phi_sector: tuple[float, float] | None = None  # keep only LS with LS_phi in [lo, hi)

    def __post_init__(self) -> None:
        """Accept a list (from YAML) for ``phi_sector`` and check ranges."""
        if self.phi_sector is not None:
            lo, hi = (float(v) for v in self.phi_sector)
            if not -np.pi <= lo < hi <= np.pi:
                raise ValueError(f"phi_sector must satisfy -π <= lo < hi <= π, got {self.phi_sector}")
            object.__setattr__(self, "phi_sector", (lo, hi))
        if self.pt_cut <= 0 or self.connect_pt <= 0 or self.lum_dz < 0:
            raise ValueError(
                f"pt_cut and connect_pt must be > 0 and lum_dz >= 0, got {self.pt_cut}, {self.connect_pt}, "
                f"{self.lum_dz}"
            )

    @property
    def module_map(self) -> ModuleMap:
        """The module map of this configuration (built once per (connect_pt, b_field))."""
        return build_module_map(self.connect_pt, self.b_field)


def sector_window(cfg: LSTConfig) -> tuple[float, float] | None:
    """(centre, half width) in φ of the hits the LS of ``cfg.phi_sector`` can use (None = everything):
    the sector widened by the largest Δφ of two connected modules."""
    if cfg.phi_sector is None:
        return None
    lo, hi = cfg.phi_sector
    half = 0.5 * (hi - lo) + cfg.module_map.max_dphi + 0.05
    return (0.5 * (lo + hi), half) if half < np.pi else None


@dataclass(frozen=True)
class HitColumns:
    """Hit columns used by the builders."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    r: np.ndarray
    phi: np.ndarray
    module: np.ndarray
    upper: np.ndarray

    @staticmethod
    def of(hits: np.ndarray) -> HitColumns:
        """View of a HIT_DTYPE record array."""
        x, y, z = (hits[c].astype(np.float64) for c in ("x", "y", "z"))
        return HitColumns(
            x, y, z, np.hypot(x, y), np.arctan2(y, x), hits["module_id"].astype(np.int64), hits["upper"]
        )


@dataclass(frozen=True)
class MiniDoublets:
    """Accepted mini-doublets: hit indices, module and LST quantities (anchor = lower hit)."""

    lower: np.ndarray
    upper: np.ndarray
    module: np.ndarray
    dphichange: np.ndarray
    dphi: np.ndarray  # φ(upper) − φ(lower)
    dz: np.ndarray  # z(lower) − z(upper)


@dataclass(frozen=True)
class LineSegments:
    """Accepted line segments: inner (anchor) and outer (end) mini-doublet indices into ``md``."""

    md: MiniDoublets
    inner: np.ndarray
    outer: np.ndarray


def k2rinv(cfg: LSTConfig) -> float:
    """1 / (2 R) per GeV of pT, in 1/cm (LST's k2Rinv1GeVf)."""
    return CURVATURE * cfg.b_field / 2.0


def pt_slope(r: np.ndarray, cfg: LSTConfig) -> np.ndarray:
    """LST's asin(min(r · k2Rinv / pT_cut, sinAlphaMax)): bending angle at radius r for pT_cut."""
    return np.arcsin(np.minimum(r * k2rinv(cfg) / cfg.pt_cut, SIN_ALPHA_MAX))


# ---------------------------------------------------------------- mini-doublets


def _md_candidates(h: HitColumns, det: ModuleMap, cfg: LSTConfig) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) hit pairs of the same module whose offset along the pitch axis is within reach
    of a pT > pT_cut track (binned by module and sorted along u: no all-pairs search)."""
    m = det.modules
    rel = np.c_[h.x, h.y, h.z] - m.centre[h.module]
    u = np.einsum("ij,ij->i", rel, m.u_axis[h.module])
    key = h.module * 64.0 + u
    lower, upper = np.flatnonzero(~h.upper), np.flatnonzero(h.upper)
    upper = upper[np.argsort(key[upper], kind="stable")]
    ml = h.module[lower]
    skew = np.arctan(m.half_u[ml] / h.r[lower])  # normal vs. radial direction at the module edge
    angle = np.minimum(pt_slope(h.r[lower], cfg) + skew + 0.1, 1.45)
    reach = np.where(m.barrel[ml], m.sep[ml] * np.tan(angle), m.sep[ml]) + 0.02
    start = np.searchsorted(key[upper], key[lower] - reach, side="left")
    stop = np.searchsorted(key[upper], key[lower] + reach, side="right")
    owner, pos = expand(start, stop - start)
    return lower[owner], upper[pos]


def mini_doublet_cut(
    r: np.ndarray,
    module: np.ndarray,
    dphi: np.ndarray,
    dz: np.ndarray,
    *,
    det: ModuleMap,
    cfg: LSTConfig,
) -> np.ndarray:
    """LST's dPhiThreshold: pT-cut bending + multiple scattering + PV offset (+ module tilt in the barrel,
    + luminous region in the endcap)."""
    m = det.modules
    layer = m.layer[module].astype(np.int64)
    slope = pt_slope(r, cfg)
    muls = MULS_SCALE[layer] * 3.0 / cfg.pt_cut
    pv = 0.1 / NOMINAL_POSITION[layer]
    lum = np.where(m.barrel[module], 0.0, dphi * cfg.lum_dz / np.where(dz == 0, 1.0, dz))
    return slope + np.sqrt(muls**2 + pv**2 + lum**2 + tilt_term(module, det) * slope**2)


def tilt_term(module: np.ndarray, det: ModuleMap) -> np.ndarray:
    """LST's miniTilt²: pixel-length smearing of the hit-pair angle in tilted modules, per unit slope²."""
    m = det.modules
    return (0.5 * PIXEL_PS_ZPITCH) ** 2 * np.sin(m.tilt[module]) ** 2 / m.sep[module] ** 2


def shifted_upper(h: HitColumns, det: ModuleMap, lo: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Upper hits [n, 3] moved along their strip (within it) onto the line of sight, in r–z, from the
    origin through the lower hit: LST's strip-hit shift, which replaces the unmeasured strip coordinate."""
    v = det.modules.v_axis[h.module[up]]
    v_r = (v[:, 0] * h.x[up] + v[:, 1] * h.y[up]) / h.r[up]
    t = (h.r[up] * h.z[lo] - h.z[up] * h.r[lo]) / (v[:, 2] * h.r[lo] - v_r * h.z[lo])
    half_cell = 0.5 * det.modules.upper_cell[h.module[up]]
    return np.c_[h.x[up], h.y[up], h.z[up]] + np.clip(t, -half_cell, half_cell)[:, None] * v


def build_mini_doublets(h: HitColumns, det: ModuleMap, cfg: LSTConfig) -> MiniDoublets:
    """All mini-doublets passing LST's barrel or endcap MD selection (angles from the lower hit and the
    shifted upper hit)."""
    lo, up = _md_candidates(h, det, cfg)
    m = det.modules
    module = h.module[lo]
    barrel = m.barrel[module]
    xs, ys, zs = shifted_upper(h, det, lo, up).T
    rs, phis = np.hypot(xs, ys), np.arctan2(ys, xs)
    dz = h.z[lo] - h.z[up]
    dphi = wrap(phis - h.phi[lo])
    # barrel: direction of the (inner → outer) hit pair relative to the inner hit's position vector
    lower_inner = h.r[lo] < rs
    pair_phi = np.arctan2(ys - h.y[lo], xs - h.x[lo]) + np.where(lower_inner, 0.0, np.pi)
    dpc_barrel = wrap(pair_phi - np.where(lower_inner, h.phi[lo], phis))
    # endcap: Δφ across the sensor gap, scaled to the angle it implies (dPhi / dzFrac · (1 + dzFrac));
    # undefined (and unused) for barrel pairs, whose sensors are not separated in z
    lower_near = np.abs(h.z[lo]) < np.abs(zs)
    with np.errstate(divide="ignore", invalid="ignore"):
        dz_frac = np.abs(dz) / np.abs(np.where(lower_near, h.z[lo], zs))
        dpc_endcap = np.where(lower_near, dphi, -dphi) / dz_frac * (1.0 + dz_frac)
    dpc = np.where(barrel, dpc_barrel, dpc_endcap)
    cut = mini_doublet_cut(h.r[lo], module, dphi, dz, det=det, cfg=cfg)
    gap_cut = np.where(m.ps[module], 2.0, 10.0)
    inverted = (np.abs(dz) > 2.0) & (np.sign(dz) * np.sign(h.z[lo]) * m.lower_sign[module] > 0)
    ok_barrel = (np.abs(dz) < gap_cut) & ~inverted
    ok_endcap = np.abs(h.r[lo] - h.r[up]) < gap_cut
    ok = np.where(barrel, ok_barrel, ok_endcap) & (np.abs(dphi) < cut) & (np.abs(dpc) < cut)
    return MiniDoublets(lo[ok], up[ok], module[ok], dpc[ok], dphi[ok], dz[ok])


# ---------------------------------------------------------------- line segments


def _ls_candidates(
    h: HitColumns, md: MiniDoublets, det: ModuleMap, sector: tuple[float, float] | None
) -> tuple[np.ndarray, np.ndarray]:
    """(inner, outer) MD pairs in connected modules (MDs binned by module; module map in CSR form).
    With a φ sector only inner MDs whose anchor lies in it are used."""
    order = np.argsort(md.module, kind="stable")
    n_mod = len(det.modules)
    first = np.searchsorted(md.module[order], np.arange(n_mod), side="left")
    count = np.searchsorted(md.module[order], np.arange(n_mod), side="right") - first
    inner = np.arange(len(md.module))
    if sector is not None:
        phi = h.phi[md.lower]
        inner = inner[(phi >= sector[0]) & (phi < sector[1])]
    mod = md.module[inner]
    owner, link = expand(det.ptr[mod], det.ptr[mod + 1] - det.ptr[mod])
    target = det.idx[link]
    owner2, pos = expand(first[target], count[target])
    return inner[owner[owner2]], order[pos]


@dataclass(frozen=True)
class Anchors:
    """Per-MD quantities of the segment cuts, computed once: anchor (lower hit) position, the pT-cut
    bending angle at its radius and LST's slope correction tan(x)/x of that angle."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    r: np.ndarray
    phi: np.ndarray
    slope: np.ndarray
    dzdrt: np.ndarray
    layer: np.ndarray
    barrel: np.ndarray

    @staticmethod
    def of(h: HitColumns, md: MiniDoublets, det: ModuleMap, cfg: LSTConfig) -> Anchors:
        """Anchors of the mini-doublets ``md``."""
        a = md.lower
        slope = pt_slope(h.r[a], cfg)
        layer = det.modules.layer[md.module].astype(np.int64)
        barrel = det.modules.barrel[md.module]
        cols = (h.x[a], h.y[a], h.z[a], h.r[a], h.phi[a], slope, np.tan(slope) / slope)
        # single precision: the windows are far wider than its 1e-7 relative rounding, and it halves
        # the memory traffic of the millions of candidate pairs
        return Anchors(*(c.astype(np.float32) for c in cols), layer, barrel)


def _dalpha_ok(
    an: Anchors, md: MiniDoublets, det: ModuleMap, i: np.ndarray, o: np.ndarray, *, dpc_seg: np.ndarray,
    cfg: LSTConfig,
) -> np.ndarray:  # fmt: skip
    """LST's dAlpha cuts: each MD's dphichange against the segment's, and against each other."""
    m = det.modules
    mi, mo = md.module[i], md.module[o]
    muls = MULS_SCALE[an.layer[i]] * 3.0 / cfg.pt_cut
    bfield = pt_slope(np.hypot(an.x[o] - an.x[i], an.y[o] - an.y[i]), cfg)
    gap = m.sep[mi]
    res_in = 0.02 / gap * np.where(an.barrel[i], 1.0, np.abs(an.z[i]) / an.r[i])
    res_out = 0.02 / gap * np.where(an.barrel[o], 1.0, np.abs(an.z[o]) / an.r[o])
    res2 = (res_in + res_out) ** 2 + muls**2
    lum_in = np.where(an.barrel[i], tilt_term(mi, det) * bfield**2, (md.dphi[i] * cfg.lum_dz / md.dz[i]) ** 2)
    lum_out = np.where(
        an.barrel[o], tilt_term(mo, det) * bfield**2, (md.dphi[o] * cfg.lum_dz / md.dz[o]) ** 2
    )
    return (
        (np.abs(md.dphichange[i] - dpc_seg) < bfield + np.sqrt(res2 + lum_in))
        & (np.abs(md.dphichange[o] - dpc_seg) < bfield + np.sqrt(res2 + lum_out))
        & (np.abs(md.dphichange[i] - md.dphichange[o]) < bfield + np.sqrt(res2))
    )


def _barrel_segments(
    an: Anchors, i: np.ndarray, o: np.ndarray, cfg: LSTConfig
) -> tuple[np.ndarray, np.ndarray]:
    """LST's barrel segment windows (cheapest first): z pointing back to the luminous region
    (slope-corrected on the outer end), then Δφ and the segment's dphichange. Returns (passing
    positions, their segment dphichange)."""
    z_in, z_out = an.z[i], an.z[o]
    stretch = an.r[o] / an.r[i] - 1.0
    dzdrt = an.dzdrt[o]
    z_geom = np.where(an.layer[i] <= 2, 2.0 * PIXEL_PS_ZPITCH, 2.0 * STRIP_2S_ZPITCH)
    z_lo = z_in + (z_in - cfg.lum_dz) * stretch * np.where(z_in > 0, 1.0, dzdrt) - z_geom
    z_hi = z_in + (z_in + cfg.lum_dz) * stretch * np.where(z_in < 0, 1.0, dzdrt) + z_geom
    keep = np.flatnonzero((z_out >= z_lo) & (z_out <= z_hi))
    i, o = i[keep], o[keep]
    muls = MULS_SCALE[an.layer[i]] * 3.0 / cfg.pt_cut
    cut = an.slope[o] + np.sqrt(muls**2 + (0.1 / an.r[o]) ** 2)
    dpc = wrap(np.arctan2(an.y[o] - an.y[i], an.x[o] - an.x[i]) - an.phi[i])
    ok = (np.abs(wrap(an.phi[o] - an.phi[i])) <= cut) & (np.abs(dpc) <= cut)
    return keep[ok], dpc[ok]


def _endcap_segments(
    an: Anchors, i: np.ndarray, o: np.ndarray, cfg: LSTConfig
) -> tuple[np.ndarray, np.ndarray]:
    """LST's endcap segment windows (outer MD on a disk): r pointing back to the luminous region, Δφ and
    the segment's dphichange (Δφ / dzFrac · (1 + dzFrac)). Returns as ``_barrel_segments``."""
    r_in, r_out, z_in, z_out = an.r[i], an.r[o], an.z[i], an.z[o]
    n_ps = (r_in < DISKS_2S_MIN_RADIUS).astype(np.int64) + (r_out < DISKS_2S_MIN_RADIUS)
    rt_geom = np.array([2.0 * STRIP_2S_ZPITCH, PIXEL_PS_ZPITCH + STRIP_2S_ZPITCH, 2.0 * PIXEL_PS_ZPITCH])
    rt_geom = rt_geom[n_ps]
    dz = z_out - z_in
    d_lum = np.copysign(cfg.lum_dz, z_in)
    rt_lo = np.maximum(r_in * (1.0 + dz / (z_in + d_lum) / an.dzdrt[o]) - rt_geom, r_in - 0.5 * rt_geom)
    rt_hi = r_in * (z_out - d_lum) / (z_in - d_lum) + rt_geom
    keep = np.flatnonzero((z_in * z_out > 0) & (r_out >= rt_lo) & (r_out <= rt_hi))
    i, o, dz_frac = i[keep], o[keep], dz[keep] / z_in[keep]
    slope = an.slope[o]
    dphi = wrap(an.phi[o] - an.phi[i])
    dpc = dphi / dz_frac * (1.0 + dz_frac)
    ok = (np.abs(dphi) <= slope) & (np.abs(dpc) <= slope)
    return keep[ok], dpc[ok]


def _near_in_phi(an: Anchors, i: np.ndarray, o: np.ndarray) -> np.ndarray:
    """Positions of the candidates whose anchors are within the widest LST Δφ window of the outer MD
    (a cheap superset of the barrel and endcap Δφ cuts: cosines, no per-candidate trigonometry)."""
    cos, sin = np.cos(an.phi), np.sin(an.phi)
    cos_cut = np.cos(an.slope + 0.05)
    return np.flatnonzero(cos[i] * cos[o] + sin[i] * sin[o] >= cos_cut[o])


def select_segments(
    h: HitColumns, md: MiniDoublets, det: ModuleMap, i: np.ndarray, o: np.ndarray, *, cfg: LSTConfig
) -> np.ndarray:
    """Positions of the (inner, outer) candidates passing LST's segment selection: the barrel
    algorithm when the outer MD is in the barrel, the endcap one otherwise, then the dAlpha cuts."""
    an = Anchors.of(h, md, det, cfg)
    near = _near_in_phi(an, i, o)
    i, o = i[near], o[near]
    b, c = np.flatnonzero(an.barrel[o]), np.flatnonzero(~an.barrel[o])
    keep_b, dpc_b = _barrel_segments(an, i[b], o[b], cfg)
    keep_c, dpc_c = _endcap_segments(an, i[c], o[c], cfg)
    sel = np.concatenate([b[keep_b], c[keep_c]])
    ok = _dalpha_ok(an, md, det, i[sel], o[sel], dpc_seg=np.concatenate([dpc_b, dpc_c]), cfg=cfg)
    return near[np.sort(sel[ok])]


def build_line_segments(hits: np.ndarray, cfg: LSTConfig) -> LineSegments:
    """Mini-doublets, then line segments of connected modules passing LST's segment selection."""
    det = cfg.module_map
    h = HitColumns.of(hits)
    md = build_mini_doublets(h, det, cfg)
    i, o = _ls_candidates(h, md, det, cfg.phi_sector)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = select_segments(h, md, det, i, o, cfg=cfg)
    return LineSegments(md, i[ok], o[ok])

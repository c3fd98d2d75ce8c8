"""The LST module map: which modules of the next layer a track above ``connect_pt`` from the luminous
region can reach (the pairs in which line segments are built)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from src.sim.tracker.geometry import Modules, build_geometry
from src.sim.tracker.layout import CURVATURE
from src.utils.arrays import expand, wrap

#: The layer pairs (inner, outer) in which LST builds line segments.
LS_LAYER_PAIRS: tuple[tuple[int, int], ...] = (
    (1, 2), (2, 3), (3, 4), (4, 5), (5, 6),
    (1, 7), (2, 7), (3, 7), (4, 7), (5, 7),
    (7, 8), (8, 9), (9, 10), (10, 11),
)  # fmt: skip

LUMINOUS_Z0 = np.linspace(-15.0, 15.0, 7)  # vertex positions probed by the module map (LST: ±15 cm)


@dataclass(frozen=True)
class ModuleMap:
    """The module table and, CSR-encoded, the modules each module connects to."""

    modules: Modules
    ptr: np.ndarray  # modules connected to module m are idx[ptr[m]:ptr[m + 1]]
    idx: np.ndarray
    max_dphi: float  # largest |Δφ| between two connected module centres (plus their half widths)


def _module_extents(m: Modules) -> dict[str, np.ndarray]:
    """Per-module φ centre and half extent, r range and z range (sensors included)."""
    corners = []
    for su in (-1.0, 1.0):
        for sv in (-1.0, 1.0):
            for sn in (-1.0, 1.0):
                corners.append(
                    m.centre
                    + (su * m.half_u)[:, None] * m.u_axis
                    + (sv * m.half_v)[:, None] * m.v_axis
                    + (0.5 * sn * m.sep)[:, None] * m.normal
                )
    pts = np.stack(corners)  # [8, M, 3]
    r = np.hypot(pts[..., 0], pts[..., 1])
    phi_c = np.arctan2(m.centre[:, 1], m.centre[:, 0])
    dphi = wrap(np.arctan2(pts[..., 1], pts[..., 0]) - phi_c)
    # planar barrel modules: the closest point to the axis lies inside the module, not at a corner
    r_lo = np.where(m.barrel, np.hypot(m.centre[:, 0], m.centre[:, 1]) - 0.5 * m.sep, r.min(0))
    return {
        "phi": phi_c,
        "half_phi": np.abs(dphi).max(0),
        "r_lo": r_lo,
        "r_hi": r.max(0),
        "z_lo": pts[..., 2].min(0),
        "z_hi": pts[..., 2].max(0),
    }


def _phi_candidates(
    ext: dict[str, np.ndarray], inner: np.ndarray, outer: np.ndarray, half_window: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(inner, outer) pairs whose centres are within ``half_window`` (per inner module) in φ, found by
    binary search in the φ-sorted outer modules (with ±2π copies for the wrap-around)."""
    order = np.argsort(ext["phi"][outer])
    phi = ext["phi"][outer][order]
    phi3 = np.concatenate([phi - 2.0 * np.pi, phi, phi + 2.0 * np.pi])
    idx3 = np.tile(outer[order], 3)
    centre = ext["phi"][inner]
    start = np.searchsorted(phi3, centre - half_window, side="left")
    stop = np.searchsorted(phi3, centre + half_window, side="right")
    owner, pos = expand(start, stop - start)
    return inner[owner], idx3[pos]


def _connected(
    ext: dict[str, np.ndarray],
    inner: np.ndarray,
    outer: np.ndarray,
    *,
    connect_pt: float,
    b_field: float,
    skipped: tuple[float, float] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Module pairs (inner, outer) reachable by a track with pT ≥ ``connect_pt`` from |z0| ≤ 15 cm.

    φ: the anchor azimuth of a track from the beam line turns by asin(r/2R) between the two radii.
    rz: the track's apparent slope (z − z0)/r seen from the same vertex z0 agrees within the helix
    correction s/r ≤ x/sin x, x = r/2R, in both modules (checked for z0 on a grid of the luminous region).
    ``skipped`` = (r, half length) of the barrel layer between a barrel module and a disk: the track must
    pass beyond its end (consecutive modules on a track, as in LST's module map).
    """
    k = CURVATURE * b_field / (2.0 * connect_pt)  # 1 / (2R) at the connection pT

    def asin_k(r: np.ndarray) -> np.ndarray:
        return np.arcsin(np.minimum(r * k, 1.0))

    lo, hi = ext["slope_lo"], ext["slope_hi"]  # [z0, module]
    if skipped is not None:  # seen from the nominal vertex, the track passes the skipped layer's end
        r_next, half_z = skipped
        nominal = len(LUMINOUS_Z0) // 2
        inner = inner[(hi[nominal, inner] >= half_z / r_next) | (lo[nominal, inner] <= -half_z / r_next)]
    max_bend = np.maximum(asin_k(ext["r_hi"][outer].max()) - asin_k(ext["r_lo"][inner]), 0.0)
    window = ext["half_phi"][inner] + ext["half_phi"][outer].max() + max_bend + 0.01
    i, o = _phi_candidates(ext, inner, outer, window)
    bend = np.maximum(asin_k(ext["r_hi"][o]) - asin_k(ext["r_lo"][i]), 0.0)
    ok = np.abs(wrap(ext["phi"][o] - ext["phi"][i])) <= ext["half_phi"][i] + ext["half_phi"][o] + bend + 0.01
    i, o = i[ok], o[ok]
    x_max = np.minimum(ext["r_hi"][o] * k, 1.0)
    stretch = np.arcsin(x_max) / x_max  # s/r of the outer point at the connection pT
    # necessary condition first: overlap of the slope ranges over the whole luminous region
    lo_any, hi_any = lo.min(axis=0), hi.max(axis=0)
    lo_o = np.where(lo_any[o] < 0, lo_any[o] * stretch, lo_any[o] / stretch)
    hi_o = np.where(hi_any[o] > 0, hi_any[o] * stretch, hi_any[o] / stretch)
    ok = np.maximum(lo_any[i], lo_o - 0.02) <= np.minimum(hi_any[i], hi_o + 0.02)
    i, o, stretch = i[ok], o[ok], stretch[ok]
    lo_o = np.where(lo[:, o] < 0, lo[:, o] * stretch, lo[:, o] / stretch)
    hi_o = np.where(hi[:, o] > 0, hi[:, o] * stretch, hi[:, o] / stretch)
    rz = (np.maximum(lo[:, i], lo_o - 0.02) <= np.minimum(hi[:, i], hi_o + 0.02)).any(axis=0)
    return i[rz], o[rz]


def _slope_ranges(ext: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Range of (z − z0)/r over the module corners, [len(LUMINOUS_Z0), modules], for each vertex z0."""
    z0 = LUMINOUS_Z0[:, None]
    vals = [(ext[z] - z0) / ext[r] for z in ("z_lo", "z_hi") for r in ("r_lo", "r_hi")]
    return np.minimum.reduce(vals), np.maximum.reduce(vals)


def _connection_map(m: Modules, connect_pt: float, b_field: float) -> tuple[np.ndarray, np.ndarray, float]:
    """CSR module map over the LS layer pairs, and the largest connected |Δφ|."""
    ext = _module_extents(m)
    ext["slope_lo"], ext["slope_hi"] = _slope_ranges(ext)
    src, dst = [], []
    for li, lo in LS_LAYER_PAIRS:
        inner, outer = np.flatnonzero(m.layer == li), np.flatnonzero(m.layer == lo)
        skipped = None
        if lo - li > 1:  # barrel layer li to the first disk: the track passes the end of layer li + 1
            nxt = m.layer == li + 1
            skipped = (float(ext["r_lo"][nxt].min()), float(ext["z_hi"][nxt].max()))
        a, b = _connected(ext, inner, outer, connect_pt=connect_pt, b_field=b_field, skipped=skipped)
        src.append(a)
        dst.append(b)
    src, dst = np.concatenate(src), np.concatenate(dst)
    order = np.lexsort((dst, src))
    src, dst = src[order], dst[order]
    ptr = np.zeros(len(m) + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=len(m)), out=ptr[1:])
    dphi = np.abs(wrap(ext["phi"][dst] - ext["phi"][src]))
    max_dphi = float((dphi + ext["half_phi"][src] + ext["half_phi"][dst]).max())
    return ptr, dst.astype(np.int64), max_dphi


@functools.lru_cache(maxsize=4)
def build_module_map(connect_pt: float, b_field: float) -> ModuleMap:
    """The module map of the LST-like tracker (once per argument set)."""
    modules = build_geometry().modules
    ptr, idx, max_dphi = _connection_map(modules, connect_pt, b_field)
    return ModuleMap(modules, ptr, idx, max_dphi)

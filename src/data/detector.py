"""Geometry of a CMS Phase-2 outer-tracker-like detector for the LST fast simulation.

The tracker sits in a uniform solenoid field along +z and has the eleven LST layers: barrel layers 1-6
(r ≈ 23-110 cm) made of flat ladders at two staggered radii (layers 1-3 continue beyond |z| ≈ 16-35 cm
with rings of modules tilted to face the interaction point), and endcap disks 7-11 (|z| ≈ 131-265 cm)
made of rings of modules on two discs and two faces each. Every module is a CMS "pT module": a lower
and an upper sensor a few mm apart along the module normal, so a crossing particle leaves two hits.
Inner layers (barrel 1-3, disk rings below ~62 cm) hold PS modules (macro-pixel lower sensor, 2.35 cm
strips upper sensor, 100 µm pitch); outer ones 2S modules (two strip sensors, 5.025 cm strips, 90 µm
pitch). Units: cm, GeV, T. Module ``v`` is the long (strip) axis, ``u`` the precise (pitch) axis.

The module connection map links each module to the modules of the next LST layer that a track with
pT above ``connect_pt`` from the luminous region can reach (the LST "module map"). The passive and
active material (for photon conversions and nuclear interactions) is a set of cylinders and disks.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

#: R[cm] = pT[GeV] / (CURVATURE * B[T]): 0.3 GeV/(T m) in cm units.
CURVATURE = 2.99792458e-3
#: The layer pairs (inner, outer) in which LST builds line segments.
LS_LAYER_PAIRS: tuple[tuple[int, int], ...] = (
    (1, 2), (2, 3), (3, 4), (4, 5), (5, 6),
    (1, 7), (2, 7), (3, 7), (4, 7), (5, 7),
    (7, 8), (8, 9), (9, 10), (10, 11),
)  # fmt: skip


def wrap(angle: np.ndarray) -> np.ndarray:
    """Angle wrapped to [−π, π)."""
    return np.mod(angle + np.pi, 2.0 * np.pi) - np.pi


def expand(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges [start, start + count): (owner index, position) of every element, in order."""
    owner = np.repeat(np.arange(len(counts)), counts)
    offset = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, np.repeat(starts, counts) + offset


@dataclass(frozen=True)
class ModuleType:
    """Sensor layout of a pT module (cm)."""

    width: float  # active size along u (pitch direction)
    length: float  # active size along v (strip direction)
    pitch: float
    lower_cell: float  # cell length along v of the lower sensor (macro-pixel or strip)
    upper_cell: float


PS = ModuleType(width=9.6, length=4.7, pitch=0.01, lower_cell=4.7 / 32, upper_cell=2.35)
TWO_S = ModuleType(width=9.144, length=10.05, pitch=0.009, lower_cell=5.025, upper_cell=5.025)


@dataclass(frozen=True)
class BarrelLayer:
    """Flat ladders along z at two alternating radii (even/odd ladder index), and beyond them (PS
    layers) rings of modules tilted to face the interaction point, at radius ``tilted_r``."""

    layer: int
    radii: tuple[float, float]
    ps: bool
    sep: float
    n_flat: int  # modules along z of a flat ladder; it spans |z| < n_flat * length / 2
    tilted_r: float = 0.0  # 0: no tilted rings


@dataclass(frozen=True)
class Disk:
    """Rings of modules on two discs (ring parity) with two faces each (module parity), per z side."""

    layer: int
    z: float
    r_min: float


BARREL: tuple[BarrelLayer, ...] = (
    BarrelLayer(1, (22.02, 24.31), ps=True, sep=0.26, n_flat=7, tilted_r=25.5),
    BarrelLayer(2, (34.84, 37.13), ps=True, sep=0.16, n_flat=11, tilted_r=37.7),
    BarrelLayer(3, (50.01, 52.32), ps=True, sep=0.16, n_flat=15, tilted_r=52.8),
    BarrelLayer(4, (66.90, 69.99), ps=False, sep=0.18, n_flat=24),
    BarrelLayer(5, (84.20, 87.27), ps=False, sep=0.18, n_flat=24),
    BarrelLayer(6, (106.50, 109.55), ps=False, sep=0.18, n_flat=24),
)
DISKS: tuple[Disk, ...] = (
    Disk(7, 131.1, 23.0),
    Disk(8, 154.9, 23.0),
    Disk(9, 185.1, 33.0),
    Disk(10, 221.4, 33.0),
    Disk(11, 264.8, 33.0),
)
DISK_R_MAX = 110.0  # rings are added while their inner radius is below this
DISK_PS_R_MAX = 62.0  # rings starting below this radius are PS
DISK_DISC_OFFSET = 1.57  # ring parity: z offset of the two discs of a disk
DISK_FACE_OFFSET = 0.65  # module parity: z offset of the two faces of a disc
DISK_SEP_PS, DISK_SEP_2S = 0.4, 0.18
RING_OVERLAP = 0.5  # radial overlap of neighbouring rings (cm)
TILT_OVERLAP = 0.0  # fractional overlap in z/r (seen from the IP) of neighbouring tilted rings
TILTED_Z_MAX = 118.0  # tilted rings are added while their centre stays below this |z|
BARREL_PHI_OVERLAP = 0.10  # fractional φ overlap of neighbouring modules
DISK_PHI_OVERLAP = 0.05
TRACKER_R_MIN = 21.8  # no sensor below this radius
TRACKER_R_MAX = 115.0  # particles leaving this radius or |z| > TRACKER_Z_MAX stop (calorimeter)
TRACKER_Z_MAX = 275.0
BARREL_HALF_Z = 120.0  # barrel layers end here
SERVICES_Z = 125.0  # barrel services between the barrel ends and the first disk
LUMINOUS_Z0 = np.linspace(-15.0, 15.0, 7)  # vertex positions probed by the module map (LST: ±15 cm)


@dataclass(frozen=True)
class Material:
    """Material surfaces as seen by particles: cylinders (radius, |z| < half length) and disks at ±z
    (r_min < r < r_max), with their thickness in radiation lengths at normal incidence."""

    cyl_r: np.ndarray
    cyl_half_z: np.ndarray
    cyl_x0: np.ndarray
    disk_z: np.ndarray
    disk_r: np.ndarray  # [n, 2] (r_min, r_max)
    disk_x0: np.ndarray


@functools.lru_cache(maxsize=1)
def tracker_material() -> Material:
    """Beam pipe, inner tracker (barrel layers stretched over its disks) and its support tube, the outer
    tracker barrel layers and disks (modules, mechanics, cooling), and the barrel services routed out
    between the barrel ends and the first disk: ~0.25 X0 at η = 0, growing as 1/sin θ in the barrel."""
    ot = [(float(np.mean(b.radii)), BARREL_HALF_Z, 0.035) for b in BARREL]
    cyl = np.array([(2.2, TRACKER_Z_MAX, 0.003), *[(r, TRACKER_Z_MAX, 0.01) for r in (3.0, 6.8, 10.8, 15.0)]])
    cyl = np.concatenate([cyl, [(19.0, TRACKER_Z_MAX, 0.02)], ot])
    disks = [(d.z, d.r_min, DISK_R_MAX, 0.06) for d in DISKS] + [(SERVICES_Z, TRACKER_R_MIN, DISK_R_MAX, 0.1)]
    disk = np.array(disks)
    return Material(
        cyl_r=cyl[:, 0],
        cyl_half_z=cyl[:, 1],
        cyl_x0=cyl[:, 2],
        disk_z=disk[:, 0],
        disk_r=disk[:, 1:3],
        disk_x0=disk[:, 3],
    )


@dataclass(frozen=True)
class Modules:
    """Per-module arrays (index = module id). Sensor planes sit at ``centre ± sep/2 · normal``;
    ``lower_sign`` = +1 when the lower sensor is the inner (barrel) / nearer-to-IP (endcap) one."""

    layer: np.ndarray  # int8, LST layer 1-11
    barrel: np.ndarray  # bool
    ps: np.ndarray  # bool
    centre: np.ndarray  # [M, 3]
    normal: np.ndarray  # [M, 3] pointing away from the interaction point
    u_axis: np.ndarray  # [M, 3]
    v_axis: np.ndarray  # [M, 3]
    half_u: np.ndarray
    half_v: np.ndarray
    sep: np.ndarray
    lower_sign: np.ndarray  # float, ±1
    pitch: np.ndarray
    lower_cell: np.ndarray
    upper_cell: np.ndarray
    tilt: np.ndarray  # tilt of barrel modules towards the IP (rad), 0 for flat and disk modules

    def __len__(self) -> int:
        return len(self.layer)

    def sensor_centre(self, module: np.ndarray, upper: np.ndarray) -> np.ndarray:
        """Centre [n, 3] of the lower (``upper`` False) or upper sensor of ``module``."""
        side = np.where(upper, 1.0, -1.0) * self.lower_sign[module]
        return self.centre[module] + (0.5 * side * self.sep[module])[:, None] * self.normal[module]


@dataclass(frozen=True)
class LadderSet:
    """Flat barrel ladders, for propagation: ladder j has normal angle ``phi[j]`` and distance
    ``dist[j]``; its module at z index k is ``first_module + j * n_z + k``."""

    layer: int
    phi: np.ndarray
    dist: np.ndarray
    lower_sign: np.ndarray
    sep: float
    half_u: float
    module_length: float
    n_z: int
    first_module: int


@dataclass(frozen=True)
class TiltedRings:
    """Tilted barrel rings of one layer (both sides, sorted by z/r), for propagation: ring i has its
    module centres at radius ``r`` and z ``z[i]``, module j at azimuth 2πj/n_phi with id
    ``first_module[i] + j``."""

    layer: int
    r: float
    z: np.ndarray
    n_phi: int
    first_module: np.ndarray
    r_min: float  # radial extent of the ring modules (sensors included)
    r_max: float


@dataclass(frozen=True)
class DiskSensors:
    """All disk sensor planes (disc × face × module type × sensor, per disk and side), flattened for
    vectorised propagation. Plane p at ``plane_z[p]`` holds the modules j with j % 2 == ``plane_parity[p]``
    of rings ``ring_start[p]:ring_start[p + 1]`` (sorted by radius); module j of ring i has id
    ``ring_first_module[i] + j`` and its centre at azimuth ``ring_phi0[i] + 2πj / ring_n_phi[i]``."""

    plane_layer: np.ndarray
    plane_z: np.ndarray
    plane_upper: np.ndarray
    plane_parity: np.ndarray
    ring_start: np.ndarray
    ring_plane: np.ndarray
    ring_r_lo: np.ndarray
    ring_r_hi: np.ndarray
    ring_n_phi: np.ndarray
    ring_phi0: np.ndarray
    ring_first_module: np.ndarray
    ring_half_u: np.ndarray


@dataclass(frozen=True)
class Detector:
    """The module table, the propagation views of barrel ladders, tilted rings and disk sensors, and the
    module map."""

    modules: Modules
    ladders: tuple[LadderSet, ...]
    tilted: tuple[TiltedRings, ...]
    disks: DiskSensors
    conn_ptr: np.ndarray  # CSR: modules connected to module m are conn_idx[conn_ptr[m]:conn_ptr[m+1]]
    conn_idx: np.ndarray
    conn_dphi: float  # largest |Δφ| between two connected module centres (plus their half widths)


def n_phi_modules(half_width: float, r_inner: float, r_outer: float, overlap: float) -> int:
    """Even number of modules covering 2π with fractional ``overlap``, inner/outer alternating."""
    span = math.atan(half_width / r_inner) + math.atan(half_width / r_outer)
    n = math.ceil(2.0 * math.pi * (1.0 + overlap) / span)
    return n + n % 2


def _module_dict(n: int) -> dict[str, np.ndarray]:
    """Empty per-module columns of length ``n``."""
    return {
        "centre": np.zeros((n, 3)),
        "normal": np.zeros((n, 3)),
        "u_axis": np.zeros((n, 3)),
        "v_axis": np.zeros((n, 3)),
    }


def _barrel_modules(spec: BarrelLayer, first: int) -> tuple[LadderSet, dict[str, np.ndarray]]:
    """Flat ladders and their module columns for one barrel layer."""
    mtype = PS if spec.ps else TWO_S
    half_u = 0.5 * mtype.width
    n_phi = n_phi_modules(half_u, spec.radii[1], spec.radii[0], BARREL_PHI_OVERLAP)
    j = np.arange(n_phi)
    phi = 2.0 * np.pi * j / n_phi
    dist = np.where(j % 2 == 0, spec.radii[0], spec.radii[1])
    # PS: the macro-pixel (lower) sensor alternates between inner and outer side every two ladders.
    lower_sign = np.where((j // 2) % 2 == 0, 1.0, -1.0) if spec.ps else np.ones(n_phi)
    k = np.arange(spec.n_flat)
    zc = (k + 0.5 - 0.5 * spec.n_flat) * mtype.length
    jj, kk = np.repeat(j, spec.n_flat), np.tile(k, n_phi)
    cols = _barrel_columns(
        spec, mtype, phi=phi[jj], dist=dist[jj], z=zc[kk], tilt=np.zeros(len(jj)), lower_sign=lower_sign[jj]
    )
    ladders = LadderSet(spec.layer, phi, dist, lower_sign, spec.sep, half_u, mtype.length, spec.n_flat, first)
    return ladders, cols


def _barrel_columns(
    spec: BarrelLayer, mtype: ModuleType, *, phi: np.ndarray, dist: np.ndarray, z: np.ndarray,
    tilt: np.ndarray, lower_sign: np.ndarray,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Module columns of barrel modules centred at (``dist``, ``phi``, ``z``), tilted by ``tilt``
    towards the IP (normal (cos τ r̂, ±sin τ ẑ), strips along (∓sin τ r̂, cos τ ẑ))."""
    n = len(phi)
    c, s, side = np.cos(phi), np.sin(phi), np.sign(z)
    ct, st = np.cos(tilt), np.sin(tilt) * side
    cols = _module_dict(n)
    cols["centre"][:] = np.c_[dist * c, dist * s, z]
    cols["normal"][:] = np.c_[ct * c, ct * s, st]
    cols["u_axis"][:] = np.c_[-s, c, np.zeros(n)]
    cols["v_axis"][:] = np.c_[-st * c, -st * s, ct]
    cols["lower_sign"] = lower_sign
    cols["sep"] = np.full(n, spec.sep)
    cols["ps"] = np.full(n, spec.ps)
    cols["layer"] = np.full(n, spec.layer)
    cols["barrel"] = np.ones(n, dtype=bool)
    cols["tilt"] = tilt
    _fill_type(cols, mtype)
    return cols


def _tilted_ring_z(spec: BarrelLayer, mtype: ModuleType) -> np.ndarray:
    """z of the tilted rings (z > 0 side), each facing the IP and overlapping its neighbour in z/r."""
    half = 0.5 * mtype.length
    edge = 0.5 * spec.n_flat * mtype.length / max(spec.radii)  # z/r reached by the flat ladders
    r, out = spec.tilted_r, []
    while True:
        target, z = edge * (1.0 - TILT_OVERLAP), r * edge
        for _ in range(30):  # fixed point: lower end of the module at z/r = target
            tau = math.atan2(z, r)
            z = target * (r + half * math.sin(tau)) + half * math.cos(tau)
        if z > TILTED_Z_MAX:
            return np.array(out)
        tau = math.atan2(z, r)
        edge = (z + half * math.cos(tau)) / (r - half * math.sin(tau))
        out.append(z)


def _tilted_modules(spec: BarrelLayer, first: int) -> tuple[TiltedRings, dict[str, np.ndarray]]:
    """Tilted rings (both sides) and their module columns for one PS barrel layer."""
    mtype = PS
    z_pos = _tilted_ring_z(spec, mtype)
    z = np.concatenate([-z_pos[::-1], z_pos])
    n_phi = n_phi_modules(0.5 * mtype.width, spec.tilted_r, spec.tilted_r, BARREL_PHI_OVERLAP)
    j = np.arange(n_phi)
    phi = 2.0 * np.pi * j / n_phi
    lower_sign = np.where((j // 2) % 2 == 0, 1.0, -1.0)
    jj, zz = np.tile(j, len(z)), np.repeat(z, n_phi)
    tilt = np.arctan2(np.abs(zz), spec.tilted_r)
    dist = np.full(len(jj), spec.tilted_r)
    cols = _barrel_columns(spec, mtype, phi=phi[jj], dist=dist, z=zz, tilt=tilt, lower_sign=lower_sign[jj])
    reach = 0.5 * mtype.length * math.sin(float(tilt.max())) + spec.sep
    r_max = math.hypot(spec.tilted_r + reach, 0.5 * mtype.width)
    rings = TiltedRings(
        spec.layer, spec.tilted_r, z, n_phi, first + n_phi * np.arange(len(z)), spec.tilted_r - reach, r_max
    )
    return rings, cols


def _fill_type(cols: dict[str, np.ndarray], mtype: ModuleType) -> None:
    """Add the sensor-layout columns of ``mtype`` to module columns."""
    n = len(cols["centre"])
    cols["half_u"] = np.full(n, 0.5 * mtype.width)
    cols["half_v"] = np.full(n, 0.5 * mtype.length)
    cols["pitch"] = np.full(n, mtype.pitch)
    cols["lower_cell"] = np.full(n, mtype.lower_cell)
    cols["upper_cell"] = np.full(n, mtype.upper_cell)


def _disk_rings(spec: Disk) -> list[tuple[float, bool]]:
    """(inner radius, is PS) of each ring of a disk, from the inside out."""
    rings, r = [], spec.r_min
    while r < DISK_R_MAX:
        ps = r < DISK_PS_R_MAX
        rings.append((r, ps))
        r += (PS if ps else TWO_S).length - RING_OVERLAP
    return rings


@dataclass(frozen=True)
class _Ring:
    """A ring of disk modules, as needed to group rings into sensor planes."""

    disc: int
    ps: bool
    r_lo: float
    r_hi: float
    n_phi: int
    first_module: int
    phi0: float

    @property
    def r_centre(self) -> float:
        """Radius of the module centres."""
        return 0.5 * (self.r_lo + self.r_hi)


def _disk_modules(spec: Disk, side: float, first: int) -> tuple[list[_Plane], dict[str, np.ndarray]]:
    """Sensor planes and module columns of one disk on one z side (``side`` = ±1)."""
    parts, ring_info = [], []
    for i, (r_lo, ps) in enumerate(_disk_rings(spec)):
        mtype = PS if ps else TWO_S
        half_u, r_c = 0.5 * mtype.width, r_lo + 0.5 * mtype.length
        n_phi = n_phi_modules(half_u, r_lo + mtype.length, r_lo + mtype.length, DISK_PHI_OVERLAP)
        j = np.arange(n_phi)
        phi = 2.0 * np.pi * (j + 0.5 * (i % 2)) / n_phi
        c, s = np.cos(phi), np.sin(phi)
        face = np.where(j % 2 == 0, -1.0, 1.0)
        z = side * (spec.z + (i % 2 - 0.5) * 2.0 * DISK_DISC_OFFSET + face * DISK_FACE_OFFSET)
        cols = _module_dict(n_phi)
        cols["centre"][:] = np.c_[r_c * c, r_c * s, z]
        cols["normal"][:, 2] = side
        cols["u_axis"][:] = np.c_[-s, c, np.zeros(n_phi)]
        cols["v_axis"][:] = np.c_[c, s, np.zeros(n_phi)]
        # PS: the macro-pixel sensor faces the IP on one face of the disc and away on the other.
        cols["lower_sign"] = -face if ps else np.ones(n_phi)
        cols["sep"] = np.full(n_phi, DISK_SEP_PS if ps else DISK_SEP_2S)
        cols["ps"] = np.full(n_phi, ps)
        cols["layer"] = np.full(n_phi, spec.layer)
        cols["barrel"] = np.zeros(n_phi, dtype=bool)
        cols["tilt"] = np.zeros(n_phi)
        _fill_type(cols, mtype)
        ring_info.append(_Ring(i % 2, ps, r_lo, r_lo + mtype.length, n_phi, first, float(phi[0])))
        parts.append(cols)
        first += n_phi
    return _disk_planes(spec, side, ring_info), _concat(parts)


@dataclass(frozen=True)
class _Plane:
    """A disk sensor plane: the rings (of one disc and module type) whose modules of one face parity
    have their lower or upper sensor at ``z``."""

    layer: int
    z: float
    upper: bool
    parity: int
    rings: list[_Ring]


def _disk_planes(spec: Disk, side: float, ring_info: list[_Ring]) -> list[_Plane]:
    """Group the rings of a disk side into sensor planes (disc × face × module type × sensor)."""
    planes = []
    for disc in (0, 1):
        for ps in (True, False):
            rings = [r for r in ring_info if r.disc == disc and r.ps == ps]
            sep = DISK_SEP_PS if ps else DISK_SEP_2S
            for parity in (0, 1) if rings else ():
                face = -1.0 if parity == 0 else 1.0
                lower_sign = -face if ps else 1.0
                z_mod = spec.z + (disc - 0.5) * 2.0 * DISK_DISC_OFFSET + face * DISK_FACE_OFFSET
                for upper in (False, True):
                    z = side * (z_mod + (0.5 if upper else -0.5) * lower_sign * sep)
                    planes.append(_Plane(spec.layer, z, upper, parity, rings))
    return planes


def _disk_sensors(planes: list[_Plane]) -> DiskSensors:
    """Flatten the sensor planes and their rings into arrays."""
    rings = [(p, r) for p, plane in enumerate(planes) for r in plane.rings]
    counts = np.array([len(plane.rings) for plane in planes])
    return DiskSensors(
        plane_layer=np.array([p.layer for p in planes]),
        plane_z=np.array([p.z for p in planes]),
        plane_upper=np.array([p.upper for p in planes]),
        plane_parity=np.array([p.parity for p in planes]),
        ring_start=np.concatenate([[0], np.cumsum(counts)]),
        ring_plane=np.array([p for p, _ in rings]),
        ring_r_lo=np.array([r.r_lo for _, r in rings]),
        ring_r_hi=np.array([r.r_hi for _, r in rings]),
        ring_n_phi=np.array([r.n_phi for _, r in rings]),
        ring_phi0=np.array([r.phi0 for _, r in rings]),
        ring_first_module=np.array([r.first_module for _, r in rings]),
        ring_half_u=np.array([0.5 * (PS if r.ps else TWO_S).width for _, r in rings]),
    )


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Concatenate module column dicts."""
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


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
def build_detector(connect_pt: float = 0.7, b_field: float = 3.8) -> Detector:
    """Build (once per argument set) the module table, propagation view and module map."""
    parts, ladders, tilted, planes, first = [], [], [], [], 0
    for spec in BARREL:
        lad, cols = _barrel_modules(spec, first)
        ladders.append(lad)
        parts.append(cols)
        first += len(cols["layer"])
        if spec.tilted_r:
            rings, cols = _tilted_modules(spec, first)
            tilted.append(rings)
            parts.append(cols)
            first += len(cols["layer"])
    for spec in DISKS:
        for side in (1.0, -1.0):
            pl, cols = _disk_modules(spec, side, first)
            planes.extend(pl)
            parts.append(cols)
            first += len(cols["layer"])
    cols = _concat(parts)
    modules = Modules(
        layer=cols["layer"].astype(np.int8),
        barrel=cols["barrel"].astype(bool),
        ps=cols["ps"].astype(bool),
        **{k: cols[k] for k in ("centre", "normal", "u_axis", "v_axis", "half_u", "half_v", "sep")},
        lower_sign=cols["lower_sign"].astype(np.float64),
        pitch=cols["pitch"],
        lower_cell=cols["lower_cell"],
        upper_cell=cols["upper_cell"],
        tilt=cols["tilt"],
    )
    ptr, idx, max_dphi = _connection_map(modules, connect_pt, b_field)
    return Detector(modules, tuple(ladders), tuple(tilted), _disk_sensors(planes), ptr, idx, max_dphi)

"""Module table of the LST-like tracker (:mod:`src.sim.tracker.layout`) and the views of it that the
propagation uses: flat barrel ladders, tilted rings and disk sensor planes."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from src.sim.tracker.layout import (
    BARREL,
    BARREL_PHI_OVERLAP,
    DISK_DISC_OFFSET,
    DISK_FACE_OFFSET,
    DISK_PHI_OVERLAP,
    DISK_PS_R_MAX,
    DISK_R_MAX,
    DISK_SEP_2S,
    DISK_SEP_PS,
    DISKS,
    PS,
    RING_OVERLAP,
    TILT_OVERLAP,
    TILTED_Z_MAX,
    TWO_S,
    BarrelLayer,
    Disk,
    ModuleType,
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
class Geometry:
    """The module table and the propagation views of barrel ladders, tilted rings and disk sensors."""

    modules: Modules
    ladders: tuple[LadderSet, ...]
    tilted: tuple[TiltedRings, ...]
    disks: DiskSensors


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


@functools.lru_cache(maxsize=1)
def build_geometry() -> Geometry:
    """Build (once) the module table and the propagation views."""
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
    return Geometry(modules, tuple(ladders), tuple(tilted), _disk_sensors(planes))

"""Layout of a CMS Phase-2 outer-tracker-like detector for the LST fast simulation: layer and disk
specifications, module types and the material.

The tracker sits in a uniform solenoid field along +z and has the eleven LST layers: barrel layers 1-6
(r ≈ 23-110 cm) made of flat ladders at two staggered radii (layers 1-3 continue beyond |z| ≈ 16-35 cm
with rings of modules tilted to face the interaction point), and endcap disks 7-11 (|z| ≈ 131-265 cm)
made of rings of modules on two discs and two faces each. Every module is a CMS "pT module": a lower
and an upper sensor a few mm apart along the module normal, so a crossing particle leaves two hits.
Inner layers (barrel 1-3, disk rings below ~62 cm) hold PS modules (macro-pixel lower sensor, 2.35 cm
strips upper sensor, 100 µm pitch); outer ones 2S modules (two strip sensors, 5.025 cm strips, 90 µm
pitch). Units: cm, GeV, T. Module ``v`` is the long (strip) axis, ``u`` the precise (pitch) axis. The
passive and active material (for photon conversions and nuclear interactions) is a set of cylinders and
disks.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

#: R[cm] = pT[GeV] / (CURVATURE * B[T]): 0.3 GeV/(T m) in cm units.
CURVATURE = 2.99792458e-3


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

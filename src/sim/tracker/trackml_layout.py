"""Layout of a TrackML-like tracker (the TrackML challenge's detector, arXiv:1904.06778): layers, readout,
material, and the challenge's volume and layer numbering. Units: cm, GeV, T (as the rest of the
simulation); the hit events are converted to the challenge's mm.

The challenge's detector (a generic LHC-like silicon tracker in a 2 T solenoid) has three sub-detectors,
each a barrel of cylindrical layers between two endcaps of disks:

=========  ======  ===================================  ===============================  ==================
volume     kind    layers                               extent                           readout pitch u × v
=========  ======  ===================================  ===============================  ==================
7 / 9      disks   \\|z\\| = 600, 700, 820, 960, 1100,   30 < r < 176 mm                  0.05 × 0.05625 mm
                   1300, 1500 mm                                                         (pixels)
8          barrel  r = 32, 72, 116, 172 mm              \\|z\\| < 491 mm                   0.05 × 0.05625 mm
12 / 14    disks   \\|z\\| = 1220, 1500, 1800, 2150,     240 < r < 700 mm                 0.08 × 1.2 mm
                   2550, 2950 mm                                                         (short strips)
13         barrel  r = 260, 360, 500, 660 mm            \\|z\\| < 1084 mm                  0.08 × 1.2 mm
16 / 18    disks   as 12 / 14                           750 < r < 1020 mm                0.12 × 10.8 mm
                                                                                         (long strips)
17         barrel  r = 820, 1020 mm                     \\|z\\| < 1084 mm                  0.12 × 10.8 mm
=========  ======  ===================================  ===============================  ==================

Volumes 7, 12, 16 are the −z endcaps, 9, 14, 18 the +z ones. ``layer_id`` is 2, 4, 6, ... within a volume,
from the smallest r (barrels) or the smallest z (endcaps: at −z, layer 2 is the farthest disk), as in the
challenge's files. Barrel modules measure r·φ (u) precisely and z (v) with the strip length; disk modules
r·φ and r. A layer's material (sensors and their support, in radiation lengths at normal incidence) is the
challenge geometry's silicon-equivalent thickness: 1.65 mm in the pixels, 2.25/2.75 mm (barrel/disks) in
the short strips, 2.85/3.85 mm in the long strips (X0(Si) = 95.7 mm); the beryllium beam pipe (r = 19 mm,
0.8 mm) and pixel support tube (r = 200 mm, 1.8 mm) are passive. Module counts (for ``module_id``) are
those of the challenge geometry: per barrel layer n_φ × n_z, per disk rings of n_φ modules.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from src.sim.tracker.layout import Material

X0_SILICON = 9.57  # cm
X0_BERYLLIUM = 35.28  # cm
#: Particles leaving this radius or |z| stop (the calorimeters).
R_MAX, Z_MAX = 105.0, 300.0


@dataclass(frozen=True)
class Layer:
    """One sensitive layer: a barrel cylinder (``position`` = r, ``extent`` = (−half z, half z)) or a disk
    (``position`` = z, ``extent`` = (r_min, r_max)); readout pitch along u (r·φ) and v (z or r), Gaussian
    smearing (``pixel``) or the cell centre along v (strips); ``x0`` at normal incidence; modules per
    ring along φ and rings (disks: radial rings; barrels: modules along z)."""

    volume_id: int
    layer_id: int
    barrel: bool
    position: float
    extent: tuple[float, float]
    pitch_u: float
    pitch_v: float
    pixel: bool
    x0: float
    n_phi: tuple[int, ...]
    n_rings: int


@dataclass(frozen=True)
class Detector:
    """Every sensitive layer (index = ``layer`` of a hit), the passive material and the outer bounds."""

    layers: tuple[Layer, ...]
    passive: tuple[tuple[float, float, float], ...]  # cylinders (r, half z, x0)
    r_max: float
    z_max: float

    @property
    def material(self) -> Material:
        """All material (layers and passive cylinders) for photon conversions and nuclear interactions."""
        cyl = [(lay.position, lay.extent[1], lay.x0) for lay in self.layers if lay.barrel] + list(
            self.passive
        )
        disks = [
            (lay.position, *lay.extent, lay.x0) for lay in self.layers if not lay.barrel and lay.position > 0
        ]
        c, d = np.array(cyl), np.array(disks)
        return Material(
            cyl_r=c[:, 0],
            cyl_half_z=c[:, 1],
            cyl_x0=c[:, 2],
            disk_z=d[:, 0],
            disk_r=d[:, 1:3],
            disk_x0=d[:, 3],
        )

    def column(self, name: str) -> np.ndarray:
        """One field of every layer as an array (index = layer)."""
        return np.array([getattr(lay, name) for lay in self.layers])

    def n_modules(self) -> np.ndarray:
        """Modules per layer."""
        return np.array([lay.n_phi[0] * lay.n_rings if lay.barrel else sum(lay.n_phi) for lay in self.layers])


#: (barrel volume, endcap volumes (−z, +z), barrel radii, barrel half z, disk |z|, disk r range,
#:  pitch u, pitch v, pixel, barrel x0 thickness, disk x0 thickness, barrel n_φ, barrel n_z, disk n_φ)
_SUBDETECTORS = (
    (8, (7, 9), (3.2, 7.2, 11.6, 17.2), 49.1, (60.0, 70.0, 82.0, 96.0, 110.0, 130.0, 150.0), (3.0, 17.6),
     0.005, 0.005625, True, 0.165, 0.165, (16, 32, 52, 78), 14, (40, 68)),
    (13, (12, 14), (26.0, 36.0, 50.0, 66.0), 108.4, (122.0, 150.0, 180.0, 215.0, 255.0, 295.0), (24.0, 70.0),
     0.008, 0.12, False, 0.225, 0.275, (40, 56, 78, 102), 21, (54, 56, 60)),
    (17, (16, 18), (82.0, 102.0), 108.4, (122.0, 150.0, 180.0, 215.0, 255.0, 295.0), (75.0, 102.0),
     0.012, 1.08, False, 0.285, 0.385, (120, 152), 21, (48, 50)),
)  # fmt: skip


@functools.lru_cache(maxsize=1)
def trackml_detector() -> Detector:
    """The TrackML-like detector (built once)."""
    layers = []
    for vol, (
        neg,
        pos,
    ), radii, half_z, disks, r_range, pu, pv, pixel, t_b, t_d, nphi_b, nz, nphi_d in _SUBDETECTORS:
        for i, z in enumerate(sorted(disks, reverse=True)):  # −z: layer 2 is the farthest disk
            layers.append(
                Layer(
                    neg, 2 * (i + 1), False, -z, r_range, pu, pv, pixel, t_d / X0_SILICON, nphi_d, len(nphi_d)
                )
            )
        for i, r in enumerate(radii):
            layers.append(
                Layer(
                    vol,
                    2 * (i + 1),
                    True,
                    r,
                    (-half_z, half_z),
                    pu,
                    pv,
                    pixel,
                    t_b / X0_SILICON,
                    (nphi_b[i],),
                    nz,
                )
            )
        for i, z in enumerate(sorted(disks)):
            layers.append(
                Layer(
                    pos, 2 * (i + 1), False, z, r_range, pu, pv, pixel, t_d / X0_SILICON, nphi_d, len(nphi_d)
                )
            )
    passive = ((1.9, Z_MAX, 0.08 / X0_BERYLLIUM), (20.0, 280.0, 0.18 / X0_BERYLLIUM))
    return Detector(tuple(layers), passive, R_MAX, Z_MAX)

"""Materials of the calorimeters: the PDG properties a shower parametrisation needs, and the effective
properties of a sampling structure (a layer made of several materials) as GFlash computes them.

Values from the PDG tables of atomic and nuclear properties (density, radiation length X0 and nuclear
interaction length λ_I in g/cm², minimum ionisation dE/dx in MeV cm²/g). ``G10`` (also used for PCB)
is the PDG's G10 glass-epoxy. The active media carry the Landau shape of a MIP's deposit: most probable
over mean loss (``landau_mpv``) and the width of the Moyal approximation over the most probable value
(``landau_width``), for the thicknesses the calorimeters use (0.3-0.5 mm silicon, 3 mm scintillator).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

#: Scale energy of multiple scattering (MeV), in the Molière radius R_M = X0 E_s / E_c.
E_S = 21.2


@dataclass(frozen=True)
class Material:
    """PDG properties of one material (lengths in g/cm², dE/dx in MeV cm²/g)."""

    density: float
    x0: float
    lambda_i: float
    z: float
    a: float
    dedx: float
    landau_mpv: float = 1.0
    landau_width: float = 0.0

    @property
    def critical_energy(self) -> float:
        """Critical energy (MeV), GFlash's fit E_c = 2.66 (X0 Z / A)^1.1."""
        return 2.66 * (self.x0 * self.z / self.a) ** 1.1


MATERIALS: dict[str, Material] = {
    "W": Material(density=19.30, x0=6.76, lambda_i=191.9, z=74, a=183.84, dedx=1.145),
    "Pb": Material(density=11.35, x0=6.37, lambda_i=199.6, z=82, a=207.2, dedx=1.122),
    "Cu": Material(density=8.96, x0=12.86, lambda_i=137.3, z=29, a=63.546, dedx=1.403),
    "Fe": Material(density=7.874, x0=13.84, lambda_i=132.1, z=26, a=55.845, dedx=1.451),
    "G10": Material(density=1.70, x0=33.0, lambda_i=90.2, z=10.0, a=20.0, dedx=1.87),
    "Si": Material(
        density=2.329,
        x0=21.82,
        lambda_i=108.4,
        z=14,
        a=28.0855,
        dedx=1.664,
        landau_mpv=0.74,
        landau_width=0.1,
    ),
    "polystyrene": Material(
        density=1.06, x0=43.79, lambda_i=77.07, z=5.6, a=10.4, dedx=2.052, landau_mpv=0.85, landau_width=0.15
    ),
}


def material(name: str, where: str) -> Material:
    """The material called ``name``; a ``ValueError`` names the config entry and the known materials."""
    if name not in MATERIALS:
        raise ValueError(f"{where}: unknown material {name!r}; known: {sorted(MATERIALS)}")
    return MATERIALS[name]


@dataclass(frozen=True)
class Sampling:
    """Effective properties of one sampling layer (absorber + active medium), per layer of that kind.

    ``x0`` and ``lambda_i`` are the layer's depth in radiation and interaction lengths; ``moliere`` the
    Molière radius (mm) of the structure spread over the layer pitch; ``z_eff``, ``ec_eff`` (GeV) and
    ``fs`` (samplings per radiation length, GFlash's X0_eff / (d_active + d_passive)) enter GFlash's sampling
    corrections, ``ehat`` (e/mip = 1 / (1 + 0.007 (Z_passive − Z_active))) its corrections and the EM
    sampling fraction ``f_em = ehat · f_mip``. ``mip_loss`` is a MIP's loss in the whole layer (MeV),
    ``mip_visible`` the most probable MIP signal in the active medium (GeV).
    """

    x0: float
    lambda_i: float
    moliere: float
    lambda_length: float
    z_eff: float
    ec_eff: float
    fs: float
    ehat: float
    f_mip: float
    f_em: float
    mip_loss: float
    mip_visible: float
    landau_width: float


def sampling(
    absorber: Mapping[str, float], active: Mapping[str, float], pitch: float, where: str
) -> Sampling:
    """Effective properties of a layer of ``absorber`` and ``active`` materials (name → thickness in mm)
    repeated every ``pitch`` mm (air and gaps fill the rest)."""
    if len(active) != 1:
        raise ValueError(f"{where}.active: one active material expected, got {dict(active)}")
    slices = [(material(k, where), float(v), False) for k, v in absorber.items()]
    slices += [(material(k, where), float(v), True) for k, v in active.items()]
    if min(d for _, d, _ in slices) < 0:
        raise ValueError(f"{where}: negative thickness in {dict(absorber)} / {dict(active)}")
    thickness = sum(d for _, d, _ in slices)
    if thickness > pitch + 1e-9:
        raise ValueError(f"{where}: materials are {thickness:.2f} mm thick, more than the pitch {pitch} mm")
    mass = np.array([m.density * d / 10.0 for m, d, _ in slices])  # g/cm²
    w = mass / mass.sum()
    x0_depth = sum(m.density * d / 10.0 / m.x0 for m, d, _ in slices)
    lambda_depth = sum(m.density * d / 10.0 / m.lambda_i for m, d, _ in slices)
    x0_gcm2 = 1.0 / sum(wi / m.x0 for wi, (m, _, _) in zip(w, slices, strict=True))
    ec_over_x0 = sum(wi * m.critical_energy / m.x0 for wi, (m, _, _) in zip(w, slices, strict=True))
    rho = mass.sum() / (pitch / 10.0)  # g/cm³ over the pitch
    losses = [m.dedx * m.density * d / 10.0 for m, d, _ in slices]  # MeV
    active_m, active_d = next((m, d) for m, d, a in slices if a)
    passive = [(wi, m) for wi, (m, _, a) in zip(w, slices, strict=True) if not a]
    z_passive = sum(wi * m.z for wi, m in passive) / max(sum(wi for wi, _ in passive), 1e-12)
    ehat = 1.0 / (1.0 + 0.007 * (z_passive - active_m.z))
    mip_active = active_m.dedx * active_m.density * active_d / 10.0
    f_mip = mip_active / sum(losses)
    return Sampling(
        x0=x0_depth,
        lambda_i=lambda_depth,
        moliere=E_S / ec_over_x0 / rho * 10.0,
        lambda_length=pitch / lambda_depth,
        z_eff=float(np.dot(w, [m.z for m, _, _ in slices])),
        ec_eff=x0_gcm2 * ec_over_x0 / 1000.0,
        fs=1.0 / x0_depth,
        ehat=ehat,
        f_mip=f_mip,
        f_em=ehat * f_mip,
        mip_loss=sum(losses),
        mip_visible=active_m.landau_mpv * mip_active / 1000.0,
        landau_width=active_m.landau_width,
    )

"""Mean ionisation energy loss in silicon: the Bethe formula with Sternheimer's density effect (PDG review,
"Passage of particles through matter"; silicon constants of the PDG atomic and nuclear properties tables)."""

from __future__ import annotations

import numpy as np

K_BETHE = 0.307075  # MeV mol⁻¹ cm²
ELECTRON_MASS = 0.51099895e-3  # GeV
SILICON_Z_OVER_A = 0.49848
SILICON_DENSITY = 2.329  # g/cm³
SILICON_I = 173.0e-9  # mean excitation energy (GeV)
# Sternheimer density-effect parameters of silicon: C̄, x0, x1, a, k, δ0
STERNHEIMER = (4.4355, 0.2014, 2.8715, 0.14921, 3.2546, 0.14)


def _density_effect(x: np.ndarray) -> np.ndarray:
    """δ(βγ) with x = log10(βγ)."""
    c_bar, x0, x1, a, k, delta0 = STERNHEIMER
    two_ln10 = 2.0 * np.log(10.0)
    high = two_ln10 * x - c_bar
    middle = high + a * np.clip(x1 - x, 0.0, None) ** k
    low = delta0 * 10.0 ** (2.0 * (x - x0))
    return np.where(x >= x1, high, np.where(x >= x0, middle, low))


def silicon_dedx(beta_gamma: np.ndarray, mass: np.ndarray) -> np.ndarray:
    """Mean dE/dx (GeV/mm) in silicon of unit-charge particles of ``mass`` (GeV) at ``beta_gamma``; a
    minimum-ionising particle loses 3.9e-4 GeV/mm. βγ is clipped at 0.05, below the formula's validity."""
    bg = np.clip(np.asarray(beta_gamma, dtype=np.float64), 0.05, None)
    beta2 = bg**2 / (1.0 + bg**2)
    gamma = np.sqrt(1.0 + bg**2)
    ratio = ELECTRON_MASS / np.asarray(mass, dtype=np.float64)
    t_max = 2.0 * ELECTRON_MASS * bg**2 / (1.0 + 2.0 * gamma * ratio + ratio**2)
    log_term = 0.5 * np.log(2.0 * ELECTRON_MASS * bg**2 * t_max / SILICON_I**2)
    mev_per_cm = (
        K_BETHE * SILICON_Z_OVER_A * SILICON_DENSITY / beta2
        * (log_term - beta2 - 0.5 * _density_effect(np.log10(bg)))
    )  # fmt: skip
    return mev_per_cm * 1e-4  # MeV/cm → GeV/mm

"""Shower parametrisations: where the energy of an electromagnetic or hadronic shower goes, as energy
spots at a depth along the shower axis and a radius around it.

**Electromagnetic** (Grindhammer & Peters, hep-ex/0001020, as GFlash implements it for sampling
calorimeters): the longitudinal profile is a Gamma distribution in depth t (X0) with shower maximum T
and shape α, whose logarithms fluctuate shower by shower as correlated Gaussians with means, widths and
correlation depending on ln y (y = E / E_c) and corrected for the sampling frequency F_s and e/mip ê.
The radial profile at relative depth τ = t / T is a core and a tail,
f(r) = p 2 r R_C² / (r² + R_C²)² + (1 − p) 2 r R_T² / (r² + R_T²)², in Molière radii. The energy is
carried by N = 10.3 / c_s · E^0.959 spots (c_s the stochastic term), which gives the lateral
fluctuations; the spots' depths are drawn from the shower's own energy profile.

**Hadronic**: the shower starts at an exponentially distributed depth (in λ_I); a fraction f_em of its
energy (mean 1 − (E/E0)^(m−1), PDG review of calorimetry; Beta-distributed shower by shower) goes into
π⁰ sub-showers with the electromagnetic profile from the interaction point, the rest into a hadronic
component: a Gamma distribution in λ_I with its maximum at 0.2 ln(E/GeV) + 0.7 λ and a tail falling as
exp(−t / λ_att), λ_att = λ (E/GeV)^0.13 (Fabjan & Gianotti), with log-normal shower-by-shower
fluctuations, and a wider core + tail radial profile in λ_I.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# GFlash homogeneous and sampling parameters (hep-ex/0001020; Geant4 GFlash tunings)
_T_HOM, _A_HOM = -0.812, (0.81, 0.458, 2.26)
_T_SAMP, _A_SAMP = (-0.55, -0.69), -0.476
_SIG_LNT, _SIG_LNA, _RHO = (-2.5, 1.25), (-0.82, 0.79), (0.784, -0.023)
_RC, _RC_SAMP = (0.0251, 0.00319, 0.1162, -0.000381), (-0.0203, 0.0397)
_RT, _RT_SAMP = (0.659, -0.00309, 0.645, -2.59, 0.3585, 0.0412), (-0.14, -0.495)
_WC, _WC_SAMP = (2.632, -0.00094, 0.401, 0.00187, 1.313, -0.0686), (0.348, -0.642)
_SPOTS = (10.3, 0.959)
#: mean photon conversion depth (X0)
CONVERSION_DEPTH = 9.0 / 7.0

# hadronic showers
#: <f_em> = 1 − (E / E0)^(m − 1): E0 for mesons and for baryons (GeV), m
FEM_E0_MESON, FEM_E0_BARYON, FEM_M = 1.0, 2.6, 0.85
#: shower-by-shower spread of f_em (standard deviation of its Beta distribution)
FEM_SIGMA = 0.12
#: hadronic maximum t_max = a + b ln(E/GeV) (λ) and attenuation λ_att = (E/GeV)^c (λ)
HAD_TMAX, HAD_ATT = (0.7, 0.2), 0.13
#: log-normal fluctuation of the hadronic t_max and λ_att, shower by shower
HAD_SIGMA_LN = 0.2
#: hadronic radial profile: core and tail radii (λ) and the core's weight
HAD_R_CORE, HAD_R_TAIL, HAD_P_CORE = 0.08, 0.3, 0.55
#: hadronic sampling fluctuations relative to electromagnetic ones (Wigmans)
HAD_SAMPLING = 2.0
#: intrinsic fluctuation of the visible hadronic energy (sqrt GeV): nuclear binding energy lost unseen
HAD_INTRINSIC = 0.3
#: π⁰ sub-showers: each carries at most this fraction of the EM energy; they start a mean 0.3 λ deep
SUBSHOWER_FRACTION, SUBSHOWER_DEPTH = 0.35, 0.3


@dataclass(frozen=True)
class Spots:
    """Energy spots of a set of showers: the shower each belongs to, its depth along the axis (X0 for
    electromagnetic, λ_I for hadronic spots, from the calorimeter front), its distance from the axis
    (Molière radii for electromagnetic, λ_I for hadronic spots) and its energy (GeV)."""

    shower: np.ndarray
    depth: np.ndarray
    radius: np.ndarray
    energy: np.ndarray


def _rep(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return np.repeat(values, counts)


def em_profile(
    energy: np.ndarray, *, z_eff: float, ec_eff: float, fs: float, ehat: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Fluctuated (T, α) of electromagnetic showers of ``energy`` GeV in a sampling calorimeter."""
    ln_y = np.log(np.maximum(energy / ec_eff, 3.0))
    mean_t = np.maximum(ln_y + _T_HOM, 0.1)
    mean_a = np.maximum(_A_HOM[0] + (_A_HOM[1] + _A_HOM[2] / z_eff) * ln_y, 0.1)
    ln_t = np.log(np.maximum(mean_t + _T_SAMP[0] / fs + _T_SAMP[1] * (1.0 - ehat), 0.3))
    ln_a = np.log(np.maximum(mean_a + _A_SAMP / fs, 1.2))

    def _sigma(a: float, b: float) -> np.ndarray:
        den = a + b * ln_y
        return np.where(den > 2.0, 1.0 / np.maximum(den, 2.0), 0.5)

    rho = np.clip(_RHO[0] + _RHO[1] * ln_y, -1.0, 1.0)
    z1, z2 = rng.standard_normal((2, len(energy)))
    c1, c2 = np.sqrt((1.0 + rho) / 2.0), np.sqrt((1.0 - rho) / 2.0)
    t_max = np.maximum(np.exp(ln_t + _sigma(*_SIG_LNT) * (c1 * z1 + c2 * z2)), 1.0)
    alpha = np.maximum(np.exp(ln_a + _sigma(*_SIG_LNA) * (c1 * z1 - c2 * z2)), 1.1)
    return t_max, alpha


def em_radius(
    tau: np.ndarray, energy: np.ndarray, *, z_eff: float, fs: float, ehat: float, rng: np.random.Generator
) -> np.ndarray:
    """Radii (Molière radii) of spots at relative depth ``tau`` of showers of ``energy`` GeV."""
    ln_e = np.log(np.maximum(energy, 1e-3))
    r_core = _RC[0] + _RC[1] * ln_e + (_RC[2] + _RC[3] * z_eff) * tau
    r_core += _RC_SAMP[0] * (1.0 - ehat) + _RC_SAMP[1] / fs * np.exp(-tau)
    p2, p3 = _WC[2] + _WC[3] * z_eff, _WC[4] + _WC[5] * ln_e
    weight = (_WC[0] + _WC[1] * z_eff) * np.exp((p2 - tau) / p3 - np.exp((p2 - tau) / p3))
    weight += (1.0 - ehat) * (_WC_SAMP[0] + _WC_SAMP[1] / fs * np.exp(-((tau - 1.0) ** 2)))
    k4 = _RT[4] + _RT[5] * ln_e
    r_tail = (_RT[0] + _RT[1] * z_eff) * (np.exp(_RT[3] * (tau - _RT[2])) + np.exp(k4 * (tau - _RT[2])))
    r_tail += (1.0 - ehat) * _RT_SAMP[0] + _RT_SAMP[1] / fs * np.exp(-tau)
    core = rng.random(len(tau)) < np.clip(weight, 0.0, 1.0)
    scale = np.maximum(np.where(core, r_core, r_tail), 0.01)
    u = rng.random(len(tau))
    return scale * np.sqrt(u / (1.0 - u))


def em_spots(
    energy: np.ndarray,
    start: np.ndarray,
    *,
    z_eff: float,
    ec_eff: float,
    fs: float,
    ehat: float,
    stochastic: float,
    rng: np.random.Generator,
) -> Spots:
    """Spots of electromagnetic showers of ``energy`` GeV starting at depth ``start`` (X0); radii in
    Molière radii (the caller scales them by the local R_M)."""
    t_max, alpha = em_profile(energy, z_eff=z_eff, ec_eff=ec_eff, fs=fs, ehat=ehat, rng=rng)
    counts = np.maximum(np.rint(_SPOTS[0] / stochastic * energy ** _SPOTS[1]), 1).astype(np.int64)
    shower = np.repeat(np.arange(len(energy)), counts)
    a, beta = _rep(alpha, counts), _rep((alpha - 1.0) / t_max, counts)
    t = rng.gamma(a) / beta
    radius = em_radius(t / _rep(t_max, counts), _rep(energy, counts), z_eff=z_eff, fs=fs, ehat=ehat, rng=rng)
    return Spots(
        shower=shower, depth=_rep(start, counts) + t, radius=radius, energy=_rep(energy / counts, counts)
    )


def em_fraction(energy: np.ndarray, baryon: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Fluctuated fraction of hadronic showers' energy that goes into π⁰ sub-showers."""
    e0 = np.where(baryon, FEM_E0_BARYON, FEM_E0_MESON)
    mean = np.clip(1.0 - np.maximum(energy / e0, 1.0) ** (FEM_M - 1.0), 0.02, 0.95)
    var = np.minimum(FEM_SIGMA**2, 0.9 * mean * (1.0 - mean))
    k = mean * (1.0 - mean) / var - 1.0
    return rng.beta(mean * k, (1.0 - mean) * k)


def hadronic_spots(
    energy: np.ndarray, start: np.ndarray, *, stochastic: float, rng: np.random.Generator
) -> Spots:
    """Spots of the hadronic components (``energy`` GeV) of showers starting at depth ``start`` (λ_I);
    radii in λ_I (the caller scales them by the local interaction length)."""
    e = np.maximum(energy, 0.05)
    z1, z2 = rng.standard_normal((2, len(energy)))
    t_max = (HAD_TMAX[0] + HAD_TMAX[1] * np.log(np.maximum(e, 1.0))) * np.exp(HAD_SIGMA_LN * z1)
    att = e**HAD_ATT * np.exp(HAD_SIGMA_LN * z2)
    beta = 1.0 / att
    alpha = 1.0 + beta * t_max
    density = _SPOTS[0] / (HAD_SAMPLING * stochastic)
    counts = np.maximum(np.rint(density * e ** _SPOTS[1]), 1).astype(np.int64)
    shower = np.repeat(np.arange(len(energy)), counts)
    depth = _rep(start, counts) + rng.gamma(_rep(alpha, counts)) / _rep(beta, counts)
    core = rng.random(len(shower)) < HAD_P_CORE
    u = rng.random(len(shower))
    radius = np.where(core, HAD_R_CORE, HAD_R_TAIL) * np.sqrt(u / (1.0 - u))
    return Spots(shower=shower, depth=depth, radius=radius, energy=_rep(energy / counts, counts))

"""Asserts the particle gun: same seed → same particles, energies and directions inside the configured
ranges (fixed values exactly), close-by particles within ΔR of the first, mirrored η on both sides, and a
named error for every bad setting."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from src.sim.generators import EventGenerator
from src.sim.generators.gun import ParticleGun

BASE: dict[str, Any] = {
    "pdg": [22],
    "n_particles": 1,
    "energy": [1.0, 100.0],
    "energy_sampling": "log_uniform",
    "eta": [-1.0, 1.0],
    "phi": [-3.14, 3.14],
    "mirror_eta": False,
    "delta_r": None,
    "vertex": [0.0, 0.0, 0.0],
}


def _gun(**changes: Any) -> ParticleGun:
    return ParticleGun(**(BASE | changes))


def _eta_phi(gen: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    pt = np.hypot(gen["gen_px"], gen["gen_py"])
    return np.arcsinh(gen["gen_pz"] / pt), np.arctan2(gen["gen_py"], gen["gen_px"])


def test_gun_is_an_event_generator_and_deterministic() -> None:
    gun = _gun(pdg=[211, -211, 130], n_particles=5)
    assert isinstance(gun, EventGenerator)
    a, b, c = gun(7), gun(7), gun(8)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["gen_energy"], c["gen_energy"])
    assert set(a["gen_pdg"]) <= {211, -211, 130}
    assert (
        (a["gen_status"] == 1).all() and (a["gen_parent"] == -1).all() and (a["gen_calo_entry"] == -1).all()
    )


def test_fixed_energy_and_direction_are_exact() -> None:
    gen = _gun(pdg=[211], energy=12.5, eta=0.7, phi=-2.0, n_particles=3)(0)
    np.testing.assert_allclose(gen["gen_energy"], 12.5)
    eta, phi = _eta_phi(gen)
    np.testing.assert_allclose(eta, 0.7)
    np.testing.assert_allclose(phi, -2.0)
    mass = 0.13957
    np.testing.assert_allclose(gen["gen_mass"], mass, rtol=1e-4)


@pytest.mark.parametrize("sampling", ["uniform", "log_uniform"])
def test_energy_ranges(sampling: str) -> None:
    gen = _gun(energy=[2.0, 50.0], energy_sampling=sampling, n_particles=4000)(1)
    e = gen["gen_energy"]
    assert e.min() >= 2.0 and e.max() <= 50.0
    # log-uniform puts half the particles below the geometric mean, uniform below the arithmetic one
    median = np.median(e)
    expected = np.sqrt(2.0 * 50.0) if sampling == "log_uniform" else 26.0
    assert abs(median - expected) < 0.05 * expected


def test_close_by_particles_lie_within_delta_r() -> None:
    gen = _gun(n_particles=6, delta_r=0.05, eta=[1.7, 2.7], mirror_eta=True)(3)
    eta, phi = _eta_phi(gen)
    dphi = np.mod(phi[1:] - phi[0] + np.pi, 2 * np.pi) - np.pi
    assert (np.hypot(eta[1:] - eta[0], dphi) <= 0.05 + 1e-9).all()
    assert (np.sign(eta) == np.sign(eta[0])).all()  # close-by particles flip to the other side together


def test_mirror_eta_fills_both_sides() -> None:
    eta, _ = _eta_phi(_gun(eta=[1.5, 3.0], mirror_eta=True, n_particles=200)(2))
    assert (np.abs(eta) >= 1.5).all() and (eta > 0).any() and (eta < 0).any()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"pdg": []}, "generator.pdg"),
        ({"pdg": [999999]}, "PDG id 999999"),
        ({"n_particles": 0}, "generator.n_particles"),
        ({"energy_sampling": "gauss"}, "generator.energy_sampling"),
        ({"energy": [5.0, 1.0]}, "generator.energy"),
        ({"pdg": [2112], "energy": 0.5}, "not above the mass"),
        ({"delta_r": -1.0}, "generator.delta_r"),
        ({"vertex": [0.0, 0.0]}, "generator.vertex"),
    ],
)
def test_bad_settings_are_named(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _gun(**changes)

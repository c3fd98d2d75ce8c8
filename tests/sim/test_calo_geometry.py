"""Asserts the calorimeter geometry: depths of the CLIC-like and HGCAL-like stacks as published (X0, λ_I),
layer positions, straight and helical paths to the entrance surfaces, unique cell ids, and a named error
for every bad block of a detector config."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from src.sim.calo.cells import assign_cells
from src.sim.calo.geometry import build_region
from src.sim.calo.propagation import BARREL, ENDCAP, MISSED, propagate
from src.sim.generators import particle_table
from tests.sim.test_calo import detector

ECAL: dict[str, Any] = {
    "subdetector": "ecal_barrel",
    "layers": 40,
    "front": 1500.0,
    "pitch": 5.05,
    "half_length": 2210.0,
    "absorber": {"W": 1.9, "G10": 2.3},
    "active": {"Si": 0.5},
    "cell": 5.1,
    "sampling_coefficient": 0.063,
    "h_over_e": 0.7,
    "noise_mip": 0.07,
    "threshold_mip": 0.35,
}


def test_stacks_have_their_published_depths() -> None:
    clic, hgcal = detector("clic"), detector("hgcal")
    ecal_layers = clic.barrel.inner == 0
    assert 21.5 < clic.barrel.x0[ecal_layers][-1] < 23.0  # CLICdet ECAL: ~22 X0
    hcal_lambda = clic.barrel.lam[-1] - clic.barrel.lam[ecal_layers][-1]
    assert 7.0 < hcal_lambda < 8.0  # CLICdet HCAL: ~7.5 λ_I
    ce_e = hgcal.endcap.layer_in_subdetector[:26]
    assert list(ce_e) == list(range(26)) and 25.0 < hgcal.endcap.x0[25] < 29.0  # CE-E: ~27.7 X0
    assert 9.5 < hgcal.endcap.lam[-1] < 11.0  # HGCAL: ~10 λ_I in all
    assert hgcal.endcap.n_layers == 47 and clic.endcap.n_layers == 100
    np.testing.assert_allclose(clic.barrel.position[0], 1500.0 + 4.2 + 0.25)
    assert clic.barrel.position[40] > 1740.0  # the HCAL starts behind the ECAL


def test_paths_to_the_entrance() -> None:
    det = detector("clic")
    eta = np.array([0.0, 1.8, 0.0, 0.0])
    pt = np.array([10.0, 10.0, 0.5, 1e-3])
    gen = particle_table([22, 22, 211, 22], pt, 0.0, pt * np.sinh(eta))
    surfaces = {"barrel": det.barrel.entrance(), "endcap": det.endcap.entrance()}
    entry = propagate(gen, np.arange(4), b_field=4.0, **surfaces)
    assert list(entry.region) == [BARREL, ENDCAP, MISSED, BARREL]
    np.testing.assert_allclose(entry.position[0], [1500.0, 0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(entry.position[1, 2], 2307.0)
    np.testing.assert_allclose(entry.position[1, 0], 2307.0 / np.sinh(1.8), rtol=1e-9)
    np.testing.assert_allclose(entry.time[0], 1500.0 / 299.792458, rtol=1e-9)


def test_cell_ids_are_unique_and_centres_near_the_deposits() -> None:
    region = detector("hgcal").endcap
    rng = np.random.default_rng(0)
    n = 20000
    layer = rng.integers(0, region.n_layers, n)
    r = rng.uniform(400.0, 2000.0, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    z = np.where(rng.random(n) < 0.5, -1.0, 1.0) * region.position[layer]
    inside, readout, ids, centre = assign_cells(region, layer, r * np.cos(phi), r * np.sin(phi), z)
    assert (readout[(r > 1500.0) & (layer >= 26) & (layer < 33)] != region.inner[layer[0]]).any()
    key = np.stack([centre[:, 0].round(3), centre[:, 1].round(3), centre[:, 2].round(3)], axis=1)
    _, by_id = np.unique(ids, return_inverse=True)
    _, by_centre = np.unique(key, axis=0, return_inverse=True)
    assert len(np.unique(by_id)) == len(np.unique(by_centre.ravel()))  # one id per cell centre
    distance = np.hypot(centre[:, 0] - r * np.cos(phi), centre[:, 1] - r * np.sin(phi))
    assert distance[inside].max() < 0.05 * 2000.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, r"unknown key\(s\) \['colour'\]"),
        ({"pitch": -1.0}, "needs layers >= 1, pitch > 0"),
        ({"absorber": {"Unobtainium": 1.0}}, "unknown material 'Unobtainium'"),
        ({"absorber": {"W": 9.0}}, "more than the pitch"),
        ({"subdetector": "tracker"}, "subdetector: 'tracker' is not one of"),
        ({"tiles": 288}, "exactly one of cell"),
        ({"active": {"Si": 0.5, "polystyrene": 3.0}}, "one active material"),
    ],
)
def test_bad_blocks_are_named(change: dict[str, Any], message: str) -> None:
    block = copy.deepcopy(ECAL) | change
    with pytest.raises(ValueError, match=message):
        build_region([block], barrel=True, where="detector=test.barrel")


def test_missing_keys_and_overlapping_blocks_are_named() -> None:
    block = {k: v for k, v in ECAL.items() if k != "half_length"}
    with pytest.raises(ValueError, match=r"detector=test.barrel\[0\]: missing key\(s\) \['half_length'\]"):
        build_region([block], barrel=True, where="detector=test.barrel")
    with pytest.raises(ValueError, match="blocks overlap"):
        build_region([ECAL, ECAL | {"front": 1550.0}], barrel=True, where="detector=test.barrel")

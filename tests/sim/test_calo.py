"""Asserts the calorimeter simulation's physics: hit energies (deposits / sampling fraction) add up to
the particle energy within the resolution, neutrinos leave nothing, a muon leaves one MIP hit in every
layer, the same seed gives the same event, charged particles bend by the angle their helix predicts,
nearby showers share cells, sampling fractions match the CLIC calibration constants, photons at the
energies of the real CLIC file give that file's hit counts and energy sums, and cells fire on noise alone
at the rate of the Gaussian tail above threshold; the per-subdetector MIP signal and noise the clustering
gets are those of the first layer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from src.event_model import CALO_HITS, GEN_PARTICLES, SUBDETECTORS
from src.sim.calo.digitise import noise_sources
from src.sim.calo.simulate import CaloSimulator
from src.sim.generators.gun import ParticleGun

CONF = Path(__file__).resolve().parents[2] / "conf"
CURVATURE_PER_MM = 0.299792458e-3


def detector(name: str, **changes: Any) -> CaloSimulator:
    """The detector of ``conf/detector/<name>.yaml`` with top-level ``changes``."""
    cfg = yaml.safe_load((CONF / "detector" / f"{name}.yaml").read_text())
    cfg = {k: v for k, v in cfg.items() if k not in ("defaults", "_target_")}
    return CaloSimulator(**(cfg | changes))


def quiet(name: str, **block_changes: Any) -> CaloSimulator:
    """The detector without noise (no noise hits, no noise on cells), blocks updated by ``block_changes``."""
    cfg = yaml.safe_load((CONF / "detector" / f"{name}.yaml").read_text())
    for region in ("barrel", "endcap"):
        for block in cfg[region] or []:
            block.update({"noise_mip": 0.0} | block_changes)
    cfg = {k: v for k, v in cfg.items() if k not in ("defaults", "_target_")}
    return CaloSimulator(**(cfg | {"noise_hits": False}))


def gun(pdg: int, energy: float, eta: float, phi: float = 0.3, **more: Any) -> ParticleGun:
    kw = {"n_particles": 1, "energy_sampling": "uniform", "mirror_eta": False, "delta_r": None}
    return ParticleGun(
        **(kw | {"pdg": [pdg], "energy": energy, "eta": eta, "phi": phi, "vertex": [0.0] * 3} | more)
    )


def event(det: CaloSimulator, g: ParticleGun, seed: int) -> dict[str, np.ndarray]:
    return det(g(seed), seed)


def test_event_has_exactly_the_event_model_keys_and_a_consistent_truth() -> None:
    ev = event(detector("clic"), gun(211, 20.0, 0.4, n_particles=3, delta_r=0.3), 1)
    assert set(ev) == set(GEN_PARTICLES.fields) | set(CALO_HITS.fields)
    n = len(ev["hit_cell"])
    ptr = ev["hit_contrib_ptr"]
    assert len(ptr) == n + 1 and ptr[0] == 0 and ptr[-1] == len(ev["hit_contrib_particle"])
    assert (np.diff(ptr) >= 0).all() and (np.diff(ev["hit_cell"]) > 0).all()  # unique cells, sorted
    assert ((ev["hit_contrib_particle"] >= 0) & (ev["hit_contrib_particle"] < 3)).all()
    for i in np.flatnonzero(np.diff(ptr) > 0)[:50]:
        part, energy = (
            ev["hit_contrib_particle"][ptr[i] : ptr[i + 1]],
            ev["hit_contrib_energy"][ptr[i] : ptr[i + 1]],
        )
        assert ev["hit_particle"][i] == part[np.argmax(energy)]
    assert (ev["hit_particle"][np.diff(ptr) == 0] == -1).all()  # noise hits
    assert set(ev["gen_calo_entry"]) == {0, 1, 2}
    assert ev["hit_energy"].dtype == np.float32 and ev["hit_subdetector"].dtype == np.int8


def test_same_seed_same_event() -> None:
    det, g = detector("clic"), gun(130, 30.0, 1.2)
    a, b, c = event(det, g, 5), event(det, g, 5), event(det, g, 6)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["hit_cell"], c["hit_cell"])


@pytest.mark.parametrize(
    ("name", "pdg", "eta", "resolution"), [("clic", 11, 0.3, 0.17), ("hgcal", 22, 2.1, 0.25)]
)
def test_energy_over_sampling_fraction_is_the_particle_energy(
    name: str, pdg: int, eta: float, resolution: float
) -> None:
    energy, n = 20.0, 40
    det = quiet(name)
    sums = np.array([event(det, gun(pdg, energy, eta, phi=0.1 * s), s)["hit_energy"].sum() for s in range(n)])
    spread = sums.std() / energy
    assert 0.3 * resolution / np.sqrt(energy) < spread < resolution / np.sqrt(energy)
    assert abs(sums.mean() / energy - 1.0) < 3 * spread / np.sqrt(n) + 0.01


def test_contributions_add_up_to_the_hit_energy_without_noise() -> None:
    ev = event(quiet("clic"), gun(211, 10.0, 0.2), 3)
    per_hit = np.add.reduceat(ev["hit_contrib_energy"], ev["hit_contrib_ptr"][:-1])
    np.testing.assert_allclose(per_hit, ev["hit_energy"], rtol=1e-4)


def test_sampling_fractions_match_the_clic_calibration() -> None:
    det = detector("clic")
    ecal, hcal = (det.barrel.readouts[i].sampling.f_em for i in (0, 1))
    # CLIC digitisation: CalibrECAL = 37.52, CalibrHCALBarrel = 45.99 (its HCAL constant includes the
    # hadronic scale, hence the wider margin)
    assert abs(1 / ecal - 37.52) / 37.52 < 0.05
    assert abs(1 / hcal - 45.99) / 45.99 < 0.15


def test_neutrino_deposits_nothing() -> None:
    ev = event(detector("clic"), gun(14, 50.0, 0.1, n_particles=5, delta_r=0.5), 2)
    assert len(ev["hit_contrib_energy"]) == 0 and (ev["hit_particle"] == -1).all()
    assert (ev["gen_calo_entry"] == -1).all()


MUON_LAYERS = [
    ("clic", 0.3, {"ecal_barrel": 40, "hcal_barrel": 60}),
    ("clic", 1.8, {"ecal_endcap": 40, "hcal_endcap": 60}),
    ("hgcal", 2.3, {"hgcal_ce_e": 26, "hgcal_ce_h_si": 21}),
    ("hgcal", 1.6, {"hgcal_ce_e": 26, "hgcal_ce_h_scint": 21}),
]


@pytest.mark.parametrize(("name", "eta", "layers"), MUON_LAYERS)
def test_muon_leaves_a_mip_in_every_layer(name: str, eta: float, layers: dict[str, int]) -> None:
    det = detector(name)
    ev = event(det, gun(13, 30.0, eta), 4)
    mine = ev["hit_particle"] == 0
    subdet, layer = ev["hit_subdetector"][mine], ev["hit_layer"][mine]
    for sub, count in layers.items():
        code = SUBDETECTORS.index(sub)
        assert sorted(layer[subdet == code]) == list(range(count)), sub
    assert mine.sum() == sum(layers.values())
    # each hit is about one MIP: the most probable signal times the path length through the layer
    in_mips = ev["hit_energy"][mine] / det.mip_energy(subdet, layer)
    path = 1.0 / np.tanh(abs(eta)) if name == "hgcal" or eta > 1 else np.cosh(eta)
    assert 0.9 < np.median(in_mips) / path < 1.4 and (in_mips > 0.3).mean() > 0.95


@pytest.mark.parametrize("charge", [1, -1])
def test_charged_particles_bend_by_their_helix_angle(charge: int) -> None:
    det, pt = detector("clic", noise_hits=False), 1.5
    ev = event(det, gun(211 * charge, float(np.hypot(pt, 0.13957)), 0.0, phi=0.0), 9)
    first = (ev["hit_subdetector"] == 0) & (ev["hit_layer"] == 0) & (ev["hit_particle"] == 0)
    phi = np.arctan2(ev["hit_y"][first], ev["hit_x"][first])
    rho = pt / (CURVATURE_PER_MM * 4.0)
    radius = det.barrel.position[0]
    expected = -charge * np.arcsin(radius / (2 * rho))  # positive particles turn clockwise in B along +z
    assert len(phi) and abs(np.median(phi) - expected) < 0.01
    neutral = event(det, gun(130, 5.0, 0.0, phi=0.0), 9)
    assert abs(np.median(np.arctan2(neutral["hit_y"], neutral["hit_x"])[neutral["hit_particle"] == 0])) < 0.02


def test_loopers_never_reach_the_barrel() -> None:
    ev = event(detector("clic", noise_hits=False), gun(211, 0.5, 0.0), 1)  # 2 ρ = 0.83 m < 1.5 m
    assert len(ev["hit_cell"]) == 0 and ev["gen_calo_entry"][0] == -1


def test_overlapping_showers_share_cells() -> None:
    ev = event(quiet("clic"), gun(22, 10.0, 0.2, n_particles=2, delta_r=0.004), 11)
    shared = np.diff(ev["hit_contrib_ptr"]) == 2
    assert shared.sum() > 20
    per_particle = np.bincount(ev["hit_contrib_particle"], ev["hit_contrib_energy"], minlength=2)
    np.testing.assert_allclose(per_particle, 10.0, rtol=0.2)


# The real CLIC file (clic_gamma_barrel_10events.root, CLIC_o3_v14 full simulation), measured with uproot:
# per event the photon's energy (GeV), η and φ from MCParticlesSkimmed_EDM4hep, the number of
# EB_CaloHits_EDM4hep hits and their energy sum over the photon energy.
CLIC_PHOTONS = np.array([
    (4.094, 0.191, -2.079, 176, 0.947), (2.755, 0.330, -0.138, 108, 1.031), (9.503, 0.298, 1.075, 341, 0.953),
    (7.870, 0.271, -2.665, 267, 0.974), (6.259, 0.197, 2.086, 242, 0.874), (3.691, 0.223, -1.875, 150, 0.924),
    (8.416, 0.046, -2.313, 299, 0.962), (6.584, 0.258, -2.840, 258, 1.057), (5.350, 0.196, 1.638, 235, 0.965),
    (7.667, 0.286, 1.509, 310, 1.061),
])  # fmt: skip


def test_photons_match_the_real_clic_file() -> None:
    det = detector("clic")
    counts, ratios = [], []
    for energy, eta, phi, real_hits, _ in CLIC_PHOTONS:
        for seed in range(3):
            ev = event(det, gun(22, energy, eta, phi), seed)
            signal = (ev["hit_particle"] == 0) & (ev["hit_subdetector"] == SUBDETECTORS.index("ecal_barrel"))
            counts.append(signal.sum() / real_hits)
            ratios.append(ev["hit_energy"][signal].sum() / energy)
    counts, ratios = np.array(counts), np.array(ratios)
    assert (counts > 0.5).all() and (counts < 2.0).all()
    assert abs(np.mean(ratios) - np.mean(CLIC_PHOTONS[:, 4])) < 0.05
    assert np.mean(np.abs(ratios - 1) < 0.1) >= 0.75  # the file: 9 of 10 events within 10%


def test_noise_hits_fire_at_the_rate_of_the_gaussian_tail() -> None:
    det = detector("clic")
    expected = sum(noise_sources(r).expected.sum() for r in (det.barrel, det.endcap))
    counts, ratios = [], []
    for seed in range(20):
        ev = event(det, gun(12, 10.0, 0.0), seed)
        counts.append(len(ev["hit_cell"]))
        ratios.append(ev["hit_energy"] / det.noise_sigma(ev["hit_subdetector"], ev["hit_layer"]))
    assert 10 < expected < 100
    assert abs(np.mean(counts) - expected) < 4 * np.sqrt(expected / len(counts))
    thresholds = {"ecal": 0.35 / 0.07, "hcal": 0.45 / 0.09}  # in noise σ
    assert np.concatenate(ratios).min() >= min(thresholds.values()) - 1e-3


@pytest.mark.requiresdata
def test_the_clic_file_table_is_the_file(shared_data: Path) -> None:
    """The photons and hit numbers above are those the EDM4hep reader finds in the real file."""
    from src.io.edm4hep import read_events

    events = read_events(shared_data / "edm4hep" / "clic_gamma_barrel_10events.root")
    barrel = SUBDETECTORS.index("ecal_barrel")
    for ev, (energy, eta, phi, hits, ratio) in zip(events, CLIC_PHOTONS, strict=True):
        p = np.array([ev["gen_px"][0], ev["gen_py"][0], ev["gen_pz"][0]])
        assert ev["gen_pdg"][0] == 22 and abs(np.linalg.norm(p) - energy) < 2e-3
        assert abs(np.arcsinh(p[2] / np.hypot(p[0], p[1])) - eta) < 2e-3
        assert abs(np.arctan2(p[1], p[0]) - phi) < 2e-3
        in_barrel = ev["hit_subdetector"] == barrel
        assert in_barrel.sum() == hits
        assert abs(ev["hit_energy"][in_barrel].sum() / np.linalg.norm(p) - ratio) < 2e-3


@pytest.mark.parametrize("name", ["clic", "hgcal"])
def test_mip_and_noise_by_subdetector_are_those_of_the_first_layer(name: str) -> None:
    det = detector(name)
    mip, noise = det.mip_by_subdetector(), det.noise_by_subdetector()
    assert set(mip) == set(noise) and len(mip) >= 2
    for sub, value in mip.items():
        code = np.array([SUBDETECTORS.index(sub)])
        assert value == pytest.approx(float(det.mip_energy(code, np.array([0]))[0]))
        # the CLIC digitisation's noise: 0.07 MIP in the ECAL silicon, 0.09 in the HCAL scintillator
        if name == "clic":
            assert noise[sub] / value == pytest.approx(0.07 if sub.startswith("ecal") else 0.09)

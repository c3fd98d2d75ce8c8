"""The TICL chain on events with known showers: the shared-energy score and association by hand, particle
types, trackster properties, the 29 node features, and a clean photon reconstructed as one trackster."""

from __future__ import annotations

import numpy as np
import pytest

from src.event_model import PARTICLE_TYPES, TRACKSTER_FEATURE_NAMES
from src.reco.ticl import TICLConfig, reconstruct
from src.reco.ticl_graph import DENSITY_NORM, F, trackster_features
from src.reco.ticl_objects import trackster_properties
from src.reco.ticl_truth import associate, best_association, particle_type, smeared_probabilities
from tests.reco.hgcal_events import Particle, hgcal_event


def test_association_score_and_shared_energy_by_hand() -> None:
    # trackster 0: hit a (E=2, all particle 0), hit b (E=1, half particle 0, half particle 1)
    # trackster 1: hit c (E=3, particle 1); hit d in no trackster
    hit_trackster = np.array([0, 0, 1, -1])
    energy = np.array([2.0, 1.0, 3.0, 5.0])
    ptr = np.array([0, 1, 3, 4, 5])
    sim = np.array([0, 0, 1, 1, 0])
    fraction = np.array([1.0, 0.5, 0.5, 1.0, 1.0])
    a = associate(hit_trackster, energy, ptr, sim, fraction, n_sim=2, n_tracksters=2)
    assert a["trackster_sim_ptr"].tolist() == [0, 2, 3]
    assert a["trackster_sim_index"].tolist() == [0, 1, 1]
    # S(0, p0) = 2 + 0.5, S(0, p1) = 0.5, S(1, p1) = 3
    np.testing.assert_allclose(a["trackster_sim_shared_energy"], [2.5, 0.5, 3.0])
    # s(0, p0) = (0 * 4 + 0.25 * 1) / 5; s(0, p1) = (1 * 4 + 0.25 * 1) / 5; s(1, p1) = 0
    np.testing.assert_allclose(a["trackster_sim_score"], [0.05, 0.85, 0.0], atol=1e-6)
    best, assoc = best_association(
        *(a[f"trackster_sim_{k}"] for k in ("ptr", "index", "score", "shared_energy")), max_score=0.2
    )
    assert best.tolist() == [0, 1] and assoc.tolist() == [0, 1]
    _, strict = best_association(
        *(a[f"trackster_sim_{k}"] for k in ("ptr", "index", "score", "shared_energy")), max_score=0.01
    )
    assert strict.tolist() == [-1, 1]


def test_particle_types_and_smeared_probabilities() -> None:
    pdg = np.array([22, -11, 13, 111, 211, -2212, 130, 2112])
    charge = np.array([0, 1, -1, 0, 1, -1, 0, 0])
    types = particle_type(pdg, charge)
    assert [PARTICLE_TYPES[t] for t in types] == [
        "photon", "electron", "muon", "neutral_pion",
        "charged_hadron", "charged_hadron", "neutral_hadron", "neutral_hadron",
    ]  # fmt: skip
    p = smeared_probabilities(np.array([0, 4, -1] * 200), 4.0, np.random.default_rng(0))
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(p[2::3], 1 / 6, rtol=1e-6)
    assert (p[0::3].argmax(1) == 0).mean() > 0.9 and (p[1::3].argmax(1) == 4).mean() > 0.9


def test_trackster_pca_of_layer_clusters_on_a_line() -> None:
    z = np.array([3200.0, 3300.0, 3400.0, 3500.0])
    lc = {
        "lc_x": 0.25 * z,
        "lc_y": np.zeros(4),
        "lc_z": z,
        "lc_energy": np.array([1.0, 1.0, 1.0, 1.0]),
        "lc_layer": np.array([0, 10, 27, 30]),
        "lc_time": np.array([10.0, -99.0, 12.0, 14.0]),
    }
    t = trackster_properties(lc, np.zeros(4, dtype=np.int64), em_layers=26)
    axis = np.array([t[f"trackster_eVector0_{c}"][0] for c in "xyz"])
    np.testing.assert_allclose(axis, np.array([0.25, 0.0, 1.0]) / np.hypot(0.25, 1.0), atol=1e-5)
    assert t["trackster_barycenter_z"][0] == pytest.approx(3350.0)
    assert t["trackster_EV2"][0] == pytest.approx(0.0, abs=1e-2) and t["trackster_EV1"][0] > 1e4
    assert t["trackster_raw_energy"][0] == 4.0 and t["trackster_raw_em_energy"][0] == 2.0
    assert t["trackster_time"][0] == pytest.approx(12.0)  # the layer cluster without time is left out


def test_a_clean_photon_is_one_pure_trackster_with_its_features() -> None:
    event, noise = hgcal_event([Particle(22, 50.0, 2.0, 0.5)], seed=3)
    ticl = reconstruct(event, TICLConfig(), noise=noise, seed=0)
    energy = ticl["trackster_raw_energy"]
    main = int(np.argmax(energy))
    assert energy[main] > 0.9 * event["hit_energy"].sum()
    assert ticl["trackster_sim_score"][ticl["trackster_sim_ptr"][main]] < 0.01
    x = trackster_features(ticl)
    assert x.shape == (len(energy), len(TRACKSTER_FEATURE_NAMES)) == (len(energy), 29)
    assert x[main, F["barycenter_eta"]] == pytest.approx(2.0, abs=0.02)
    assert x[main, F["barycenter_phi"]] == pytest.approx(0.5, abs=0.02)
    assert x[main, F["eVector0_z"]] > 0.9  # along the flight direction, away from the vertex
    members = ticl["trackster_lc_index"][ticl["trackster_lc_ptr"][main] : ticl["trackster_lc_ptr"][main + 1]]
    assert x[main, F["num_LCs"]] == len(members)
    assert x[main, F["num_hits"]] == ticl["lc_n_hits"][members].sum()
    assert (
        x[main, F["z_min"]] == ticl["lc_z"][members].min()
        and x[main, F["z_max"]] == ticl["lc_z"][members].max()
    )
    assert x[main, F["LC_density"]] == pytest.approx(len(members) / DENSITY_NORM)
    assert x[main, F["trackster_density"]] == pytest.approx(len(energy) / DENSITY_NORM)
    assert x[main, F["raw_em_energy"]] == pytest.approx(x[main, F["raw_energy"]], rel=0.05)  # all in CE-E


def test_reconstruction_is_deterministic_and_one_endcap_keeps_only_its_hits() -> None:
    particles = [Particle(211, 40.0, 2.2, 1.0), Particle(22, 20.0, -2.0, -1.0, interaction=1)]
    event, noise = hgcal_event(particles, seed=5)
    a = reconstruct(event, TICLConfig(), noise=noise, seed=1)
    b = reconstruct(event, TICLConfig(), noise=noise, seed=1)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    plus = reconstruct(event, TICLConfig(z_sign=1), noise=noise, seed=1)
    assert (plus["trackster_barycenter_z"] > 0).all() and (plus["lc_z"] > 0).all()
    assert (a["trackster_barycenter_z"] < 0).any()
    assert sorted(a["sim_interaction"].tolist()) == [0, 1]

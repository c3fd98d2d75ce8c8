"""The calorimeter hit view: its input columns, what ``with_time`` and ``with_tracks`` add, and the truth
(contributions credited to the particle that entered the calorimeter, noise, targets)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from src.data.calo_view import BASE_FEATURES, C_MM_PER_NS, CaloHitView, calo_truth
from tests.synthetic_calo import blob_event, type_index


def test_default_inputs_are_the_hits_only():
    event = blob_event(3, seed=1, hits_per_particle=5, noise_hits=4)
    data = CaloHitView(with_time=False, with_tracks=False)(event)
    assert data.num_nodes == 19 and bool(data.is_hit.all())
    assert data.x.shape == (19, len(BASE_FEATURES))
    col = {n: i for i, n in enumerate(BASE_FEATURES)}
    np.testing.assert_allclose(data.x[:, col["log_energy"]], np.log(event["hit_energy"].numpy()), rtol=1e-6)
    pos = torch.stack([event["hit_x"], event["hit_y"], event["hit_z"]], 1)
    unit = pos / pos.norm(dim=1, keepdim=True)
    np.testing.assert_allclose(data.x[:, [col["dir_x"], col["dir_y"], col["dir_z"]]], unit, atol=1e-6)
    np.testing.assert_allclose(data.coords[:, 1], torch.atan2(event["hit_y"], event["hit_x"]), atol=1e-6)
    assert data.object_id.tolist() == event["hit_particle"].tolist()


def test_with_time_adds_the_delay_behind_light():
    event = blob_event(2, seed=2, hits_per_particle=4, noise_hits=2)
    plain = CaloHitView(with_time=False, with_tracks=False)
    timed = CaloHitView(with_time=True, with_tracks=False)
    assert timed.feature_names == (*plain.feature_names, "time")
    data = timed(event)
    rho = torch.sqrt(event["hit_x"] ** 2 + event["hit_y"] ** 2 + event["hit_z"] ** 2).double()
    np.testing.assert_allclose(data.x[:, -1], event["hit_time"].double() - rho / C_MM_PER_NS, atol=1e-4)
    np.testing.assert_array_equal(data.x[:, :-1], plain(event).x)
    assert timed.inputs.num_features == plain.inputs.num_features + 1


def test_with_tracks_appends_track_tokens_with_a_flag():
    event = blob_event(6, seed=3, hits_per_particle=4, noise_hits=2)
    n_hits, n_tracks = len(event["hit_energy"]), len(event["track_p"])
    assert n_tracks > 0
    view = CaloHitView(with_time=False, with_tracks=True)
    assert view.feature_names[-2:] == ("is_track", "charge")
    data = view(event)
    assert data.num_nodes == n_hits + n_tracks
    assert data.is_hit.tolist() == [True] * n_hits + [False] * n_tracks
    col = {n: i for i, n in enumerate(view.feature_names)}
    assert data.x[:n_hits, col["is_track"]].eq(0).all() and data.x[n_hits:, col["is_track"]].eq(1).all()
    np.testing.assert_allclose(data.x[n_hits:, col["charge"]], event["track_charge"].float())
    np.testing.assert_allclose(data.x[n_hits:, col["x"]], event["track_calo_x"], rtol=1e-6)
    np.testing.assert_allclose(data.x[n_hits:, col["log_energy"]], np.log(event["track_p"]), rtol=1e-6)
    assert data.object_id[n_hits:].tolist() == event["track_particle"].tolist()
    assert data.x[n_hits:, col["layer"]].eq(-1).all()
    # a track that never reaches the calorimeter (no entry point) is not a token
    event["track_calo_x"][0] = float("nan")
    assert view(event).num_nodes == n_hits + n_tracks - 1


def _add_secondaries(event: dict[str, torch.Tensor], parents: list[int]) -> None:
    """Append gen rows made inside the calorimeter by ``parents`` (their calorimeter entry)."""
    for key in [k for k in event if k.startswith("gen_")]:
        event[key] = torch.cat([event[key], event[key][parents]])
    n = len(event["gen_pdg"])
    event["gen_calo_entry"][n - len(parents) :] = torch.tensor(parents, dtype=torch.int32)


def test_truth_credits_secondaries_to_the_particle_that_entered():
    event = blob_event(2, seed=4, hits_per_particle=2, noise_hits=1)  # hits 0-1: particle 0, 2-3: 1, 4 noise
    _add_secondaries(event, [0, 0])  # gen rows 2 and 3 entered as particle 0
    # hit 2: 0.4 GeV from particle 1, 0.3 + 0.35 from rows 2 and 3 (particle 0 in all: 0.65 > 0.4)
    contrib = {0: [(0, 1.0)], 1: [(0, 2.0)], 2: [(1, 0.4), (2, 0.3), (3, 0.35)], 3: [(1, 1.0)], 4: []}
    event["hit_contrib_ptr"] = torch.tensor(np.cumsum([0] + [len(contrib[h]) for h in range(5)]))
    event["hit_contrib_particle"] = torch.tensor(
        [p for h in range(5) for p, _ in contrib[h]], dtype=torch.int32
    )
    event["hit_contrib_energy"] = torch.tensor([e for h in range(5) for _, e in contrib[h]])
    event["hit_particle"] = torch.tensor([0, 0, 1, 1, -1], dtype=torch.int32)
    truth = calo_truth(event)
    assert truth["hit_object"].tolist() == [0, 0, 0, 1, -1]
    pairs = sorted(zip(truth["contrib_hit"], truth["contrib_object"], truth["contrib_energy"], strict=True))
    assert [(h, o) for h, o, _ in pairs] == [(0, 0), (1, 0), (2, 0), (2, 1), (3, 1)]
    assert [e for _, _, e in pairs] == pytest.approx([1.0, 2.0, 0.65, 0.4, 1.0])
    data = CaloHitView(with_time=False, with_tracks=False)(event)
    assert data.object_id.tolist() == [0, 0, 0, 1, -1]
    deposit0 = 1.0 + 2.0 + 0.65
    expected = np.log(event["gen_energy"][0].item() / deposit0)
    assert data.log_energy_factor[0].item() == pytest.approx(expected, rel=1e-5)
    assert data.gen_deposit[:2].tolist() == pytest.approx([deposit0, 1.4])
    pdg = int(event["gen_pdg"][0])
    assert data.type_id[0].item() == type_index(pdg) and data.type_id[4].item() == -1
    p = torch.stack([event["gen_px"], event["gen_py"], event["gen_pz"]], 1)[0]
    np.testing.assert_allclose(data.direction[0], (p / p.norm()).float(), atol=1e-6)


def test_events_without_contributions_fall_back_to_the_hit_particle():
    event = blob_event(2, seed=5, hits_per_particle=3, noise_hits=2)
    for key in ("hit_contrib_particle", "hit_contrib_energy"):
        event[key] = event[key][:0]
    event["hit_contrib_ptr"] = torch.zeros(1, dtype=torch.int64)
    truth = calo_truth(event)
    assert truth["hit_object"].tolist() == event["hit_particle"].tolist()
    assert len(truth["contrib_hit"]) == 6 and bool(truth["has_truth"][0])
    event["hit_particle"][:] = -1  # a file without any truth (the CLIC photons)
    assert not bool(calo_truth(event)["has_truth"][0])


def test_a_missing_key_names_the_datasets_that_have_it():
    event = blob_event(1, seed=6)
    del event["hit_layer"]
    with pytest.raises(KeyError, match="dataset=sim_calo or dataset=edm4hep"):
        CaloHitView(with_time=False, with_tracks=False)(event)

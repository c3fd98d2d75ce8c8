"""Write → read gives the same calorimeter event: hand-made events with every collection (exactly, but
for the quantities EDM4hep stores in another form), an empty event, events whose hits are not grouped by
subdetector, and the real files themselves; the written tree holds the EDM4hep collections and relations."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from src.io.edm4hep import EVENT_DTYPES, as_event, read_events
from src.io.edm4hep.schema import podio_hash
from src.io.edm4hep.writer import DERIVED_ON_READ, hits_by_subdetector, write_events
from tests.io.edm4hep.conftest import B_FIELD


def assert_same_event(written: dict[str, np.ndarray], read: dict[str, np.ndarray]) -> None:
    """Every key identical in dtype and value (NaN = NaN); DERIVED_ON_READ keys to float32 rounding."""
    assert list(read) == list(EVENT_DTYPES)
    for key, value in written.items():
        assert read[key].dtype == value.dtype, key
        assert read[key].shape == value.shape, key
        if key in DERIVED_ON_READ:
            np.testing.assert_allclose(read[key], value, rtol=DERIVED_ON_READ[key], err_msg=key)
        else:
            assert np.array_equal(read[key], value, equal_nan=True), key


def test_round_trip_of_handmade_events(tmp_path: Path, handmade) -> None:
    events = [handmade(seed) for seed in range(3)]
    path = write_events(tmp_path / "events.root", events, b_field=B_FIELD)
    back = read_events(path)
    assert len(back) == 3
    for written, read in zip(events, back, strict=True):
        assert_same_event(written, read)
    # the exact figures that can fail: truth rows and the particle of each hit, cluster and track
    assert back[0]["hit_contrib_particle"].tolist() == events[0]["hit_contrib_particle"].tolist()
    assert back[1]["track_particle"].tolist() == [2, 3, -1]
    assert back[2]["gen_calo_entry"].tolist() == [0, -1, 2, 3, -1, 5]


def test_an_empty_event_reads_as_an_empty_event(tmp_path: Path, handmade) -> None:
    empty = as_event({k: np.zeros(1 if k == "hit_contrib_ptr" else 0, dt) for k, dt in EVENT_DTYPES.items()})
    events = [handmade(0), empty, handmade(1)]
    back = read_events(write_events(tmp_path / "events.root", events, b_field=B_FIELD))
    assert_same_event(empty, back[1])
    assert back[1]["hit_contrib_ptr"].tolist() == [0]
    assert_same_event(events[2], back[2])
    only_empty = read_events(write_events(tmp_path / "empty.root", [empty]))
    assert_same_event(empty, only_empty[0])


def test_hits_are_stored_grouped_by_subdetector(tmp_path: Path, handmade) -> None:
    event = handmade(4)
    shuffled = np.random.default_rng(0).permutation(len(event["hit_energy"]))
    mixed = dict(event)
    for key in ("hit_cell", "hit_x", "hit_y", "hit_z", "hit_energy", "hit_time", "hit_subdetector"):
        mixed[key] = event[key][shuffled]
    mixed["hit_layer"], mixed["hit_particle"], mixed["hit_cluster"] = (
        event[k][shuffled] for k in ("hit_layer", "hit_particle", "hit_cluster")
    )
    counts = np.diff(event["hit_contrib_ptr"])[shuffled]
    starts = event["hit_contrib_ptr"][:-1][shuffled]
    take = np.concatenate([np.arange(s, s + c) for s, c in zip(starts, counts, strict=True)]).astype(np.int64)
    mixed["hit_contrib_ptr"] = np.concatenate([[0], np.cumsum(counts)])
    mixed["hit_contrib_particle"] = event["hit_contrib_particle"][take]
    mixed["hit_contrib_energy"] = event["hit_contrib_energy"][take]
    mixed = as_event(mixed)
    (back,) = read_events(write_events(tmp_path / "mixed.root", [mixed], b_field=B_FIELD))
    assert np.all(np.diff(back["hit_subdetector"]) >= 0)
    assert_same_event(as_event(hits_by_subdetector(mixed)), back)
    # the same hits as a set: (cell, energy, particle) triples
    assert sorted(zip(back["hit_cell"], back["hit_particle"], strict=True)) == sorted(
        zip(event["hit_cell"], event["hit_particle"], strict=True)
    )


def test_events_without_clusters_or_tracks_are_written(tmp_path: Path, handmade) -> None:
    event = {k: v for k, v in handmade(2).items() if not k.startswith(("track_", "cluster_", "hit_cluster"))}
    (back,) = read_events(write_events(tmp_path / "bare.root", [event]))
    assert len(back["cluster_energy"]) == 0 and len(back["track_pt"]) == 0
    assert (back["hit_cluster"] == -1).all()
    assert np.array_equal(back["hit_contrib_energy"], event["hit_contrib_energy"])


def test_tracks_need_the_field(tmp_path: Path, handmade) -> None:
    with pytest.raises(ValueError, match="b_field"):
        write_events(tmp_path / "x.root", [handmade(0)])


def test_the_written_tree_is_edm4hep_for_uproot_users(tmp_path: Path, handmade) -> None:
    event = handmade(3)
    path = write_events(tmp_path / "events.root", [event], b_field=B_FIELD)
    tree = uproot.open(path)["events"]
    assert tree["MCParticles.PDG"].array()[0].tolist() == event["gen_pdg"].tolist()
    parents = tree["_MCParticles_parents.index"].array()[0].tolist()
    assert parents == [1, 1, 4]  # pi+ and pi- from the K0S, the muon from the Z
    assert set(tree["_MCParticles_parents.collectionID"].array()[0].tolist()) == {podio_hash("MCParticles")}
    weight = ak.to_numpy(tree["CaloHitMCParticleLinks.weight"].array()[0])
    assert np.array_equal(weight, event["hit_contrib_energy"])  # energies (GeV); the hits are in order
    ecal = event["hit_subdetector"] == 0
    cht = event["hit_layer"][ecal].astype(np.int64) * 10000 + 1010  # iLCSoft: em, ecal, barrel, layer
    assert tree["ECalBarrelHits.type"].array()[0].tolist() == cht.tolist()
    assert ak.num(tree["_Tracks_trackStates.location"].array(), axis=1).tolist() == [9]


@pytest.mark.requiresdata
@pytest.mark.parametrize("name", ["clic_gamma_barrel_10events.root", "odd_sample_10events.root"])
def test_real_files_survive_a_round_trip(tmp_path: Path, shared_data: Path, name: str) -> None:
    events = read_events(shared_data / "edm4hep" / name)
    back = read_events(write_events(tmp_path / name, events))
    for written, read in zip(events, back, strict=True):
        assert_same_event(written, read)


@pytest.mark.parametrize("detector", ["clic", "hgcal"])
def test_simulated_events_survive_a_round_trip(tmp_path: Path, compose_cfg, detector: str) -> None:
    """Events of dataset=sim_calo (Pythia tt̄ in the CLIC-like detector; a close-by gun in the HGCAL-like
    endcap) written in the EDM4hep layout and read back are the same events."""
    from hydra.utils import instantiate

    from src.data.calo import CaloChain

    overrides = ["~task", "dataset=sim_calo", f"detector@dataset.detector={detector}"]
    if detector == "clic":
        overrides.append("generator@dataset.generator=ee_ttbar")
    else:  # two close-by 20 GeV pions into the endcap
        overrides += ["dataset.generator.pdg=[211]", "dataset.generator.n_particles=2"]
        overrides += ["dataset.generator.energy=20", "dataset.generator.eta=[1.8,2.6]"]
    cfg = compose_cfg(overrides, name="make_dataset").dataset
    chain = CaloChain(
        instantiate(cfg.generator),
        instantiate(cfg.detector),
        decays=cfg.decays,
        tracks=cfg.tracks,
        clustering=cfg.clustering,
    )
    events = [chain(seed) for seed in (3, 4)]
    back = read_events(write_events(tmp_path / "sim.root", events, b_field=chain.detector.b_field))
    for written, read in zip(events, back, strict=True):
        assert_same_event(written, read)
    assert len(back[0]["hit_energy"]) > 100 and (back[0]["hit_particle"] >= 0).any()

"""The two real EDM4hep files read into calorimeter events: per-event counts of hits, particles and
clusters equal those computed with plain uproot, the figures of the data description hold, truth is
filled where the file stores it (ODD) and absent where it does not (CLIC), layers and memberships decode."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from src.event_model import SUBDETECTORS
from src.io.edm4hep import EVENT_DTYPES, EDM4hepReader, MissingCollectionError, read_events

CLIC = "edm4hep/clic_gamma_barrel_10events.root"
ODD = "edm4hep/odd_sample_10events.root"
ODD_HITS = ("ECalBarrelCollection", "ECalEndcapCollection", "HCalBarrelCollection", "HCalEndcapCollection")


def _counts(tree: uproot.TTree, branch: str) -> np.ndarray:
    return ak.to_numpy(ak.num(tree[branch].array()))


@pytest.fixture(scope="module")
def clic(shared_data: Path) -> tuple[list[dict], uproot.TTree]:
    return read_events(shared_data / CLIC), uproot.open(shared_data / CLIC)["events;2"]


@pytest.fixture(scope="module")
def odd(shared_data: Path) -> tuple[list[dict], uproot.TTree]:
    return read_events(shared_data / ODD), uproot.open(shared_data / ODD)["events"]


@pytest.mark.requiresdata
def test_clic_counts_match_plain_uproot(clic) -> None:
    events, tree = clic
    assert len(events) == tree.num_entries == 10
    hits = _counts(tree, "EB_CaloHits_EDM4hep.energy") + _counts(tree, "EE_CaloHits_EDM4hep.energy")
    assert [len(e["hit_energy"]) for e in events] == hits.tolist()
    assert [len(e["gen_pdg"]) for e in events] == _counts(tree, "MCParticlesSkimmed_EDM4hep.PDG").tolist()
    assert [len(e["cluster_energy"]) for e in events] == _counts(
        tree, "PandoraClusters_EDM4hep.energy"
    ).tolist()
    assert all(e[k].dtype == dt for e in events for k, dt in EVENT_DTYPES.items())


@pytest.mark.requiresdata
def test_clic_figures_of_the_data_description(clic) -> None:
    events, tree = clic
    eb = _counts(tree, "EB_CaloHits_EDM4hep.energy")
    assert (eb.min(), eb.max()) == (108, 341)
    assert _counts(tree, "EE_CaloHits_EDM4hep.energy").sum() == 0
    ratios = []
    for e in events:
        photon = (e["gen_pdg"] == 22) & (e["gen_status"] == 1)
        assert photon.sum() == 1
        energy = float(e["gen_energy"][photon][0])
        assert 2.75 <= energy <= 9.51
        ratios.append(float(e["hit_energy"].sum(dtype=np.float64)) / energy)
    # the data description says 0.93-1.06; the file's hits give 0.874 (event 4) to 1.061 (event 9)
    assert min(ratios) == pytest.approx(0.8744, abs=1e-4) and ratios.index(min(ratios)) == 4
    assert max(ratios) == pytest.approx(1.0614, abs=1e-4) and ratios.index(max(ratios)) == 9
    assert sorted(ratios)[1] == pytest.approx(0.9239, abs=1e-4)  # the rest lie within 0.92-1.06
    assert [len(e["gen_pdg"]) for e in events].index(4) == 8  # the conversion e+e- and a soft photon
    assert set(np.concatenate([e["hit_subdetector"] for e in events])) == {SUBDETECTORS.index("ecal_barrel")}


@pytest.mark.requiresdata
def test_clic_stores_no_truth_and_the_reader_invents_none(clic) -> None:
    events, _ = clic
    for e in events:
        assert (e["hit_particle"] == -1).all()
        assert len(e["hit_contrib_particle"]) == 0 and (e["hit_contrib_ptr"] == 0).all()
        assert (e["cluster_particle"] == -1).all()
        assert len(e["track_pt"]) == 0


@pytest.mark.requiresdata
def test_clic_layers_from_the_hit_type_and_cluster_membership(clic) -> None:
    events, tree = clic
    types = tree["EB_CaloHits_EDM4hep.type"].array()
    index = tree["PandoraClusters_EDM4hep#1.index"].array()
    collection = tree["PandoraClusters_EDM4hep#1.collectionID"].array()
    begin = tree["PandoraClusters_EDM4hep.hits_begin"].array()
    sub = tree["PandoraClusters_EDM4hep_2"].array()
    for i, e in enumerate(events):
        assert np.array_equal(e["hit_layer"], ak.to_numpy(types[i]) // 10000)
        assert e["hit_layer"].min() >= 0 and e["hit_layer"].max() <= 39
        in_eb = ak.to_numpy(collection[i]) == 3  # EB_CaloHits_EDM4hep's id in the metadata tree
        owner = np.searchsorted(ak.to_numpy(begin[i]), np.arange(len(index[i])), side="right") - 1
        assert np.array_equal(np.flatnonzero(e["hit_cluster"] >= 0), np.unique(ak.to_numpy(index[i])[in_eb]))
        assert np.array_equal(e["hit_cluster"][ak.to_numpy(index[i])[in_eb]], owner[in_eb])
        assert np.array_equal(
            e["cluster_n_hits"], np.bincount(owner[in_eb], minlength=len(e["cluster_energy"]))
        )
        energies = ak.to_numpy(sub[i]).reshape(-1, 6)  # Pandora: ECAL, HCAL, yoke, LCAL, LHCAL, BCAL
        assert np.array_equal(e["cluster_energy_ecal"], energies[:, 0])
        assert np.array_equal(e["cluster_energy_hcal"], energies[:, 1])
        # clusters with HCAL energy list hits of a collection the file does not store (id 12)
        assert (e["cluster_energy_hcal"] > 0).any() == (~in_eb).any()


@pytest.mark.requiresdata
def test_clic_sim_hits_have_no_contributions_collection(shared_data: Path) -> None:
    events = read_events(shared_data / CLIC, hits="sim")
    assert [len(e["hit_energy"]) for e in events] == [187, 114, 374, 288, 261, 161, 318, 285, 250, 329]
    assert all((e["hit_particle"] == -1).all() and np.isnan(e["hit_time"]).all() for e in events)


@pytest.mark.requiresdata
def test_odd_counts_match_plain_uproot(odd) -> None:
    events, tree = odd
    hits = sum(_counts(tree, f"{c}.energy") for c in ODD_HITS)
    assert [len(e["hit_energy"]) for e in events] == hits.tolist()
    particles = _counts(tree, "MCParticles.PDG")
    assert [len(e["gen_pdg"]) for e in events] == particles.tolist()
    assert (particles.min(), particles.max()) == (72, 370)
    ecal_barrel = _counts(tree, "ECalBarrelCollection.energy")
    assert (ecal_barrel.min(), ecal_barrel.max()) == (54, 535)
    assert all(len(e["cluster_energy"]) == 0 and (e["hit_cluster"] == -1).all() for e in events)


@pytest.mark.requiresdata
def test_odd_one_ten_gev_pion_behind_every_hit(odd) -> None:
    events, tree = odd
    for i, e in enumerate(events):
        primary = np.flatnonzero(e["gen_status"] == 1)
        assert primary.tolist() == [0] and e["gen_pdg"][0] == 211
        momentum = np.sqrt(e["gen_px"][0] ** 2 + e["gen_py"][0] ** 2 + e["gen_pz"][0] ** 2)
        assert momentum == pytest.approx(10.0, abs=1e-6)
        assert (e["gen_calo_entry"] == 0).all()  # every particle descends from the pion
        assert (e["hit_particle"] == 0).all()
        assert np.array_equal(np.diff(e["hit_contrib_ptr"]), np.ones(len(e["hit_energy"])))
        # the contributions of a sim hit sum to its energy
        np.testing.assert_allclose(e["hit_contrib_energy"], e["hit_energy"], rtol=2e-5)
        raw = sum(float(ak.sum(tree[f"{c}Contributions.energy"].array()[i])) for c in ODD_HITS)
        assert float(e["hit_contrib_energy"].sum(dtype=np.float64)) == pytest.approx(raw, rel=1e-5)


@pytest.mark.requiresdata
def test_odd_layers_and_times_decode(odd) -> None:
    events, tree = odd
    cells = tree["ECalBarrelCollection.cellID"].array()
    begin = tree["ECalBarrelCollection.contributions_begin"].array()
    end = tree["ECalBarrelCollection.contributions_end"].array()
    index = tree["_ECalBarrelCollection_contributions.index"].array()
    times = tree["ECalBarrelCollectionContributions.time"].array()
    layers = []
    for i, e in enumerate(events):
        barrel = e["hit_subdetector"] == SUBDETECTORS.index("ecal_barrel")
        expected = ((ak.to_numpy(cells[i]) >> np.uint64(15)) & np.uint64(63)).astype(np.int64) - 1
        assert np.array_equal(e["hit_layer"][barrel], expected)
        layers.append(e["hit_layer"][barrel])
        t = ak.to_numpy(times[i])[ak.to_numpy(index[i])]
        first = [t[a:b].min() for a, b in zip(ak.to_numpy(begin[i]), ak.to_numpy(end[i]), strict=True)]
        assert np.array_equal(e["hit_time"][barrel], np.array(first, np.float32))
    assert np.concatenate(layers).min() == 0


@pytest.mark.requiresdata
def test_a_named_collection_the_file_lacks_names_file_and_collection(shared_data: Path) -> None:
    with pytest.raises(
        MissingCollectionError, match=r"clic_gamma_barrel_10events\.root.*NoSuchClusters"
    ) as err:
        read_events(shared_data / CLIC, clusters="NoSuchClusters")
    assert "PandoraClusters_EDM4hep" in str(err.value)  # the choices
    with EDM4hepReader(shared_data / CLIC, clusters="CaloClusters_EDM4hep") as reader:
        assert reader.selection.clusters == "CaloClusters_EDM4hep"
        assert reader.layout == "edm4hep_2021"

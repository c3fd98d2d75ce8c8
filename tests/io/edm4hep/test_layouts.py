"""A file of a third layout (EDM4hep v1 links and associations, other collection names, built with plain
uproot) is read through the declarative tables: its collections typed by their members, its hits mapped to
subdetectors by name, link weights taken as energy fractions, relations resolved by podio's hashed ids."""

from __future__ import annotations

import numpy as np
import pytest

from src.event_model import SUBDETECTORS
from src.io.edm4hep import EDM4hepReader, read_events
from src.io.edm4hep.schema import HIT_COLLECTIONS, podio_hash, subdetector_of


def test_third_layout_is_read_by_mapping(third_layout) -> None:
    path = third_layout()
    with EDM4hepReader(path) as reader:
        assert reader.layout == "podio_1"
        assert reader.selection.hits == ("ECALBarrel", "HCALEndcap")
        assert (reader.selection.particles, reader.selection.clusters) == ("MCParticle", "PandoraClusters")
        assert reader.file.types["CalohitMCTruthLink"] == "Link"
        event, empty = reader.read()
    assert event["gen_pdg"].tolist() == [22, 11]
    assert event["gen_parent"].tolist() == [-1, 0]
    assert event["gen_calo_entry"].tolist() == [0, 0]  # the electron's generator-level ancestor: the photon
    sub = [SUBDETECTORS[s] for s in event["hit_subdetector"]]
    assert sub == ["ecal_barrel", "ecal_barrel", "hcal_endcap"]
    assert event["hit_layer"].tolist() == [0, 5, 3]
    # weights are fractions: hit 0 = 0.75 x 2 GeV (photon) + 0.25 x 2 GeV (electron, the photon's)
    assert event["hit_contrib_ptr"].tolist() == [0, 1, 2, 2]
    assert event["hit_contrib_particle"].tolist() == [0, 0]
    assert event["hit_contrib_energy"].tolist() == [2.0, 1.0]
    assert event["hit_particle"].tolist() == [0, 0, -1]
    assert event["hit_cluster"].tolist() == [0, 0, -1]
    assert event["cluster_n_hits"].tolist() == [2]
    assert event["cluster_particle"].tolist() == [0]  # associated to the electron, assigned to its photon
    assert event["cluster_energy_ecal"].tolist() == [3.0] and event["cluster_energy_hcal"].tolist() == [0.0]
    # energy-weighted spread of hits at 1500 (2 GeV) and 1510 mm (1 GeV): sqrt(200/9)
    assert event["cluster_sigma_x"][0] == pytest.approx(np.sqrt(200 / 9), rel=1e-6)
    assert all(len(v) == 0 for k, v in empty.items() if k != "hit_contrib_ptr")
    assert empty["hit_contrib_ptr"].tolist() == [0]


def test_third_layout_without_truth_links_reads_hits_without_truth(third_layout) -> None:
    path = third_layout(drop=("CalohitMCTruthLink", "_CalohitMCTruthLink_from", "_CalohitMCTruthLink_to"))
    event, _ = read_events(path)
    assert event["hit_particle"].tolist() == [-1, -1, -1]
    assert event["cluster_particle"].tolist() == [0]  # the association still stands


@pytest.mark.parametrize(
    ("name", "subdetector"),
    [
        ("ECalBarrelCollection", "ecal_barrel"),
        ("EB_CaloHits_EDM4hep", "ecal_barrel"),
        ("EE_CaloHits_EDM4hep", "ecal_endcap"),
        ("ECALEndcap", "ecal_endcap"),
        ("HCalBarrelCollection", "hcal_barrel"),
        ("HCALEndcap", "hcal_endcap"),
        ("HCalRingCollection", "hcal_endcap"),
        ("HGCalCEHScintHits", "hgcal_ce_h_scint"),
        ("LumiCalCollection", "other"),
        ("YokeBarrelCollection", "other"),
    ],
)
def test_collection_names_map_to_subdetectors(name: str, subdetector: str) -> None:
    assert SUBDETECTORS[subdetector_of(name)] == subdetector


def test_writer_names_read_back_and_podio_ids() -> None:
    assert {SUBDETECTORS[subdetector_of(c)] for c in HIT_COLLECTIONS.values()} == set(SUBDETECTORS)
    # ids of the ODD file's podio_metadata, computed from the names
    assert podio_hash("MCParticles") == 2714477136
    assert podio_hash("ECalBarrelCollection") == 1082044795
    assert podio_hash("HCalEndcapCollectionContributions") == 2191725667

"""Rule-based cluster types: a cluster with a track nearby is a charged pion of the track's charge, an
ECAL-dominated one a photon, any other a K0L; energies are hit sums and directions point at centroids."""

from __future__ import annotations

import numpy as np
import pytest

from src.event_model import CALO_TYPE_NAMES, SUBDETECTORS
from src.reco.cluster_types import ClusterTyper


def test_tracks_ecal_fraction_and_centroids():
    ecal, hcal = SUBDETECTORS.index("ecal_barrel"), SUBDETECTORS.index("hcal_barrel")
    # cluster 0: ECAL only along +x; cluster 1: mostly HCAL along +y; cluster 2: ECAL along -x with a
    # negative track; cluster 3: HCAL along +z-ish with a positive track and a softer negative one
    hits = {
        "hit_x": np.array([1500.0, 1500, 0, 0, -1500, 10, 10]),
        "hit_y": np.array([0.0, 0, 1500, 2000, 0, 0, 0]),
        "hit_z": np.array([0.0, 0, 0, 0, 0, 2000, 2000]),
        "hit_energy": np.array([1.0, 2.0, 0.5, 4.5, 3.0, 1.0, 1.0]),
        "hit_subdetector": np.array([ecal, ecal, ecal, hcal, ecal, hcal, hcal]),
    }
    labels = np.array([0, 0, 1, 1, 2, 3, 3])
    tracks = {
        "track_calo_x": np.array([-1500.0, 10, 10, np.nan]),
        "track_calo_y": np.array([1.0, 0, 0, 0]),
        "track_calo_z": np.array([0.0, 2000, 2000, 0]),
        "track_charge": np.array([-1, 1, -1, 1]),
        "track_p": np.array([3.0, 5.0, 1.0, 9.0]),
    }
    type_id, charge, direction, energy = ClusterTyper(track_dr=0.1, em_fraction=0.8)(labels, 4, hits, tracks)
    names = [CALO_TYPE_NAMES[t] for t in type_id]
    assert names == ["gamma", "K0L", "pi-", "pi+"]
    assert charge.tolist() == [0, 0, -1, 1]
    assert energy == pytest.approx([3.0, 5.0, 3.0, 2.0])
    np.testing.assert_allclose(direction[0], [1, 0, 0])
    np.testing.assert_allclose(direction[2], [-1, 0, 0])

"""PF elements in the CLIC dataset's definitions: widths 16/17, element type in column 0, cluster angles and
E_T from the position, track columns in order; events without a collection give zero rows; selecting
clusters renumbers them and frees the hits of the others."""

from __future__ import annotations

import numpy as np
import pytest

from src.event_model import PF_CLUSTER_FEATURES, PF_TRACK_FEATURES
from src.reco.pf_elements import cluster_elements, select_clusters, track_elements
from tests.calo_events import synthetic_calo_event

C = {n: i for i, n in enumerate(PF_CLUSTER_FEATURES)}
T = {n: i for i, n in enumerate(PF_TRACK_FEATURES)}


def test_cluster_features_from_position_and_energy() -> None:
    event = {
        "cluster_energy": np.array([10.0]),
        "cluster_x": np.array([1000.0]),
        "cluster_y": np.array([1000.0]),
        "cluster_z": np.array([np.sqrt(2) * 1000.0]),  # theta = 45 degrees, phi = 45 degrees
        "cluster_energy_ecal": np.array([7.0]),
        "cluster_energy_hcal": np.array([3.0]),
        "cluster_energy_other": np.array([0.0]),
        "cluster_n_hits": np.array([12]),
        "cluster_sigma_x": np.array([5.0]),
        "cluster_sigma_y": np.array([6.0]),
        "cluster_sigma_z": np.array([7.0]),
    }
    (row,) = cluster_elements(event)
    assert row.shape == (17,) and row[C["elemtype"]] == 2
    assert row[C["iTheta"]] == pytest.approx(np.pi / 4)
    assert row[C["eta"]] == pytest.approx(-np.log(np.tan(np.pi / 8)), rel=1e-6)
    assert row[C["et"]] == pytest.approx(10.0 / np.sqrt(2), rel=1e-6)
    assert row[C["sin_phi"]] == pytest.approx(np.sqrt(0.5)) and row[C["cos_phi"]] == pytest.approx(
        np.sqrt(0.5)
    )
    assert row[C["num_hits"]] == 12 and row[C["sigma_z"]] == 7.0 and row[C["energy_ecal"]] == 7.0


def test_track_columns_follow_the_event() -> None:
    event = synthetic_calo_event(3)
    rows = track_elements(event)
    assert rows.shape == (len(event["track_pt"]), 16)
    assert np.all(rows[:, T["elemtype"]] == 1)
    np.testing.assert_allclose(rows[:, T["pt"]], event["track_pt"])
    np.testing.assert_allclose(rows[:, T["sin_phi"]], np.sin(event["track_phi"]), atol=1e-6)
    np.testing.assert_allclose(rows[:, T["omega"]], event["track_omega"])
    np.testing.assert_allclose(rows[:, T["radiusOfInnermostHit"]], event["track_inner_radius"])


def test_missing_collections_give_no_rows_and_bad_shapes_are_named() -> None:
    assert track_elements({}).shape == (0, 16)
    assert cluster_elements({}).shape == (0, 17)
    event = synthetic_calo_event(1)
    event["track_chi2"] = event["track_chi2"][:-1]
    with pytest.raises(ValueError, match="track_chi2"):
        track_elements(event)


def test_select_clusters_renumbers_and_frees_hits() -> None:
    event = synthetic_calo_event(2)
    n = len(event["cluster_energy"])
    keep = np.arange(n) % 2 == 0
    out = select_clusters(event, keep)
    assert len(out["cluster_energy"]) == keep.sum()
    np.testing.assert_array_equal(out["cluster_energy"], event["cluster_energy"][keep])
    old = event["hit_cluster"]
    dropped = (old >= 0) & ~keep[np.clip(old, 0, None)]
    assert np.all(out["hit_cluster"][dropped] == -1)
    kept = (old >= 0) & ~dropped
    np.testing.assert_array_equal(out["hit_cluster"][kept], old[kept] // 2)
    assert np.all(out["hit_cluster"][old < 0] == -1)

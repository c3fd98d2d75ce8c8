"""Asserts the track-regression evaluation: TrackML track ids from cluster labels."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import DBSCAN, HDBSCAN

from src.evaluation.track_regression import TrackRegressionEvaluation, track_ids


def test_track_ids_make_unclustered_hits_singletons() -> None:
    ids = track_ids(np.array([2, -1, 0, -1, 2]))
    assert ids.tolist()[0] == 2 and ids[0] == ids[4] and len(set(ids.tolist())) == 4 and (ids >= 0).all()


def test_refits_must_be_callable() -> None:
    with pytest.raises(ValueError, match="baseline_refit"):
        TrackRegressionEvaluation(clusterer=HDBSCAN(), baseline_refit="helix")


def test_tracks_are_clusters_refitted() -> None:
    params = np.array([[0.0], [0.01], [0.02], [5.0], [5.01], [5.02]])
    pos = np.zeros((6, 3))
    moved = TrackRegressionEvaluation(
        clusterer=DBSCAN(eps=0.1, min_samples=2), refit=lambda labels, _: np.where(labels == 1, 0, labels)
    )
    assert moved.tracks(params, pos).tolist() == [0] * 6
    plain = TrackRegressionEvaluation(clusterer=DBSCAN(eps=0.1, min_samples=2))
    assert plain.tracks(params, pos).tolist() == [0, 0, 0, 1, 1, 1]

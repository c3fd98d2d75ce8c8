"""Asserts the Hough-transform track finder finds the tracks of simulated primaries."""

from __future__ import annotations

import numpy as np

from src.data.hits import SubsetSpec, with_weights
from src.metrics.trackml_score import trackml_score
from src.reco.hough import HoughTrackFinder


def test_hough_baseline_finds_tracks(sim_arrays) -> None:
    spec = SubsetSpec(particles=(10, 20), noise=False, max_vertex_r=10.0)
    (event,) = spec.apply(sim_arrays, rng=np.random.default_rng(5), event_ids=[0])
    event = with_weights(event)
    labels = HoughTrackFinder()(event["hit_pos"], 3.8)
    assert labels.shape == event["particle_id"].shape and labels.max() >= 5
    assert trackml_score(particle_id=event["particle_id"], weight=event["weight"], track_id=labels) > 0.3

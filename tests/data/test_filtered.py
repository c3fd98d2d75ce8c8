"""Asserts that filtering an event keeps exactly the line segments scored above the threshold."""

from __future__ import annotations

import numpy as np
import torch

from src.data.filtered import filter_event


def test_filter_event_keeps_scores_above_threshold() -> None:
    event = {
        "x": torch.arange(10.0).reshape(5, 2),
        "particle_id": torch.tensor([1, 1, -1, 1, 2]),
        "sim_pt": torch.tensor([1.0, 1.0, float("nan"), 1.0, 2.0]),
        "sim_eta": torch.zeros(5),
        "track_length": torch.tensor([3, 3, 0, 3, 1]),
    }
    out = filter_event(event, np.array([0.9, 0.2, 0.95, 0.5, 0.5]), 0.5)
    assert out["particle_id"].tolist() == [1, -1, 1, 2]
    assert out["track_length"].tolist() == [2, 0, 2, 1]  # recounted on what is left
    assert out["x"][:, 0].tolist() == [0.0, 4.0, 6.0, 8.0]
    np.testing.assert_allclose(out["pileup_score"], [0.9, 0.95, 0.5, 0.5])

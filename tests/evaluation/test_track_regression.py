"""Asserts the track-regression evaluation: TrackML track ids from cluster labels."""

from __future__ import annotations

import numpy as np

from src.evaluation.track_regression import track_ids


def test_track_ids_make_unclustered_hits_singletons() -> None:
    ids = track_ids(np.array([2, -1, 0, -1, 2]))
    assert ids.tolist()[0] == 2 and ids[0] == ids[4] and len(set(ids.tolist())) == 4 and (ids >= 0).all()

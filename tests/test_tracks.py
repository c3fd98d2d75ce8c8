"""Track-candidate matching: perfect / double-majority / LHC efficiencies and fake rates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from src.metrics.tracks import RATE_NAMES, match_tracks, sum_counts, track_counts, tracking_rates


def _rates(labels, pid, pt, thresholds=(0.0,), **kw):
    match = match_tracks(labels, pid, pt, **kw)
    return tracking_rates(track_counts(match, thresholds)), match


def test_truth_clustering_is_perfect():
    pid = np.repeat([1, 2, 3], 4)
    rates, _ = _rates(pid, pid, np.repeat([0.4, 1.0, 2.0], 4), thresholds=(0.0, 0.9))
    for name in ("eff_perfect", "eff_dm", "eff_lhc"):
        assert rates[f"{name}_pt0.0"] == 1.0
        assert rates[f"{name}_pt0.9"] == 1.0
    assert rates["fake_dm_pt0.0"] == 0.0
    assert rates["noise_cluster_frac"] == 0.0


def test_split_and_merge():
    # particle 1: 6 objects split 4/2 -> DM (4/6 > 0.5), not perfect; particle 2: 4 objects merged with 1
    # object of particle 3 -> cluster purity 0.8: DM and LHC, not perfect. Particle 3 has 3 objects.
    pid = np.array([1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3])
    lab = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 3, 3])
    rates, match = _rates(lab, pid, np.ones(13), min_cluster_size=2)
    c = match.clusters
    assert list(c.index) == [0, 1, 2, 3]
    assert c.loc[0, "dm"] and not c.loc[0, "perfect"]
    assert not c.loc[1, "dm"]  # 2 of 6 objects
    assert c.loc[2, "dm"] and c.loc[2, "lhc"] and c.loc[2, "maj_frac"] == pytest.approx(0.8)
    assert c.loc[3, "dm"]  # 2 of 3 objects of particle 3, pure
    assert rates["eff_dm_pt0.0"] == pytest.approx(3 / 3)
    assert rates["eff_perfect_pt0.0"] == 0.0
    assert rates["fake_dm_pt0.0"] == pytest.approx(1 / 4)
    assert rates["eff_lhc_pt0.0"] == pytest.approx(4 / 4)


def test_noise_small_clusters_and_thresholds():
    pid = np.array([0, 0, 0, 5, 5, 5, 7, 7, 7, 7])
    lab = np.array([0, 0, 0, 1, 1, 1, -1, -1, 2, 2])
    pt = np.array([0, 0, 0, 1.5, 1.5, 1.5, 0.3, 0.3, 0.3, 0.3])
    rates, match = _rates(lab, pid, pt, thresholds=(0.0, 0.9), min_cluster_size=3)
    assert list(match.clusters.index) == [0, 1]  # cluster 2 has 2 objects: not a candidate
    assert bool(match.clusters.loc[0, "maj_noise"])
    assert rates["noise_cluster_frac"] == pytest.approx(0.5)
    assert rates["eff_dm_pt0.0"] == pytest.approx(1 / 2)  # particle 7 unmatched
    assert rates["eff_dm_pt0.9"] == 1.0
    assert rates["fake_dm_pt0.0"] == 0.0  # the noise cluster is in no denominator


def test_counts_add_over_events_and_nan_when_empty():
    pid = np.repeat([1, 2], 3)
    one = track_counts(match_tracks(pid, pid, np.ones(6)), [0.0, 0.5])
    two = track_counts(match_tracks(np.zeros(6, int), pid, np.ones(6)), [0.0, 0.5])
    total = sum_counts([one, two])
    assert total[0.0].n_particles == 4
    assert total[0.0].n_dm == 2
    empty = tracking_rates(track_counts(match_tracks([], [], []), [0.9]))
    assert {f"{n}_pt0.9" for n in RATE_NAMES} <= empty.keys()
    assert math.isnan(empty["eff_dm_pt0.9"])


def test_length_mismatch_names_field():
    with pytest.raises(ValueError, match="particle_id has 2 entries"):
        match_tracks([0, 0, 0], [1, 1], [1, 1, 1])

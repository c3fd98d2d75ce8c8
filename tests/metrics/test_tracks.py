"""Track-candidate matching: perfect / double-majority / LHC efficiencies and fake rates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from src.metrics.tracks import RATE_NAMES, match_tracks, sum_counts, track_counts, tracking_rates


def _rates(labels, pid, pt, thresholds=(0.0,), **kw):
    match = match_tracks(labels, pid, pt, noise=np.asarray(pid) <= 0, **kw)
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
    none = np.zeros(6, bool)
    one = track_counts(match_tracks(pid, pid, np.ones(6), noise=none), [0.0, 0.5])
    two = track_counts(match_tracks(np.zeros(6, int), pid, np.ones(6), noise=none), [0.0, 0.5])
    total = sum_counts([one, two])
    assert total[0.0].n_particles == 4
    assert total[0.0].n_dm == 2
    empty = tracking_rates(track_counts(match_tracks([], [], [], noise=[]), [0.9]))
    assert {f"{n}_pt0.9" for n in RATE_NAMES} <= empty.keys()
    assert math.isnan(empty["eff_dm_pt0.9"])


def test_length_mismatch_names_field():
    with pytest.raises(ValueError, match="particle_id has 2 entries"):
        match_tracks([0, 0, 0], [1, 1], [1, 1, 1], noise=[False] * 3)


def test_the_cuts_are_strict_at_exactly_one_half_and_three_quarters():
    """Clusters that sit exactly on the cuts: 50% purity or 50% of a particle is not DM, 75% purity is
    not LHC; one object more crosses each cut. Every fake rate is asserted (DM and LHC counts differ)."""
    # cluster 0: 4 of particle 1 (of 8) + 4 of particle 2 (of 4) -> purity 4/8 = 0.5 and 4/8 of particle 1:
    #   majority particle 1 (tie -> smaller id), maj_frac 0.5, maj_pid_frac 0.5: not DM, not LHC
    # cluster 1: the other 4 of particle 1 -> pure, 4/8 of the particle: not DM (completeness 0.5), LHC
    # cluster 2: 3 of particle 3 (of 3) + 1 of particle 4 -> purity 0.75: DM, not LHC
    # cluster 3: 4 of particle 5 (of 4) + 1 of particle 4 -> purity 0.8: DM and LHC, not perfect
    # cluster 4: particle 6 alone and whole -> perfect, DM, LHC
    # cluster 5: 3 of the 7 objects of particle 7 (the other 4 unclustered) -> pure: LHC, not DM
    pid = np.array([1] * 4 + [2] * 4 + [1] * 4 + [3] * 3 + [4] + [5] * 4 + [4] + [6] * 3 + [7] * 7)
    lab = np.array([0] * 8 + [1] * 4 + [2] * 4 + [3] * 5 + [4] * 3 + [5] * 3 + [-1] * 4)
    rates, match = _rates(lab, pid, np.ones(len(pid)), min_cluster_size=3, min_particle_size=2)
    c = match.clusters
    assert c["maj_pid"].tolist() == [1, 1, 3, 5, 6, 7]
    assert c["maj_frac"].tolist() == [0.5, 1.0, 0.75, 0.8, 1.0, 1.0]
    assert c["dm"].tolist() == [False, False, True, True, True, False]
    assert c["lhc"].tolist() == [False, True, False, True, True, True]
    assert c["perfect"].tolist() == [False, False, False, False, True, False]
    # 6 clusters (all majorities reconstructable); particles 1..7 reconstructable (>= 2 objects)
    assert rates["fake_perfect_pt0.0"] == pytest.approx(5 / 6)
    assert rates["fake_dm_pt0.0"] == pytest.approx(3 / 6)
    assert rates["fake_lhc_pt0.0"] == pytest.approx(2 / 6)
    assert rates["eff_lhc_pt0.0"] == pytest.approx(4 / 6)
    assert rates["eff_dm_pt0.0"] == pytest.approx(3 / 7)  # particles 3, 5, 6
    assert rates["eff_perfect_pt0.0"] == pytest.approx(1 / 7)
    # one object more on the right side of each cut
    pid_more = np.concatenate([pid, [1]])
    lab_more = np.concatenate([lab, [1]])  # particle 1 now 5 of 9 in cluster 1: completeness 5/9 > 0.5
    _, more = _rates(lab_more, pid_more, np.ones(len(pid_more)), min_cluster_size=3, min_particle_size=2)
    assert bool(more.clusters.loc[1, "dm"])

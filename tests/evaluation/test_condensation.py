"""Condensation inference: seeds above the β threshold suppress the candidates near them, every token joins
its nearest seed within the join radius, any number of clusters comes out; cluster kinematics at the
condensation point and energy-weighted."""

from __future__ import annotations

import numpy as np
import pytest

from src.evaluation.condensation import cluster_kinematics, condense


def test_tokens_join_their_seed_within_the_join_radius():
    coords = np.array([[0.0, 0], [0.1, 0], [0.3, 0], [2.0, 0], [2.2, 0], [5.0, 0], [0.45, 0], [2.9, 0]])
    beta = np.array([0.9, 0.8, 0.2, 0.7, 0.1, 0.05, 0.6, 0.1])
    labels, seeds = condense(beta, coords, beta_threshold=0.5, distance_threshold=0.5, join_distance=1.0)
    # token 1 and token 6 are candidates near seed 0: suppressed; token 3 seeds the second cluster;
    # token 7 lies outside the seed radius of token 3 but within its join radius; token 5 (beta below
    # threshold, far from every seed) stays unclustered
    assert seeds.tolist() == [0, 3]
    assert labels.tolist() == [0, 0, 0, 1, 1, -1, 0, 1]
    labels, _ = condense(beta, coords, beta_threshold=0.5, distance_threshold=0.5, join_distance=0.5)
    assert labels[7] == -1


def test_overlapping_seeds_assign_to_the_nearest():
    coords = np.array([[0.0], [0.8], [0.45], [0.3]])
    beta = np.array([0.9, 0.95, 0.1, 0.1])
    labels, seeds = condense(beta, coords, beta_threshold=0.5, distance_threshold=0.5, join_distance=0.5)
    assert seeds.tolist() == [1, 0]  # decreasing beta
    assert labels.tolist() == [1, 0, 0, 1]  # tokens 2 and 3 are near both seeds: the nearer one wins


def test_a_smaller_radius_per_token_keeps_a_close_candidate_as_a_seed():
    coords = np.array([[0.0], [0.3], [0.1], [0.35]])
    beta = np.array([0.9, 0.8, 0.1, 0.1])
    labels, seeds = condense(beta, coords, beta_threshold=0.5, distance_threshold=0.5, join_distance=1.0)
    assert seeds.tolist() == [0]  # token 1 lies within the radius of seed 0
    radius = np.array([0.5, 0.2, 0.5, 0.5])  # token 1 is compact (e.g. a photon): suppressed only within 0.2
    labels, seeds = condense(beta, coords, beta_threshold=0.5, distance_threshold=radius, join_distance=1.0)
    assert seeds.tolist() == [0, 1]
    assert labels.tolist() == [0, 1, 0, 1]


def test_join_radius_below_the_seed_radius_is_refused():
    with pytest.raises(ValueError, match="join_distance"):
        condense(np.ones(2), np.zeros((2, 1)), beta_threshold=0.5, distance_threshold=0.5, join_distance=0.4)


def test_no_seed_no_cluster_and_no_maximum():
    labels, seeds = condense(
        np.full(4, 0.1), np.zeros((4, 2)), beta_threshold=0.5, distance_threshold=1.0, join_distance=1.0
    )
    assert labels.tolist() == [-1] * 4 and len(seeds) == 0
    n = 700  # far more objects than any event of the tests trains on
    rng = np.random.default_rng(0)
    centres = np.stack([np.arange(n) * 3.0, np.zeros(n)], 1)
    coords = np.repeat(centres, 5, axis=0) + rng.normal(0, 0.05, (5 * n, 2))
    beta = np.tile([0.9, 0.2, 0.2, 0.2, 0.2], n)
    labels, seeds = condense(
        beta, coords, beta_threshold=0.5, distance_threshold=0.8, join_distance=1.2, chunk=128
    )
    assert len(seeds) == n
    np.testing.assert_array_equal(labels, np.repeat(np.arange(n), 5))


def test_cluster_kinematics_at_the_condensation_point_and_energy_weighted():
    labels = np.array([0, 0, 0, -1, 0])  # tokens 0-3 are hits, token 4 a track in cluster 0
    seeds = np.array([4])
    is_hit = np.array([True, True, True, True, False])
    kw = {
        "is_hit": is_hit,
        "hit_energy": np.array([1.0, 3.0, 4.0, 9.0]),
        "type_prob": np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [1, 0], [0.7, 0.3]]),
        "charge_prob": np.tile([0.1, 0.2, 0.7], (5, 1)),
        "log_energy_factor": np.log([2.0, 1.0, 1.5, 1.0, 1.25]),
        "direction": np.array([[1.0, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]]),
    }
    at_seed = cluster_kinematics(labels, seeds, mode="condensation_point", **kw)
    assert at_seed.hit_energy.tolist() == [8.0]
    assert at_seed.energy == pytest.approx([8.0 * 1.25])
    assert at_seed.type_id.tolist() == [0] and at_seed.charge.tolist() == [1]
    np.testing.assert_allclose(at_seed.direction, [[1, 0, 0]])
    weighted = cluster_kinematics(labels, seeds, mode="energy_weighted", **kw)
    assert weighted.energy == pytest.approx([1 * 2.0 + 3 * 1.0 + 4 * 1.5])
    # type probabilities weighted by 1, 3, 4: class 1 = (0.1 + 2.4 + 2.4) / 8
    assert weighted.type_id.tolist() == [1]
    np.testing.assert_allclose(weighted.direction, [[1 / np.sqrt(50), 7 / np.sqrt(50), 0]])
    assert weighted.n_hits.tolist() == [3]
    with pytest.raises(ValueError, match="kinematics"):
        cluster_kinematics(labels, seeds, mode="seed", **kw)

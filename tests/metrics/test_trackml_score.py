"""Asserts the TrackML score against the challenge's rules written plainly (hand-made, random and noisy
events) and the hit weights."""

from __future__ import annotations

import numpy as np
import pytest

from src.metrics.trackml_score import ORDER_PROFILE, ORDER_WEIGHTS, hit_weights, order_weight, trackml_score


def _reference_score(pid: np.ndarray, weight: np.ndarray, track: np.ndarray) -> float:
    """The challenge's rules, written as plainly as possible (loops), for comparison."""
    track = track.copy()
    for i in np.flatnonzero(track < 0):
        track[i] = track.max() + 1 + i
    total, score = weight.sum(), 0.0
    for t in np.unique(track):
        in_track = track == t
        ids, counts = np.unique(pid[in_track], return_counts=True)
        major = ids[np.argmax(counts)]  # first maximum: the smallest id among ties
        n_major = counts.max()
        if 2 * n_major > in_track.sum() and 2 * n_major > (pid == major).sum():
            score += weight[in_track & (pid == major)].sum()
    return score / total


def test_hand_computed_event() -> None:
    # A: 4 hits, B: 4 hits, C: 2 hits, all of weight 0.1.
    # track 0 = 3 A + 1 B -> A (3/4, 3/4): +0.3; track 1 = 3 B -> B (3/3, 3/4): +0.3;
    # track 2 = 1 A + 2 C -> C (2/3, 2/2): +0.2. Score 0.8.
    pid = np.array([1, 1, 1, 2, 2, 2, 2, 1, 3, 3])
    track = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    assert trackml_score(particle_id=pid, weight=np.full(10, 0.1), track_id=track) == pytest.approx(0.8)


@pytest.mark.parametrize(
    "case,expected",
    [
        ("perfect", 1.0),
        ("all_in_one", 0.0),
        ("halves", 0.0),  # exactly 50% of a particle's hits never counts
        ("singletons", 0.0),
        ("unassigned", 0.0),  # negative ids: every hit on its own
    ],
)
def test_known_properties(case: str, expected: float) -> None:
    pid = np.repeat(np.arange(1, 6), 8)
    weight = np.random.default_rng(0).random(40)
    track = {
        "perfect": pid,
        "all_in_one": np.zeros(40, dtype=np.int64),
        "halves": 2 * pid + (np.arange(40) % 2),
        "singletons": np.arange(40),
        "unassigned": -np.ones(40, dtype=np.int64),
    }[case]
    assert trackml_score(particle_id=pid, weight=weight, track_id=track) == pytest.approx(expected)


def test_noise_hits_and_perfect_with_noise_in_one_track() -> None:
    pid = np.r_[np.repeat([5, 9], 5), np.zeros(4, dtype=np.int64)]
    weight = np.r_[np.full(10, 0.1), np.zeros(4)]
    assert trackml_score(particle_id=pid, weight=weight, track_id=pid) == pytest.approx(1.0)
    # a track of 3 noise hits + 2 hits of particle 5 is noise-majority: it scores nothing
    track = np.r_[[0, 0, 1, 1, 1], np.repeat(2, 5), [0, 0, 0, 3]]
    assert trackml_score(particle_id=pid, weight=weight, track_id=track) == pytest.approx(0.5 + 0.3)


def test_random_assignment_scores_near_zero_and_matches_the_rules() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        n_part = int(rng.integers(2, 30))
        pid = np.r_[rng.integers(1, n_part + 1, 300), np.zeros(30, dtype=np.int64)]
        weight = rng.random(330) * (pid > 0)
        random = rng.integers(0, n_part, 330)
        assert trackml_score(particle_id=pid, weight=weight, track_id=random) == pytest.approx(
            _reference_score(pid, weight, random)
        )
        # a noisy version of the truth: each hit reassigned with probability 0.3, some left unassigned
        noisy = np.where(rng.random(330) < 0.3, rng.integers(-1, n_part + 1, 330), pid)
        assert trackml_score(particle_id=pid, weight=weight, track_id=noisy) == pytest.approx(
            _reference_score(pid, weight, noisy)
        )
    pid = np.repeat(np.arange(1, 101), 10)
    random = rng.integers(0, 100, 1000)
    assert trackml_score(particle_id=pid, weight=np.ones(1000), track_id=random) < 0.02


def test_order_and_pt_weights() -> None:
    np.testing.assert_allclose(ORDER_WEIGHTS[4:].sum(axis=1), 1.0)
    assert not ORDER_WEIGHTS[:4].any()
    np.testing.assert_allclose(ORDER_WEIGHTS[9, :9], np.array(ORDER_PROFILE) / sum(ORDER_PROFILE))
    assert order_weight(3, 3) == 0.0 and order_weight(20, 25) == 0.0
    assert order_weight(5, 25) == ORDER_WEIGHTS[20, 5]
    # one particle of 9 hits at pT 3 GeV (pT weight 1), listed out of order, one of 3 hits, noise
    tz = np.r_[np.array([8, 0, 1, 2, 3, 4, 5, 6, 7]) * 10.0, [1.0, 2.0, 3.0], [5.0]]
    pid = np.r_[np.full(9, 4), np.full(3, 7), [0]]
    w = hit_weights(
        particle_id=pid, tz=tz, vz=np.zeros(13), pt=np.r_[np.full(9, 3.0), np.full(3, 5.0), [np.nan]]
    )
    assert w.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(
        w[:9], np.array(ORDER_PROFILE)[[8, 0, 1, 2, 3, 4, 5, 6, 7]] / sum(ORDER_PROFILE)
    )
    assert not w[9:].any()
    # pT weight 0.2 below 0.5 GeV vs 1 above 3 GeV: a 5:1 ratio between two identical particles
    pid2 = np.repeat([1, 2], 4)
    w2 = hit_weights(
        particle_id=pid2, tz=np.tile(np.arange(4.0), 2), vz=np.zeros(8), pt=np.repeat([0.3, 4.0], 4)
    )
    assert w2[4:].sum() / w2[:4].sum() == pytest.approx(5.0)


def test_hit_order_counts_from_the_production_vertex() -> None:
    """A particle produced at z = 50 mm whose hits lie on both sides of its vertex: the order weights follow
    |z − v_z|, not |z| (the hit nearest the vertex, z = 49, is the first; z = −5 the last but one)."""
    tz = np.array([-5.0, 49.0, 55.0, 60.0, 70.0, 80.0, 90.0, 100.0, 112.0])
    order = np.argsort(np.abs(tz - 50.0), kind="stable")  # hit indices from the vertex outwards
    rank = np.empty(9, dtype=int)
    rank[order] = np.arange(9)
    w = hit_weights(particle_id=np.full(9, 3), tz=tz, vz=np.full(9, 50.0), pt=np.full(9, 3.0))
    np.testing.assert_allclose(w, np.array(ORDER_PROFILE)[rank] / sum(ORDER_PROFILE))
    from_origin = hit_weights(particle_id=np.full(9, 3), tz=tz, vz=np.zeros(9), pt=np.full(9, 3.0))
    assert not np.allclose(w, from_origin)

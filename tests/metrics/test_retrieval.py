"""AP@k matches hand-computed cases and a brute-force reference; pT-threshold means are named, NaN-safe."""

from __future__ import annotations

import math

import numpy as np
import pytest

from src.metrics.retrieval import average_precision_at_k, mean_at_thresholds

# One event on a line: track 1 = a0, a1, a2 at 0, 1, 3; track 2 = b0, b1 at 1.5, 10.
LINE = np.array([[0.0], [1.0], [3.0], [1.5], [10.0]])
LINE_PID = np.array([1, 1, 1, 2, 2])


def test_hand_computed_line() -> None:
    # a0: neighbours a1 (hit), b0 (miss)           -> (1 + 1/2) / 2 = 0.75, precision@2 = 0.5
    # a1: neighbours b0 (0.5, miss), a0 (1.0, hit)  -> (0 + 1/2) / 2 = 0.25
    # a2: neighbours b0 (1.5, miss), a1 (2.0, hit)  -> (0 + 1/2) / 2 = 0.25
    # b0: neighbour a1 (miss), b1: neighbour a2 (miss) -> 0
    result = average_precision_at_k(LINE, LINE_PID)
    order = np.argsort(result.index)
    np.testing.assert_allclose(result.ap[order], [0.75, 0.25, 0.25, 0.0, 0.0])
    np.testing.assert_allclose(result.r_precision[order], [0.5, 0.5, 0.5, 0.0, 0.0])
    np.testing.assert_array_equal(result.track_length[order], [3, 3, 3, 2, 2])
    assert result.ap.mean() == pytest.approx(0.25)


def test_fakes_are_candidates_but_never_queries() -> None:
    emb = np.vstack([LINE, [[0.9]]])  # a fake LS right next to a0 and a1
    pid = np.append(LINE_PID, -1)
    result = average_precision_at_k(emb, pid)
    assert 5 not in result.index
    ap = dict(zip(result.index.tolist(), result.ap.tolist(), strict=True))
    assert ap[0] == pytest.approx((0 + 1 / 2) / 2)  # a0: fake (miss), then a1 (hit)
    assert ap[1] == pytest.approx((0 + 0) / 2)  # a1: fake (0.1), b0 (0.5): both misses


def test_perfect_and_duplicate_embeddings() -> None:
    pid = np.array([4, 4, 4, 4, 7, 7, 7])
    emb = np.where(pid[:, None] == 4, 0.0, 5.0) * np.ones((1, 3))  # every track collapsed to one point
    result = average_precision_at_k(emb, pid)
    np.testing.assert_allclose(result.ap, 1.0)
    np.testing.assert_allclose(result.r_precision, 1.0)


def test_events_do_not_mix_and_singletons_are_skipped() -> None:
    emb = np.vstack([LINE, LINE])
    pid = np.concatenate([LINE_PID, LINE_PID])  # the same ids in the second event are other tracks
    batch = np.repeat([0, 1], len(LINE))
    both = average_precision_at_k(emb, pid, batch)
    assert both.ap.mean() == pytest.approx(0.25)
    single = average_precision_at_k(np.array([[0.0], [1.0]]), np.array([3, 5]))
    assert len(single.ap) == 0


def test_query_mask_and_empty() -> None:
    result = average_precision_at_k(LINE, LINE_PID, query=[True, False, False, False, False])
    np.testing.assert_allclose(result.ap, [0.75])
    empty = average_precision_at_k(np.zeros((0, 2)), np.zeros(0, dtype=int))
    assert len(empty.ap) == 0
    assert math.isnan(mean_at_thresholds(empty.ap, [], [0.9], prefix="ap@k_pt")["ap@k_pt0.9"])


def test_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    pid = rng.integers(-1, 12, size=120)
    emb = rng.normal(size=(120, 4)) + pid[:, None] * 0.3
    result = average_precision_at_k(emb, pid)
    dist = np.linalg.norm(emb[:, None] - emb[None], axis=-1)
    for i, ap in zip(result.index, result.ap, strict=True):
        length = int((pid == pid[i]).sum())
        order = [j for j in np.argsort(dist[i], kind="stable") if j != i][: length - 1]
        hits = np.cumsum(pid[order] == pid[i]) / np.arange(1, length)
        assert ap == pytest.approx(hits.mean())


def test_threshold_names_and_nan_pt() -> None:
    values, pt = np.array([1.0, 0.5, 0.0]), np.array([0.3, 0.7, np.nan])
    out = mean_at_thresholds(values, pt, [0.0, 0.5, 0.9], prefix="ap@k_pt")
    assert list(out) == ["ap@k_pt0.0", "ap@k_pt0.5", "ap@k_pt0.9"]
    assert out["ap@k_pt0.0"] == pytest.approx(0.5)  # a NaN pT counts at threshold 0 only
    assert out["ap@k_pt0.5"] == pytest.approx(0.5)
    assert math.isnan(out["ap@k_pt0.9"])

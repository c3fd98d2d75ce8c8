"""CLUE and CLUE3D on hand-made layouts: seeds, followers and outliers where the definitions put them,
layers and endcaps kept apart, small tracksters dropped, labels independent of the input order."""

from __future__ import annotations

import numpy as np

from src.reco.clue import clue, follow_peaks
from src.reco.clue3d import CLUE3DConfig, clue3d


def test_follow_peaks_passes_seed_labels_down_chains_and_stops_at_outliers() -> None:
    # 0 seed <- 1 <- 2 ; 3 outlier <- 4 ; 5 seed ; 6 has no nearest higher and is not a seed
    parent = np.array([-1, 0, 1, -1, 3, -1, -1])
    seed = np.array([True, False, False, False, False, True, False])
    outlier = np.array([False, False, False, True, False, False, False])
    assert follow_peaks(parent, seed, outlier).tolist() == [0, 0, 0, -1, -1, 1, -1]


def _layer(points: list[tuple[float, float, float]], layer: int = 0) -> tuple[np.ndarray, ...]:
    x, y, e = (np.array(c, dtype=np.float64) for c in zip(*points, strict=True))
    return x, y, np.full(len(x), layer), e


def test_clue_finds_two_blobs_and_an_isolated_noise_hit() -> None:
    blob_a = [(0, 0, 1.0), (10, 0, 0.3), (0, 10, 0.3), (-10, 0, 0.2)]
    blob_b = [(100, 0, 0.8), (110, 0, 0.4), (100, -10, 0.2)]
    noise = [(300, 300, 0.002)]  # far from everything, below rho_c = 9 x 0.001
    x, y, key, e = _layer(blob_a + blob_b + noise)
    n = len(e)
    labels = clue(x, y, key, e, noise=np.full(n, 0.001), dc=np.full(n, 13.0), kappa=9.0, outlier_factor=2.0)
    assert labels.tolist() == [0, 0, 0, 0, 1, 1, 1, -1]


def test_clue_keeps_layers_apart_and_a_dense_isolated_hit_is_its_own_cluster() -> None:
    x = np.array([0.0, 5.0, 0.0, 5.0])
    y = np.zeros(4)
    key = np.array([0, 0, 1, 1])  # two layers, same (x, y)
    e = np.array([1.0, 0.5, 2.0, 0.1])
    labels = clue(x, y, key, e, noise=np.full(4, 0.01), dc=np.full(4, 13.0), kappa=9.0, outlier_factor=2.0)
    assert labels[0] == labels[1] != labels[2] == labels[3]
    assert (labels >= 0).all()


def test_clue_labels_do_not_depend_on_the_order_of_the_hits() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 200, 300), rng.uniform(0, 200, 300)
    key = rng.integers(0, 3, 300)
    e = rng.exponential(0.05, 300)
    kw = {"noise": np.full(300, 0.002), "dc": np.full(300, 13.0), "kappa": 9.0, "outlier_factor": 2.0}
    labels = clue(x, y, key, e, **kw)
    perm = rng.permutation(300)
    shuffled = clue(x[perm], y[perm], key[perm], e[perm], **kw)
    # the same partition (cluster numbers may differ): pairs of hits share a cluster in both or neither
    same = labels[:, None] == labels[None, :]
    same_shuffled = np.empty_like(same)
    same_shuffled[np.ix_(perm, perm)] = shuffled[:, None] == shuffled[None, :]
    assert ((same & (labels[:, None] >= 0)) == (same_shuffled & (labels[:, None] >= 0))).all()


def _column(
    x0: float, y0: float, layers: range, energy: float, z_sign: float = 1.0
) -> list[tuple[float, float, float, int, float]]:
    """Layer clusters of a shower pointing at the origin: (x, y, z, layer, energy) per layer."""
    out = []
    for lay in layers:
        z = 3200.0 + 13.5 * lay
        out.append((x0 * z / 3200.0, y0 * z / 3200.0, z_sign * z, lay, energy))
    return out


def _clue3d(lcs: list[tuple[float, float, float, int, float]]) -> np.ndarray:
    x, y, z, layer, e = (np.array(c) for c in zip(*lcs, strict=True))
    return clue3d(np.stack([x, y, z], 1), layer, e, CLUE3DConfig())


def test_clue3d_makes_one_trackster_per_projective_column() -> None:
    a = _column(800.0, 0.0, range(0, 10), 1.0)
    b = _column(800.0, 200.0, range(2, 12), 0.8)
    labels = _clue3d(a + b)
    assert len(set(labels[:10])) == 1 and len(set(labels[10:])) == 1
    assert labels[0] != labels[10] and (labels >= 0).all()


def test_clue3d_never_mixes_endcaps_and_drops_single_layer_clusters() -> None:
    plus = _column(800.0, 0.0, range(0, 6), 1.0)
    minus = _column(800.0, 0.0, range(0, 6), 1.0, z_sign=-1.0)
    lone = [(-900.0, -900.0, 3200.0 + 13.5 * 20, 20, 1.0)]  # a seed with nothing around: 1 layer cluster
    labels = _clue3d(plus + minus + lone)
    assert set(labels[:6]).isdisjoint(labels[6:12])
    assert labels[-1] == -1  # fewer than min_layer_clusters = 2
    assert sorted(set(labels[:12])) == [0, 1]

"""LDA fit and transform; the capped radius graph (nearest within radius, cap, saturation, no PyG extras)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from src.reco.graphs import graph_saturation, max_neighbours, radius_pairs, same_track_pairs, symmetrize
from src.reco.lda import fit_lda


def _tracks(n_tracks: int, per_track: int, n_features: int = 6, *, seed: int = 0):
    """Objects whose first two features are set by their track, the rest is noise."""
    rng = np.random.default_rng(seed)
    pid = np.repeat(np.arange(n_tracks), per_track)
    centres = rng.normal(scale=5.0, size=(n_tracks, 2))
    x = rng.normal(size=(len(pid), n_features))
    x[:, :2] = centres[pid] + 0.05 * rng.normal(size=(len(pid), 2))
    return x, pid


def test_lda_transform_is_sklearns_and_separates_tracks() -> None:
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    x, pid = _tracks(40, 5)
    fake_x = np.random.default_rng(1).normal(scale=50.0, size=(30, x.shape[1]))
    lda = fit_lda([np.vstack([x, fake_x])], [np.concatenate([pid, -np.ones(30, int)])], n_components=2)
    reference = LinearDiscriminantAnalysis(n_components=2).fit(x, pid)  # fakes are left out of the fit
    np.testing.assert_allclose(lda.transform(x), reference.transform(x), atol=1e-8)
    z = lda.transform(x)
    within = np.mean([z[pid == t].std(0).mean() for t in range(40)])
    assert within < 0.1 * z.std(0).mean()


def test_lda_classes_are_per_event_and_capped() -> None:
    x, pid = _tracks(30, 4)
    lda = fit_lda([x[:60], x[60:]], [pid[:60], pid[60:] - 15], n_components=2, max_tracks=10)
    assert lda.n_tracks == 10 and lda.n_objects == 40
    with pytest.raises(ValueError, match="lda_components"):
        fit_lda([x[:8]], [pid[:8]], n_components=3)


def test_radius_pairs_keeps_the_nearest_within_radius() -> None:
    rng = np.random.default_rng(2)
    pos = rng.uniform(size=(200, 3))
    batch = np.repeat([0, 1], 100)
    edges = radius_pairs(pos, batch, radius=0.3, k=5)
    src, dst = edges
    assert (src != dst).all() and (batch[src] == batch[dst]).all()
    assert np.bincount(src, minlength=200).max() <= 5
    dist = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    assert (dist[src, dst] <= 0.3).all()
    for i in range(0, 200, 17):  # each object's edges are its nearest others of the event in the radius
        same = np.flatnonzero((batch == batch[i]) & (np.arange(200) != i) & (dist[i] <= 0.3))
        expected = same[np.argsort(dist[i, same])][:5]
        assert sorted(dst[src == i]) == sorted(expected)


def test_neighbour_cap_follows_sqrt_n() -> None:
    assert max_neighbours(100, 0.2) == 2 and max_neighbours(10_000, 0.2) == 20 and max_neighbours(1, 0.2) == 1
    pos = np.random.default_rng(3).normal(size=(400, 2))
    edges = radius_pairs(pos, radius=100.0, factor=0.2)
    assert np.bincount(edges[0]).max() == 4
    with pytest.raises(ValueError, match="exactly one"):
        radius_pairs(pos, radius=1.0)


def test_same_track_pairs_and_saturation() -> None:
    pid = np.array([3, 3, 3, -1, 5, 5])
    pairs = same_track_pairs(pid)
    assert pairs.shape[1] == 3 * 2 + 2 * 1
    assert graph_saturation(pairs, pid) == 1.0
    partial = symmetrize(np.array([[0, 4], [1, 5]]))  # 0-1 of track 3 and 4-5 of track 5, both ways
    assert graph_saturation(partial, pid) == pytest.approx(4 / 8)
    assert np.isnan(graph_saturation(np.zeros((2, 0), int), np.array([-1, 7])))
    # the same ids in another event are another track
    assert same_track_pairs(np.array([1, 1, 1, 1]), np.array([0, 0, 1, 1])).shape[1] == 4


def test_no_compiled_pyg_extras_needed(monkeypatch) -> None:
    for name in ("torch_cluster", "torch_scatter", "torch_sparse", "pyg_lib"):
        monkeypatch.setitem(sys.modules, name, None)  # any import of them now raises ImportError
    edges = radius_pairs(np.random.default_rng(4).uniform(size=(50, 3)), radius=0.5, factor=0.2)
    assert edges.shape[0] == 2 and edges.shape[1] > 0

"""Truth bookkeeping against hand-computed cases: generator-status-1 ancestors, merged CSR contributions in
first-appearance order, the particle behind a hit and a cluster (ties to the first), cluster spreads."""

from __future__ import annotations

import numpy as np
import pytest

from src.io.edm4hep.truth import (
    cluster_particles,
    cluster_spread,
    generator_ancestor,
    hit_particles,
    merge_contributions,
    segment_argmax,
)


def test_generator_ancestor() -> None:
    # 0 Z (status 2) -> 1 mu (1) -> 2 brems photon (0) -> 3 electron (0); 4 pi (1); 5 orphan (0)
    status = np.array([2, 1, 0, 0, 1, 0])
    parent = np.array([-1, 0, 1, 2, -1, -1])
    assert generator_ancestor(status, parent).tolist() == [-1, 1, 1, 1, 4, -1]
    assert generator_ancestor(np.zeros(0, int), np.zeros(0, int)).tolist() == []


def test_merge_contributions_sums_and_keeps_first_order() -> None:
    hit = np.array([2, 0, 2, 2, 0, 1])
    particle = np.array([5, 3, 1, 5, -1, 3])
    energy = np.array([1.0, 2.0, 3.0, 0.5, 9.0, 4.0], np.float32)
    ptr, p, e = merge_contributions(hit, particle, energy, n_hits=4)
    assert ptr.tolist() == [0, 1, 2, 4, 4]
    assert p.tolist() == [3, 3, 5, 1]
    assert e.tolist() == [2.0, 4.0, 1.5, 3.0]
    empty = merge_contributions(np.zeros(0, int), np.zeros(0, int), np.zeros(0, np.float32), n_hits=2)
    assert empty[0].tolist() == [0, 0, 0] and len(empty[1]) == 0


def test_argmax_per_segment_and_particles() -> None:
    ptr = np.array([0, 2, 2, 5])
    energy = np.array([1.0, 3.0, 2.0, 2.0, 1.0])
    assert segment_argmax(ptr, energy).tolist() == [1, -1, 2]  # a tie goes to the first
    assert hit_particles(ptr, np.array([7, 8, 9, 4, 5]), energy).tolist() == [8, -1, 9]


def test_cluster_particles() -> None:
    hit_cluster = np.array([0, 0, 1, -1])
    ptr = np.array([0, 1, 3, 4, 5])
    particle = np.array([2, 1, 2, 1, 1])
    energy = np.array([1.0, 0.6, 0.6, 5.0, 7.0])
    # cluster 0: particle 2 has 1.6, particle 1 0.6; cluster 1: particle 1 5.0; cluster 2: no hits
    assert cluster_particles(hit_cluster, ptr, particle, energy, 3).tolist() == [2, 1, -1]


def test_cluster_spread() -> None:
    hit_cluster = np.array([0, 0, 1, -1])
    xyz = np.array([[0.0, 0, 0], [3.0, 0, 6], [5.0, 5, 5], [9.0, 9, 9]])
    energy = np.array([2.0, 1.0, 1.0, 1.0])
    spread = cluster_spread(hit_cluster, xyz, energy, 3)
    assert spread[0] == pytest.approx([np.sqrt(2.0), 0.0, np.sqrt(8.0)])
    assert spread[1].tolist() == [0.0, 0.0, 0.0]
    assert np.isnan(spread[2]).all()

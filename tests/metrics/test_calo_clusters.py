"""Calorimeter cluster metrics on hand-made events: perfect, all-noise, split and merged clusters, shared
hits, fake clusters, ARI, type confusion and energy/direction resolution."""

from __future__ import annotations

import math

import numpy as np
import pytest

from src.metrics.calo_clusters import (
    ClusterCounts,
    accuracy,
    adjusted_rand_index,
    angular_resolution,
    cluster_counts,
    confusion_matrix,
    energy_resolution,
    match_clusters,
)


def _one_per_hit(particle, energy):
    """Contributions of hits that each belong to one particle (−1: noise)."""
    particle = np.asarray(particle)
    return {
        "contrib_hit": np.arange(len(particle)),
        "contrib_particle": particle,
        "contrib_energy": np.asarray(energy, dtype=float),
    }


def _rates(labels, particle, energy, **kw):
    match = match_clusters(labels=labels, hit_energy=energy, **_one_per_hit(particle, energy))
    return cluster_counts(match, **kw).rates(), match


def test_perfect_clustering():
    particle = np.array([0, 0, 0, 1, 1, 2, -1])
    energy = np.array([1.0, 2.0, 3.0, 4.0, 4.0, 5.0, 0.1])
    labels = np.array([7, 7, 7, 3, 3, 9, -1])  # any label values; the noise hit unclustered
    rates, match = _rates(labels, particle, energy)
    assert rates == {
        "efficiency": 1.0,
        "purity": 1.0,
        "found_fraction": 1.0,
        "fake_rate": 0.0,
        "fake_energy_fraction": 0.0,
    }
    assert match.clusters.loc[7, "particle"] == 0 and match.clusters.loc[3, "particle"] == 1
    assert adjusted_rand_index(particle, labels) == 1.0


def test_all_noise_event():
    particle = np.full(4, -1)
    energy = np.ones(4)
    rates, match = _rates(np.full(4, -1), particle, energy)
    assert len(match.particles) == 0 and len(match.clusters) == 0
    assert all(math.isnan(v) for v in rates.values())
    # clustering the noise makes one fake cluster holding all clustered energy
    rates, _ = _rates(np.zeros(4, dtype=int), particle, energy)
    assert rates["fake_rate"] == 1.0 and rates["fake_energy_fraction"] == 1.0
    assert math.isnan(rates["efficiency"])


def test_split_particle():
    # particle 0 (10 GeV) split 7/3 into clusters 0 and 1: found in cluster 0 with efficiency 0.7;
    # cluster 1 (3 GeV) matches nothing: a fake. Particle 1 (5 GeV) is perfect.
    particle = np.array([0, 0, 0, 1])
    energy = np.array([4.0, 3.0, 3.0, 5.0])
    labels = np.array([0, 0, 1, 2])
    rates, match = _rates(labels, particle, energy)
    assert match.particles.loc[0, "efficiency"] == pytest.approx(0.7)
    assert rates["efficiency"] == pytest.approx((7 + 5) / 15)
    assert rates["purity"] == 1.0
    assert rates["found_fraction"] == 1.0
    assert rates["fake_rate"] == pytest.approx(1 / 3)
    assert rates["fake_energy_fraction"] == pytest.approx(3 / 15)
    # a 40/30/30 split: no cluster holds more than half, the particle is lost
    rates, match = _rates(np.array([0, 1, 2, 3]), particle, energy)
    assert not match.particles.loc[0, "found"]
    assert rates["efficiency"] == pytest.approx(5 / 15)
    assert rates["found_fraction"] == 0.5


def test_merged_particles():
    # particles 0 (6 GeV) and 1 (2 GeV) in one cluster: 0 is found with purity 0.75, 1 is lost
    particle = np.array([0, 0, 1])
    energy = np.array([3.0, 3.0, 2.0])
    rates, match = _rates(np.zeros(3, dtype=int), particle, energy)
    assert match.particles.loc[0, "found"] and not match.particles.loc[1, "found"]
    assert rates["efficiency"] == pytest.approx(6 / 8)
    assert rates["purity"] == pytest.approx(0.75)
    assert rates["found_fraction"] == 0.5
    assert rates["fake_rate"] == 0.0
    # two equal particles merged: neither holds more than half of the cluster
    rates, _ = _rates(np.zeros(2, dtype=int), np.array([0, 1]), np.array([1.0, 1.0]))
    assert rates["efficiency"] == 0.0 and rates["fake_rate"] == 1.0
    assert adjusted_rand_index([0, 0, 1, 1], [0, 0, 0, 0]) == 0.0


def test_shared_hits_split_their_energy_by_contribution():
    # hit 0 (4 GeV): 3 from particle 0, 1 from particle 1; hit 1: particle 1 only (2 GeV)
    match = match_clusters(
        labels=[0, 1],
        hit_energy=[4.0, 2.0],
        contrib_hit=[0, 0, 1],
        contrib_particle=[0, 1, 1],
        contrib_energy=[3.0, 1.0, 2.0],
    )
    p = match.particles
    assert p.loc[0, "purity"] == pytest.approx(0.75) and p.loc[0, "efficiency"] == 1.0
    assert p.loc[1, "cluster"] == 1 and p.loc[1, "efficiency"] == pytest.approx(2 / 3)
    counts = cluster_counts(match) + cluster_counts(match)
    assert counts.n_particles == 4 and counts.particle_energy == pytest.approx(12.0)


def test_minimum_particle_energy_drops_small_particles():
    rates, _ = _rates(np.array([0, -1]), np.array([0, 1]), np.array([5.0, 0.01]), min_particle_energy=0.1)
    assert rates["found_fraction"] == 1.0 and rates["efficiency"] == 1.0


def test_counts_add_and_empty_counts_are_nan():
    assert all(math.isnan(v) for v in ClusterCounts().rates().values())
    a = ClusterCounts(particle_energy=2.0, captured_energy=1.0)
    assert (a + a).rates()["efficiency"] == 0.5


def test_confusion_accuracy_and_resolutions():
    cm = confusion_matrix([0, 0, 1, 2], [0, 1, 1, 2], 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert accuracy(cm) == 0.75
    assert math.isnan(accuracy(np.zeros((2, 2))))
    true = np.full(101, 10.0)
    pred = true * (1.0 + np.linspace(-0.1, 0.1, 101))  # response uniform in [0.9, 1.1]
    res = energy_resolution(pred, true)
    assert res["response"] == pytest.approx(1.0)
    assert res["resolution"] == pytest.approx(0.068, abs=1e-9)
    angle = 0.01
    dirs = np.array([[np.sin(angle), 0.0, np.cos(angle)]] * 4)
    assert angular_resolution(dirs, np.array([[0.0, 0.0, 1.0]] * 4)) == pytest.approx(angle)
    assert math.isnan(angular_resolution(np.zeros((0, 3)), np.zeros((0, 3))))

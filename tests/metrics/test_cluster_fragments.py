"""Asserts the fragmentation figures on hand-made events: one cluster per particle gives one cluster per
particle and full containment, a split particle counts its clusters (significant ones: at least the given
share of its energy) and its leading share, noise clusters
and single-hit clusters are counted, particles below the energy cut drop out with their clusters, and
events add up."""

from __future__ import annotations

import math

import numpy as np
import pytest

from src.metrics.cluster_fragments import FragmentCounts, fragment_counts


def counts(labels: list[int], energy: list[float], particle: list[int], **kw: float) -> FragmentCounts:
    """Counts of an event with one contribution per hit (``particle`` −1: a noise hit)."""
    return fragment_counts(
        labels=labels, hit_energy=energy, contrib_hit=np.arange(len(labels)), contrib_particle=particle,
        contrib_energy=energy, **kw,
    )  # fmt: skip


def test_one_cluster_per_particle() -> None:
    rates = counts([0, 0, 1, 1], [1.0, 2.0, 3.0, 1.0], [0, 0, 1, 1]).rates()
    assert rates["clusters_per_particle"] == 1.0 and rates["containment"] == 1.0
    assert rates["leading_fraction"] == 1.0 and rates["noise_clusters"] == 0.0 and rates["clusters"] == 2.0


def test_a_split_particle_noise_and_single_hits() -> None:
    # particle 0: 6 GeV in cluster 0, 2 in cluster 1; cluster 2 is one noise hit; one hit unclustered
    c = counts([0, 0, 1, 2, -1], [4.0, 2.0, 2.0, 0.5, 1.0], [0, 0, 0, -1, 0])
    assert (c.n_particles, c.n_clusters, c.n_particle_clusters, c.n_noise_clusters, c.n_single_hit) == (
        1, 3, 2, 1, 2,
    )  # fmt: skip
    rates = c.rates()
    assert rates["containment"] == pytest.approx(6 / 9) and rates["leading_fraction"] == pytest.approx(6 / 9)
    assert rates["clusters_per_particle"] == 2.0 and rates["significant_per_particle"] == 2.0
    assert counts([0, 0, 1, 2], [4.0, 2.0, 2.0, 0.2], [0, 0, 0, 0], min_share=0.1).n_significant == 2


def test_particles_below_the_cut_drop_out_with_their_clusters() -> None:
    c = counts([0, 1], [5.0, 0.05], [0, 1], min_particle_energy=0.1)
    assert c.n_particles == 1 and c.n_particle_clusters == 1 and c.n_clusters == 2
    assert c.particle_energy == 5.0


def test_events_add_and_empty_ratios_are_nan() -> None:
    a = counts([0], [2.0], [0])
    b = counts([0, 1], [1.0, 1.0], [0, 0])
    total = (a + b).rates()
    assert total["clusters_per_particle"] == 1.5 and total["containment"] == 0.75 and total["clusters"] == 1.5
    assert math.isnan(FragmentCounts().rates()["containment"])

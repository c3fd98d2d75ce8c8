"""Energy-weighted linking metrics against hand-computed cases: weighted confusion, rates and their NaN
cases, the F1-maximising threshold with ties, the split by edge category, superclusters and their missed
and contaminating energy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from src.metrics.linking import (
    best_f1_threshold,
    edge_metrics,
    energy_fractions,
    rates,
    single_parent,
    supercluster_energies,
    superclusters,
    weighted_confusion,
)


def test_weighted_confusion_and_rates_by_hand() -> None:
    pred = [True, True, False, False, True]
    truth = [True, False, True, False, True]
    weight = [10.0, 2.0, 5.0, 1.0, 3.0]
    c = weighted_confusion(pred, truth, weight)
    assert c == {"tp": 13.0, "fp": 2.0, "fn": 5.0, "tn": 1.0}
    r = rates(c)
    assert r["precision"] == pytest.approx(13 / 15)
    assert r["recall"] == pytest.approx(13 / 18)
    assert r["f1"] == pytest.approx(26 / 33)
    assert r["false_link_rate"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("pred", "truth", "expect"),
    [
        ([], [], {"precision": math.nan, "recall": math.nan, "f1": math.nan}),  # empty
        ([False, False], [False, False], {"precision": math.nan, "recall": math.nan, "f1": math.nan}),
        ([True, True], [True, True], {"precision": 1.0, "recall": 1.0, "f1": 1.0}),  # perfect
        ([False, False], [True, True], {"precision": math.nan, "recall": 0.0, "f1": 0.0}),  # nothing linked
    ],
)
def test_rates_edge_cases(pred: list, truth: list, expect: dict) -> None:
    r = rates(weighted_confusion(pred, truth, np.ones(len(pred))))
    for k, v in expect.items():
        assert (math.isnan(r[k]) and math.isnan(v)) or r[k] == pytest.approx(v), (k, r[k], v)


def test_best_f1_threshold_moves_ties_together() -> None:
    scores = [0.9, 0.8, 0.8, 0.3, 0.1]
    truth = [True, True, False, True, False]
    weight = [1.0, 1.0, 1.0, 1.0, 1.0]
    # t = 0.9: F1 = 2/(1+3); t = 0.8 (keeps the tie): 2*2/(3+3) = 2/3; t = 0.3: 2*3/(4+3) = 6/7
    f1, threshold = best_f1_threshold(scores, truth, weight)
    assert f1 == pytest.approx(6 / 7) and threshold == 0.3
    # a heavy false edge in the tie at 0.8 moves the best threshold up to 0.9: F1 = 2/(1 + 3)
    f1, threshold = best_f1_threshold(scores, truth, [1.0, 1.0, 10.0, 1.0, 1.0])
    assert f1 == pytest.approx(0.5) and threshold == 0.9
    assert math.isnan(best_f1_threshold([0.1, 0.2], [False, False], [1.0, 1.0])[0])


def test_edge_metrics_split_by_category() -> None:
    decision = np.array([True, False, True, True])
    truth = np.array([True, True, True, False])
    weight = np.array([4.0, 1.0, 2.0, 3.0])
    category = np.array([0, 0, 1, 2])
    m = edge_metrics(decision, truth, weight, category)
    assert m["edge_precision"] == pytest.approx(6 / 9)
    assert m["edge_recall"] == pytest.approx(6 / 7)
    assert m["edge_recall_sig_sig"] == pytest.approx(4 / 5) and m["edge_precision_sig_sig"] == 1.0
    assert m["edge_f1_pu_pu"] == 1.0
    assert m["edge_false_link_rate_sig_pu"] == 1.0
    assert "edge_f1_sig_pu" not in m


def test_superclusters_are_connected_components_of_linked_edges() -> None:
    edges = np.array([[0, 1, 3, 2], [1, 2, 4, 4]])
    labels = superclusters(6, edges, [True, True, True, False])
    assert labels[0] == labels[1] == labels[2] != labels[3] == labels[4] != labels[5]


def test_missed_and_contaminating_energy_by_hand() -> None:
    # particle 0 (signal) in tracksters 0 (8 GeV) and 1 (2 GeV); particle 1 (pileup) in trackster 2 (5 GeV)
    # and 1 GeV of trackster 1; superclusters {0, 2} and {1}
    labels = np.array([0, 1, 0])
    node_energy = np.array([8.0, 3.0, 5.0])
    sums = supercluster_energies(
        labels,
        node_energy,
        pair_node=np.array([0, 1, 1, 2]),
        pair_sim=np.array([0, 0, 1, 1]),
        pair_shared=np.array([8.0, 2.0, 1.0, 5.0]),
        sim_pileup=np.array([False, True]),
    )
    # particle 0: E_p = 10, best supercluster 0 (shares 8, raw 13): missed 2, contaminating 5
    # particle 1: E_p = 6, best supercluster 0 (shares 5): missed 1, contaminating 8
    assert sums == {
        "particle_energy_sig": 10.0,
        "missed_energy_sig": 2.0,
        "contaminating_energy_sig": 5.0,
        "particle_energy_pu": 6.0,
        "missed_energy_pu": 1.0,
        "contaminating_energy_pu": 8.0,
    }
    f = energy_fractions(sums)
    assert f["missed_energy_sig"] == pytest.approx(0.2) and f["contaminating_energy_pu"] == pytest.approx(
        8 / 6
    )
    assert f["missed_plus_contaminating_sig"] == pytest.approx(0.7)


def test_supercluster_energies_of_an_event_without_particles_are_zero() -> None:
    empty = np.zeros(0)
    sums = supercluster_energies(
        np.array([0]), np.array([1.0]), pair_node=empty, pair_sim=empty, pair_shared=empty, sim_pileup=empty
    )
    assert set(sums.values()) == {0.0}
    assert math.isnan(energy_fractions(sums)["missed_energy_sig"])


def test_only_scored_particles_count() -> None:
    sums = supercluster_energies(
        np.array([0, 1]),
        np.array([10.0, 4.0]),
        pair_node=np.array([0, 0, 1]),
        pair_sim=np.array([0, 1, 1]),
        pair_shared=np.array([9.5, 0.5, 4.0]),
        sim_pileup=np.array([True, True]),
        scored=np.array([True, False]),
    )
    # particle 1 (0.5 GeV in trackster 0, 4 GeV in trackster 1) is not scored: only particle 0 counts
    assert sums["particle_energy_pu"] == 9.5 and sums["contaminating_energy_pu"] == 0.5


def test_single_parent_keeps_each_tracksters_best_link_to_a_more_energetic_one() -> None:
    # a 1 GeV fragment (2) linked to two 50 GeV tracksters (0, 1): it keeps only its best link, so the
    # two big ones stay apart; the link 3 -> 0 (3 is less energetic) is 3's own and stays
    energy = np.array([50.0, 50.0, 1.0, 5.0])
    edges = np.array([[2, 2, 0], [0, 1, 3]])
    keep = single_parent(edges, [True, True, True], [0.7, 0.9, 0.8], energy)
    assert keep.tolist() == [False, True, True]
    labels = superclusters(4, edges, keep)
    assert labels[2] == labels[1] and labels[0] == labels[3] and labels[0] != labels[1]
    assert single_parent(edges, [False, False, False], [1, 1, 1], energy).tolist() == [False] * 3

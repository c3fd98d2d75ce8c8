"""Graph building on a hand-made layout of tracksters: TICL's tile search (window, φ wrap, endcaps, inner to
outer), the edge features by hand, the edge truth and categories, the geometric baseline's cuts and the
PCA perturbation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from src.event_model import LINK_FEATURE_NAMES, NO_TIME
from src.reco.ticl_graph import (
    PILEUP_PILEUP,
    SIGNAL_PILEUP,
    SIGNAL_SIGNAL,
    F,
    candidate_edges,
    edge_features,
    edge_truth,
)
from src.reco.ticl_linking import GeometricLinker
from src.reco.ticl_perturb import perturb

E = {name: i for i, name in enumerate(LINK_FEATURE_NAMES)}


def test_candidate_edges_of_a_hand_made_layout() -> None:
    #        0     1      2     3      4      5      6       7
    eta = [2.00, 2.05, 2.00, 2.00, 2.40, -2.00, 2.00, 2.00]
    phi = [0.00, 0.05, 0.00, 0.30, 0.00, 0.00, 3.12, -3.12]
    z = [3300, 3400, 3250, 3500, 3600, -3500, 3300, 3400]
    edges = candidate_edges(np.array(eta), np.array(phi), np.array(z))
    got = sorted(map(tuple, edges.T.tolist()))
    # 2 is the innermost of {0, 1, 2}: 2->0, 2->1, 0->1; 3 (dphi 0.3) and 4 (deta 0.4) are out of the
    # tiles; 5 is in the other endcap; 6 and 7 meet across phi = +-pi
    assert got == [(0, 1), (2, 0), (2, 1), (6, 7)]


def test_candidate_edges_follow_the_tiles_not_a_circle() -> None:
    # 0.1 away in eta and in phi (a corner of the window): the tiles overlap, the edge exists
    edges = candidate_edges(np.array([2.02, 2.12]), np.array([0.02, 0.12]), np.array([3300.0, 3400.0]))
    assert edges.T.tolist() == [[0, 1]]
    assert candidate_edges(np.array([2.0]), np.array([0.0]), np.array([3300.0])).shape == (2, 0)


def _node(
    x: float, y: float, z: float, axis: tuple[float, float, float], *, energy: float, time: float
) -> torch.Tensor:
    row = torch.zeros(29, dtype=torch.float64)
    row[F["barycenter_x"]], row[F["barycenter_y"]], row[F["barycenter_z"]] = x, y, z
    row[F["eVector0_x"]], row[F["eVector0_y"]], row[F["eVector0_z"]] = axis
    row[F["raw_energy"]], row[F["time"]] = energy, time
    return row


def test_edge_features_by_hand() -> None:
    a = (0.0, 0.0, 1.0)
    tilted = (np.sin(0.1), 0.0, np.cos(0.1))
    x = torch.stack(
        [
            _node(100.0, 0.0, 3300.0, a, energy=10.0, time=1.0),
            _node(130.0, 40.0, 3400.0, tilted, energy=4.0, time=1.5),
            _node(100.0, 0.0, 3500.0, a, energy=2.0, time=NO_TIME),
        ]
    )
    f = edge_features(x, torch.tensor([[0, 0], [1, 2]]))
    assert f[0, E["delta_raw_energy"]] == pytest.approx(6.0)
    assert f[0, E["delta_z"]] == pytest.approx(100.0)
    assert f[0, E["delta_xy"]] == pytest.approx(50.0)
    assert f[0, E["axis_angle"]] == pytest.approx(0.1, abs=1e-6)
    assert f[0, E["delta_time"]] == pytest.approx(0.5)
    assert f[0, E["miss_distance"]] == pytest.approx(50.0)  # the axis is along z: the transverse offset
    assert f[0, E["pointing_angle"]] == pytest.approx(np.arctan2(50.0, 100.0))
    assert f[1, E["delta_time"]] == -1.0  # one end has no time
    assert f[1, E["miss_distance"]] == pytest.approx(0.0) and f[1, E["pointing_angle"]] == pytest.approx(
        0.0, abs=1e-6
    )


def test_edge_truth_needs_the_same_particle_and_categories_follow_the_origins() -> None:
    particle = np.array([0, 0, 1, -1, 2, 2])
    pileup = np.array([False, False, True, True, True, True])
    edges = np.array([[0, 0, 2, 3, 4, 1], [1, 2, 3, 4, 5, 3]])
    true, category = edge_truth(particle, pileup, edges)
    assert true.tolist() == [True, False, False, False, True, False]
    assert category.tolist() == [
        SIGNAL_SIGNAL,
        SIGNAL_PILEUP,
        PILEUP_PILEUP,
        PILEUP_PILEUP,
        PILEUP_PILEUP,
        SIGNAL_PILEUP,
    ]


def test_geometric_baseline_applies_every_cut() -> None:
    base = np.array([1.0, 100.0, 20.0, 0.1, 0.1, 10.0, 0.1])
    rows = np.tile(base, (5, 1))
    rows[1, E["axis_angle"]] = 0.5
    rows[2, E["miss_distance"]] = 40.0
    rows[3, E["pointing_angle"]] = 0.5
    rows[4, E["delta_z"]] = 700.0
    linker = GeometricLinker(
        max_axis_angle=0.3, max_miss_distance=30.0, max_pointing_angle=0.3, max_delta_z=600.0
    )
    assert linker(rows).tolist() == [True, False, False, False, False]
    with pytest.raises(ValueError, match="> 0"):
        GeometricLinker(max_axis_angle=0.0)


def test_perturbation_moves_barycentres_within_their_spread_and_updates_eta_phi() -> None:
    x = torch.stack([_node(100.0, 50.0, 3300.0, (0.0, 0.0, 1.0), energy=5.0, time=1.0)] * 2)
    x[:, F["sigmaPCA1"]], x[:, F["sigmaPCA2"]], x[:, F["sigmaPCA3"]] = 20.0, 5.0, 5.0
    x[1, [F["sigmaPCA1"], F["sigmaPCA2"], F["sigmaPCA3"]]] = 0.0
    out = perturb(x, 2000, generator=torch.Generator().manual_seed(0))
    shift = out[:, 0, [F["barycenter_x"], F["barycenter_y"], F["barycenter_z"]]] - x[0, :3]
    assert shift[:, 2].std().item() == pytest.approx(20.0, rel=0.1)  # along the axis: sigmaPCA1
    assert shift[:, 0].std().item() == pytest.approx(5.0, rel=0.1)
    cols = [F["barycenter_x"], F["barycenter_y"], F["barycenter_z"]]
    assert torch.allclose(out[:, 1, cols], x[1, cols], atol=1e-4)  # no spread, no move
    r = torch.hypot(out[..., F["barycenter_x"]], out[..., F["barycenter_y"]])
    assert torch.allclose(out[..., F["barycenter_eta"]], torch.asinh(out[..., F["barycenter_z"]] / r))

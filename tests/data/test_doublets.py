"""Asserts the doublet features of hits: on clean helices from the beam line each hit's doublet outward
(all but a track's last hit) and inward (all but its first) gives its track's curvature and z0 (as the
helix frame's truth has them), azimuth and cot θ at the vertex; with no hit further out (or in) a hit
takes the other side's doublet, a lone hit its own direction; the hit view names the ten columns."""

from __future__ import annotations

import numpy as np
import torch

from src.data.doublets import DOUBLET_COLUMNS, doublet_features
from src.data.views import HitView, helix_truth
from src.sim.tracker.config import PARTICLE_DTYPE
from src.sim.tracker.helix import make_helices


def _tracks() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hits (mm) of three helices of both charges from (0, 0, vz), far apart in φ, five hits each; each
    hit's (z0 / 100 mm, κ per m) and (φ0, cot θ) at the vertex."""
    p = np.zeros(3, dtype=PARTICLE_DTYPE)
    p["px"], p["py"], p["pz"] = [1.2, -0.9, -0.5], [0.3, 0.9, -1.4], [0.8, -0.6, 2.0]
    p["q"], p["vz"] = [1, -1, 1], [2.5, -4.0, 0.0]  # cm
    hx = make_helices(p, 2.0, 1.0)
    rows = np.repeat(np.arange(3), 5)
    s = np.tile([3.2, 7.2, 11.6, 17.2, 26.0], 3)  # cm of transverse path
    pos = np.stack(hx.at(rows, s), axis=1) * 10.0
    pt = np.hypot(p["px"], p["py"])
    truth = helix_truth(
        torch.tensor(p["vz"][rows] * 10.0),
        torch.tensor(p["q"][rows] / pt[rows]),
        torch.full((len(rows),), 2.0, dtype=torch.float64),
    ).numpy()
    vertex = np.stack([np.arctan2(p["py"], p["px"])[rows], (p["pz"] / pt)[rows]], axis=1)
    return pos, truth, vertex


def test_doublets_on_clean_helices_give_each_hits_track() -> None:
    pos, truth, vertex = _tracks()
    got = doublet_features(torch.tensor(pos)).double().numpy()
    width = len(DOUBLET_COLUMNS)
    assert got.shape == (len(pos), 2 * width)
    hit = np.arange(len(pos)) % 5
    for side, rows in ((got[:, :width], hit < 4), (got[:, width:], hit > 0)):
        kappa, z0, sin_phi0, cos_phi0, cot = side[rows].T
        np.testing.assert_allclose(kappa, truth[rows, 1], atol=1e-4)
        np.testing.assert_allclose(z0 / 100.0, truth[rows, 0], atol=1e-4)
        np.testing.assert_allclose(np.arctan2(sin_phi0, cos_phi0), vertex[rows, 0], atol=1e-5)
        np.testing.assert_allclose(cot, vertex[rows, 1], atol=1e-5)
    # one track alone: its outermost hit has no hit further out and takes its inward doublet (and the
    # innermost its outward one)
    one = doublet_features(torch.tensor(pos[:5])).numpy()
    np.testing.assert_array_equal(one[4, :width], one[4, width:])
    np.testing.assert_array_equal(one[0, width:], one[0, :width])
    np.testing.assert_allclose(one[[0, 4], 0], truth[[0, 4], 1], atol=1e-4)


def test_a_lone_hit_gets_its_own_direction_and_the_view_names_the_columns() -> None:
    got = doublet_features(torch.tensor([[30.0, 40.0, 50.0]]))
    np.testing.assert_allclose(got[0, :5].numpy(), [0.0, 0.0, 0.8, 0.6, 1.0], atol=1e-6)
    assert doublet_features(torch.zeros(0, 3)).shape == (0, 2 * len(DOUBLET_COLUMNS))
    view = HitView(features=("x", "doublets"), coords=("eta", "phi"), targets=("theta", "sin_phi", "cos_phi"))
    assert view.feature_names == ["x", *(f"{s}_{c}" for s in ("out", "in") for c in DOUBLET_COLUMNS)]


def test_blocks_of_rows_change_nothing() -> None:
    pos = torch.tensor(np.random.default_rng(3).normal(0.0, 300.0, (257, 3)))
    whole = doublet_features(pos)
    for chunk in (1, 10, 256):
        torch.testing.assert_close(doublet_features(pos, chunk=chunk), whole, rtol=0, atol=0)

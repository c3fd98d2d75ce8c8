"""Asserts the helix refit: the fit recovers a helix from the beam line, hits move to the candidate whose
helix they lie on, hits that fit nothing keep their label, and on an event of the TrackML-like tracker the
refit mends damaged true tracks and does not lower the Hough finder's TrackML score."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from src.data.hits import SubsetSpec, with_weights
from src.data.sim_hits import trackml_hit_arrays
from src.metrics.trackml_score import trackml_score
from src.reco.helix_refit import HelixRefit, fit_helix
from src.reco.hough import HoughTrackFinder
from src.sim.tracker.config import TrackerSimConfig
from src.sim.tracker.trackml import simulate_trackml_event


def _on_helix(
    radius: float, alpha: float, z0: float, cot: float, swept: np.ndarray, *, sense: int
) -> np.ndarray:
    """Points [N, 3] at angles ``swept`` around the centre, from the origin, on the helix from the origin
    whose circle centre lies at angle ``alpha``; ``sense`` ±1 is the turning direction."""
    centre = radius * np.array([np.cos(alpha), np.sin(alpha)])
    start = alpha + np.pi  # the origin seen from the centre
    turn = start + sense * swept
    xy = centre + radius * np.stack([np.cos(turn), np.sin(turn)], axis=1)
    return np.column_stack([xy, z0 + cot * radius * swept])


def _helix(
    radius: float, alpha: float, z0: float, cot: float, r: np.ndarray, *, sense: int = 1
) -> np.ndarray:
    """Points [N, 3] at transverse radii ``r`` on the first half turn of the helix (as :func:`_on_helix`)."""
    return _on_helix(radius, alpha, z0, cot, 2.0 * np.arcsin(r / (2.0 * radius)), sense=sense)


def _refit(**settings: float | None) -> HelixRefit:
    """A refit with 5 mm / 10 mm tolerances, 2 rounds, the helix fitted within 3 tolerances, no looping
    and no merging, unless ``settings`` say otherwise."""
    base = {
        "tol_r": 5.0,
        "tol_z": 10.0,
        "n_iter": 2,
        "outer_radius": None,
        "fit_within": 3.0,
        "merge_fraction": None,
    }
    return HelixRefit(**(base | settings))


R_LAYERS = np.array([32.0, 72.0, 116.0, 172.0, 260.0, 360.0, 500.0, 660.0])


def test_fit_recovers_the_helix() -> None:
    pos = _helix(1500.0, 0.7, -12.0, 0.8, R_LAYERS)
    helix = fit_helix(pos)
    assert helix.radius == pytest.approx(1500.0, rel=1e-6)
    assert np.arctan2(helix.b, helix.a) == pytest.approx(0.7, abs=1e-6)
    assert helix.z0 == pytest.approx(-12.0, abs=1e-6) and helix.cot_theta == pytest.approx(0.8, abs=1e-6)
    d_r, d_z, fits = helix.residuals(pos)
    assert np.allclose(d_r, 0.0, atol=1e-6) and np.allclose(d_z, 0.0, atol=1e-6) and fits.all()
    assert helix.sense == 1 and not helix.loops


def test_hits_move_to_the_helix_they_lie_on() -> None:
    a = _helix(900.0, 0.3, 5.0, 0.2, R_LAYERS)
    b = _helix(2500.0, 0.45, -20.0, -0.3, R_LAYERS)
    stray = np.array([[-300.0, 200.0, 400.0]])  # on neither
    pos = np.vstack([a, b, stray])
    labels = np.array([0, 0, 1, 0, -1, 0, 0, 0] + [1] * 8 + [0])  # a's 3rd hit in b, its 5th unclustered
    out = _refit()(labels, pos)
    assert out[:8].tolist() == [0] * 8 and out[8:16].tolist() == [1] * 8
    assert out[16] == 0  # fits nothing: keeps its label
    assert _refit()(np.array([-1] * 16 + [-1]), pos).tolist() == [-1] * 17


def test_the_other_turning_sense_does_not_fit() -> None:
    track = _helix(800.0, 0.0, 0.0, 0.1, R_LAYERS)
    mirror = _helix(800.0, 0.0, 0.0, 0.1, R_LAYERS[2:3], sense=-1)  # same circle, other half
    pos = np.vstack([track, mirror])
    labels = np.array([0] * 8 + [-1])
    assert _refit()(labels, pos)[-1] == -1


def _looper(radius: float, alpha: float, z0: float, cot: float, *, sense: int, turns: int) -> np.ndarray:
    """Hits [N, 3] of a helix from the origin crossing the layers of ``R_LAYERS`` inside its circle on the
    way out and back in, for ``turns`` turns (as :func:`_on_helix`)."""
    out = 2.0 * np.arcsin(R_LAYERS[: np.searchsorted(R_LAYERS, 2.0 * radius)] / (2.0 * radius))
    swept = np.concatenate([t * 2.0 * np.pi + np.concatenate([out, 2.0 * np.pi - out]) for t in range(turns)])
    return _on_helix(radius, alpha, z0, cot, swept, sense=sense)


@pytest.mark.parametrize("sense", [1, -1])
def test_a_looping_helix_is_fitted_turn_by_turn(sense: int) -> None:
    """A 0.18 GeV track in 2 T (R = 300 mm) crossing seven layers out and in, twice: with the tracker's
    outer radius the fit finds its helix from all the hits and its sense; the returning hits, a candidate
    of their own, join it (the two candidates merge); without, the helix stops at the first half turn and
    they stay apart."""
    pos = _looper(300.0, -2.0, 40.0, 0.3, sense=sense, turns=2)
    helix = fit_helix(pos, outer_radius=1030.0)
    assert helix.loops and helix.sense == sense and helix.radius == pytest.approx(300.0, rel=1e-6)
    assert helix.z0 == pytest.approx(40.0, abs=1e-6) and helix.cot_theta == pytest.approx(0.3, abs=1e-6)
    d_r, d_z, fits = helix.residuals(pos)
    assert np.allclose(d_r, 0.0, atol=1e-6) and np.allclose(d_z, 0.0, atol=1e-6) and fits.all()
    assert not fit_helix(pos[:4], outer_radius=500.0).loops  # 2R = 600: it leaves a tracker of 500 mm
    n = 7  # layers inside the circle
    labels = np.array(([0] * n + [1] * n) * 2)  # out, in, out, in
    refit = _refit(outer_radius=1030.0, merge_fraction=0.8)
    assert len(np.unique(refit(labels, pos))) == 1
    apart = _refit(merge_fraction=0.8)(labels, pos)
    assert len(np.unique(apart[:n])) == 1 and apart[0] != apart[n]


def test_a_track_that_leaves_the_tracker_does_not_loop() -> None:
    """A stiff track (R = 1500 mm) has the first half turn only, outer radius or not: a hit on its circle
    past the half turn does not fit."""
    pos = np.vstack(
        [_helix(1500.0, 0.7, -12.0, 0.8, R_LAYERS), _looper(1500.0, 0.7, -12.0, 0.8, sense=1, turns=1)[-1:]]
    )
    helix = fit_helix(pos[:-1], outer_radius=1030.0)
    assert not helix.loops and not helix.residuals(pos)[2][-1]


def test_refit_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="min_hits"):
        _refit(min_hits=2)
    with pytest.raises(ValueError, match="merge_fraction"):
        _refit(merge_fraction=1.5)


def test_refit_mends_damaged_tracks() -> None:
    """True tracks of a 10-50-particle event of the TrackML-like tracker (the track-regression default),
    with a fifth of their hits taken out and a tenth given to other tracks (score 0.74): the refit with the
    task's tolerances puts most of them back (0.90)."""
    cfg = TrackerSimConfig(pileup=5, b_field=2.0, eta_max=4.0)
    arrays = trackml_hit_arrays(simulate_trackml_event(cfg, 7), cfg, event_id=0)
    spec = SubsetSpec(particles=(10, 50), noise=True, max_vertex_r=10.0)
    (event,) = spec.apply(arrays, rng=np.random.default_rng(5), event_ids=[0])
    event = with_weights(event)
    pid = event["particle_id"]
    _, truth = np.unique(pid, return_inverse=True)
    truth = np.where(pid > 0, truth, -1)
    rng = np.random.default_rng(0)
    damaged = truth.copy()
    roll = rng.random(len(pid))
    damaged[roll < 0.2] = -1
    moved = (roll >= 0.2) & (roll < 0.3) & (truth >= 0)
    damaged[moved] = rng.choice(np.unique(truth[truth >= 0]), moved.sum())
    score = partial(trackml_score, particle_id=pid, weight=event["weight"])
    refit = _refit(tol_r=10.0, tol_z=30.0)
    assert score(track_id=damaged) < 0.8 and score(track_id=refit(damaged, event["hit_pos"])) > 0.85
    hough = HoughTrackFinder()(event["hit_pos"], cfg.b_field)
    assert score(track_id=refit(hough, event["hit_pos"])) >= score(track_id=hough)

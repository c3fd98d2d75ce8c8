"""TrackML score on hand-made cases, subsets, window attention per event, regressor and CLI runs work."""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from src.attention.full import FullAttention
from src.attention.hept import HEPTAttention
from src.attention.window import WindowAttention
from src.data.hits import SubsetSpec, sim_hit_arrays, with_weights
from src.data.tracker_sim import TrackerSimConfig, simulate_event
from src.data.trackml import read_event, read_table
from src.metrics.trackml_score import ORDER_PROFILE, ORDER_WEIGHTS, hit_weights, order_weight, trackml_score
from src.models.hough import HoughTrackFinder
from src.models.transformer_regressor import TransformerRegressor
from src.tasks.track_regression import track_ids
from tests.conftest import run_cli, run_dirs

# --------------------------------------------------------------------------------------- TrackML score


def _reference_score(pid: np.ndarray, weight: np.ndarray, track: np.ndarray) -> float:
    """The challenge's rules, written as plainly as possible (loops), for comparison."""
    track = track.copy()
    for i in np.flatnonzero(track < 0):
        track[i] = track.max() + 1 + i
    total, score = weight.sum(), 0.0
    for t in np.unique(track):
        in_track = track == t
        ids, counts = np.unique(pid[in_track], return_counts=True)
        major = ids[np.argmax(counts)]  # first maximum: the smallest id among ties
        n_major = counts.max()
        if 2 * n_major > in_track.sum() and 2 * n_major > (pid == major).sum():
            score += weight[in_track & (pid == major)].sum()
    return score / total


def test_hand_computed_event() -> None:
    # A: 4 hits, B: 4 hits, C: 2 hits, all of weight 0.1.
    # track 0 = 3 A + 1 B -> A (3/4, 3/4): +0.3; track 1 = 3 B -> B (3/3, 3/4): +0.3;
    # track 2 = 1 A + 2 C -> C (2/3, 2/2): +0.2. Score 0.8.
    pid = np.array([1, 1, 1, 2, 2, 2, 2, 1, 3, 3])
    track = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    assert trackml_score(particle_id=pid, weight=np.full(10, 0.1), track_id=track) == pytest.approx(0.8)


@pytest.mark.parametrize(
    "case,expected",
    [
        ("perfect", 1.0),
        ("all_in_one", 0.0),
        ("halves", 0.0),  # exactly 50% of a particle's hits never counts
        ("singletons", 0.0),
        ("unassigned", 0.0),  # negative ids: every hit on its own
    ],
)
def test_known_properties(case: str, expected: float) -> None:
    pid = np.repeat(np.arange(1, 6), 8)
    weight = np.random.default_rng(0).random(40)
    track = {
        "perfect": pid,
        "all_in_one": np.zeros(40, dtype=np.int64),
        "halves": 2 * pid + (np.arange(40) % 2),
        "singletons": np.arange(40),
        "unassigned": -np.ones(40, dtype=np.int64),
    }[case]
    assert trackml_score(particle_id=pid, weight=weight, track_id=track) == pytest.approx(expected)


def test_noise_hits_and_perfect_with_noise_in_one_track() -> None:
    pid = np.r_[np.repeat([5, 9], 5), np.zeros(4, dtype=np.int64)]
    weight = np.r_[np.full(10, 0.1), np.zeros(4)]
    assert trackml_score(particle_id=pid, weight=weight, track_id=pid) == pytest.approx(1.0)
    # a track of 3 noise hits + 2 hits of particle 5 is noise-majority: it scores nothing
    track = np.r_[[0, 0, 1, 1, 1], np.repeat(2, 5), [0, 0, 0, 3]]
    assert trackml_score(particle_id=pid, weight=weight, track_id=track) == pytest.approx(0.5 + 0.3)


def test_random_assignment_scores_near_zero_and_matches_the_rules() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        n_part = int(rng.integers(2, 30))
        pid = np.r_[rng.integers(1, n_part + 1, 300), np.zeros(30, dtype=np.int64)]
        weight = rng.random(330) * (pid > 0)
        random = rng.integers(0, n_part, 330)
        assert trackml_score(particle_id=pid, weight=weight, track_id=random) == pytest.approx(
            _reference_score(pid, weight, random)
        )
        # a noisy version of the truth: each hit reassigned with probability 0.3, some left unassigned
        noisy = np.where(rng.random(330) < 0.3, rng.integers(-1, n_part + 1, 330), pid)
        assert trackml_score(particle_id=pid, weight=weight, track_id=noisy) == pytest.approx(
            _reference_score(pid, weight, noisy)
        )
    pid = np.repeat(np.arange(1, 101), 10)
    random = rng.integers(0, 100, 1000)
    assert trackml_score(particle_id=pid, weight=np.ones(1000), track_id=random) < 0.02


def test_order_and_pt_weights() -> None:
    np.testing.assert_allclose(ORDER_WEIGHTS[4:].sum(axis=1), 1.0)
    assert not ORDER_WEIGHTS[:4].any()
    np.testing.assert_allclose(ORDER_WEIGHTS[9, :9], np.array(ORDER_PROFILE) / sum(ORDER_PROFILE))
    assert order_weight(3, 3) == 0.0 and order_weight(20, 25) == 0.0
    assert order_weight(5, 25) == ORDER_WEIGHTS[20, 5]
    # one particle of 9 hits at pT 3 GeV (pT weight 1), listed out of order, one of 3 hits, noise
    tz = np.r_[np.array([8, 0, 1, 2, 3, 4, 5, 6, 7]) * 10.0, [1.0, 2.0, 3.0], [5.0]]
    pid = np.r_[np.full(9, 4), np.full(3, 7), [0]]
    w = hit_weights(
        particle_id=pid, tz=tz, vz=np.zeros(13), pt=np.r_[np.full(9, 3.0), np.full(3, 5.0), [np.nan]]
    )
    assert w.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(
        w[:9], np.array(ORDER_PROFILE)[[8, 0, 1, 2, 3, 4, 5, 6, 7]] / sum(ORDER_PROFILE)
    )
    assert not w[9:].any()
    # pT weight 0.2 below 0.5 GeV vs 1 above 3 GeV: a 5:1 ratio between two identical particles
    pid2 = np.repeat([1, 2], 4)
    w2 = hit_weights(
        particle_id=pid2, tz=np.tile(np.arange(4.0), 2), vz=np.zeros(8), pt=np.repeat([0.3, 4.0], 4)
    )
    assert w2[4:].sum() / w2[:4].sum() == pytest.approx(5.0)


def test_track_ids_make_unclustered_hits_singletons() -> None:
    ids = track_ids(np.array([2, -1, 0, -1, 2]))
    assert ids.tolist()[0] == 2 and ids[0] == ids[4] and len(set(ids.tolist())) == 4 and (ids >= 0).all()


# --------------------------------------------------------------------------------------- subsets


@pytest.fixture(scope="module")
def sim_arrays() -> dict[str, np.ndarray]:
    cfg = TrackerSimConfig(pileup=5)
    return sim_hit_arrays(simulate_event(cfg, 11), cfg, event_id=0)


def test_particle_subsets(sim_arrays) -> None:
    def draw(seed: int, noise: bool = True) -> list[dict[str, np.ndarray]]:
        spec = SubsetSpec(particles=(10, 50), per_event=6, noise=noise)
        return spec.apply(sim_arrays, rng=np.random.default_rng(seed), event_ids=range(6))

    subsets = draw(0)
    pid_all = sim_arrays["particle_id"]
    n_all = len(np.unique(pid_all[pid_all > 0]))
    seen: set[int] = set()
    for s in subsets:
        ids = set(np.unique(s["particle_id"][s["particle_id"] > 0]).tolist())
        assert 10 <= len(ids) <= 50 and not ids & seen  # in range, disjoint
        seen |= ids
        for p in list(ids)[:5]:  # every hit of a sampled particle is kept
            assert (s["particle_id"] == p).sum() == (pid_all == p).sum()
        n_noise = int((s["particle_id"] == 0).sum())
        assert n_noise == round((pid_all == 0).sum() * len(ids) / n_all)
    assert max(seen) > sorted(np.unique(pid_all[pid_all > 0]))[len(seen)]  # a random sample, not the first N
    again = draw(0)
    assert all(np.array_equal(a["hit_id"], b["hit_id"]) for a, b in zip(subsets, again, strict=True))
    assert not np.array_equal(draw(1)[0]["hit_id"], subsets[0]["hit_id"])
    assert all((s["particle_id"] > 0).all() for s in draw(0, noise=False))
    weights = with_weights(subsets[0])["weight"]
    assert weights.sum() == pytest.approx(1.0)
    # primaries only, with enough hits; no subset: every eligible particle of the event
    (whole,) = SubsetSpec(max_vertex_r=10.0, min_hits=4, noise=False).apply(
        sim_arrays, rng=np.random.default_rng(0), event_ids=[0]
    )
    vertex_r = np.hypot(whole["particle_vertex"][:, 0], whole["particle_vertex"][:, 1])
    ids, counts = np.unique(whole["particle_id"], return_counts=True)
    assert (vertex_r <= 10.0).all() and (counts >= 4).all() and (ids > 0).all()
    with pytest.raises(ValueError, match="subsets_per_event"):
        SubsetSpec(per_event=2)


# --------------------------------------------------------------------------------------- attention and model


def _inputs(n: int, seed: int, heads: int = 2, dim: int = 6) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(n, heads, dim, generator=gen) for _ in range(3))
    coords = torch.stack(
        [torch.randn(n, generator=gen), (torch.rand(n, generator=gen) * 2 - 1) * math.pi], dim=1
    )
    return q, k, v, coords


def test_window_attention_never_crosses_events() -> None:
    att = WindowAttention(window=4, periodic=[False, True])
    events = [_inputs(n, seed) for n, seed in ((30, 0), (7, 1), (45, 2))]
    alone = [att(*e, torch.zeros(len(e[0]), dtype=torch.long)) for e in events]
    batch = torch.cat([torch.full((len(e[0]),), i) for i, e in enumerate(events)])
    perm = torch.randperm(len(batch), generator=torch.Generator().manual_seed(0))  # interleaved events
    cat = [torch.cat([e[j] for e in events])[perm] for j in range(4)]
    out = att(*cat, batch[perm])
    keys, valid = att.neighbours(cat[3], batch[perm])
    assert (batch[perm][keys][valid] == batch[perm][:, None].expand_as(keys)[valid]).all()
    inverse = torch.argsort(perm)
    torch.testing.assert_close(out[inverse], torch.cat(alone))


def test_window_attention_wraps_at_pi_and_is_full_for_short_events() -> None:
    phi = torch.tensor([-3.1, -3.0, -1.0, 0.0, 1.0, 3.0, 3.1])
    coords = torch.stack([torch.zeros(7), phi], dim=1)
    batch = torch.zeros(7, dtype=torch.long)
    keys, valid = WindowAttention(window=1, periodic=[False, True]).neighbours(coords, batch)
    assert set(keys[6][valid[6]].tolist()) == {5, 6, 0}  # φ = 3.1 sees φ = −3.1 across the seam
    assert set(keys[0][valid[0]].tolist()) == {6, 0, 1}
    keys, valid = WindowAttention(window=1, periodic=[False, False], sort_dim=1).neighbours(coords, batch)
    assert set(keys[6][valid[6]].tolist()) == {5, 6}  # a plain coordinate does not wrap
    q, k, v, coords = _inputs(9, 3)
    full = FullAttention()(q, k, v, coords, torch.zeros(9, dtype=torch.long))
    window = WindowAttention(window=5, periodic=[False, True])(
        q, k, v, coords, torch.zeros(9, dtype=torch.long)
    )
    torch.testing.assert_close(window, full)  # each key once, even though 2·5 + 1 > 9


@pytest.mark.parametrize(
    "attention",
    [
        functools.partial(FullAttention),
        functools.partial(WindowAttention, window=8),
        functools.partial(HEPTAttention, block_size=16, n_hashes=2, num_regions=2, seed=3),
    ],
    ids=["full", "window", "hept"],
)
def test_regressor_same_event_alone_or_in_a_batch(attention) -> None:
    torch.manual_seed(0)
    model = TransformerRegressor(7, 2, attention, periodic=[False, True], n_layers=2).eval()
    events = [(torch.randn(n, 7), _inputs(n, n)[3]) for n in (40, 25)]
    with torch.no_grad():
        alone = [model(x, c, torch.zeros(len(x), dtype=torch.long)) for x, c in events]
        batch = torch.cat([torch.full((len(x),), i) for i, (x, _) in enumerate(events)])
        both = model(torch.cat([x for x, _ in events]), torch.cat([c for _, c in events]), batch)
    assert both.shape == (65, 32) and model.out_dim == 32
    torch.testing.assert_close(both, torch.cat(alone), atol=1e-5, rtol=1e-4)


def test_hough_baseline_finds_tracks(sim_arrays) -> None:
    spec = SubsetSpec(particles=(10, 20), noise=False, max_vertex_r=10.0)
    (event,) = spec.apply(sim_arrays, rng=np.random.default_rng(5), event_ids=[0])
    event = with_weights(event)
    labels = HoughTrackFinder()(event["hit_pos"], 3.8)
    assert labels.shape == event["particle_id"].shape and labels.max() >= 5
    assert trackml_score(particle_id=event["particle_id"], weight=event["weight"], track_id=labels) > 0.3


# --------------------------------------------------------------------------------------- command line

TINY_HITS = [
    "task=track_regression",
    "model=transformer_regressor",
    "model.n_layers=2",
    "dataset.n_events=6",
    "dataset.subsets_per_event=3",
    "dataset.particles=[10,20]",
    "dataset.split=[3,1,2]",
    "dataset.batch_size=2",
    "dataset.progress=false",
]
SUMMARY_KEYS = {
    "test/trackml_score",
    "test/eff_perfect",
    "test/eff_dm",
    "test/eff_lhc",
    "test/fake_dm",
    "test/eff_dm_pt0.9",
    "test/model_time_s",
    "test/cluster_time_s",
    "baseline/trackml_score",
    "baseline/eff_dm",
}


def _ok(proc) -> None:
    assert proc.returncode == 0, (
        f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-6000:]}"
    )


@pytest.mark.parametrize("attention", ["hept", "window"])
def test_fast_dev_run(tmp_path, attention: str) -> None:
    _ok(run_cli("src.train", [*TINY_HITS, f"attention={attention}", "debug=fast_dev_run"], tmp_path))
    (run,) = run_dirs(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    assert summary.keys() >= SUMMARY_KEYS
    assert 0.0 <= summary["test/trackml_score"] <= 1.0


@pytest.mark.requiresdata
def test_train_full_attention_then_evaluate_on_mini1(tmp_path, shared_data) -> None:
    _ok(run_cli("src.train", [*TINY_HITS, "attention=full", "trainer.max_epochs=1"], tmp_path))
    (run,) = run_dirs(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    assert summary.keys() >= SUMMARY_KEYS
    for name in ("checkpoints/best.ckpt", "plots/parameters_heatmap.png", "test_per_event.csv"):
        assert (run / name).is_file(), name
    per_event = pd.read_csv(run / "test_per_event.csv")
    assert len(per_event) == 2 and {"model_time_s", "cluster_time_s", "baseline_trackml_score"} <= set(
        per_event
    )
    for event_id in per_event["event_id"]:
        assert (run / "submissions" / f"event{event_id:09d}-submission.csv").is_file()

    mini1 = shared_data / "trackml" / "mini1"
    overrides = [f"ckpt_path={run / 'checkpoints/best.ckpt'}", "dataset=trackml", f"dataset.path={mini1}"]
    _ok(run_cli("src.evaluate", [*overrides, "dataset.split=all"], tmp_path))
    (evaluated,) = [r for r in run_dirs(tmp_path) if "evaluate" in r.parts]
    summary = json.loads((evaluated / "summary.json").read_text())
    assert summary.keys() >= SUMMARY_KEYS
    # the written event is the input event; re-scoring the written submission gives the reported score
    event = read_event(evaluated / "events", 1000)
    original = read_event(mini1, 1000)
    for part, key in (("hits", "hit_id"), ("truth", "hit_id"), ("particles", "particle_id")):
        written, expected = (
            getattr(e, part).sort_values(key).reset_index(drop=True) for e in (event, original)
        )
        pd.testing.assert_frame_equal(written, expected, check_exact=True)
    submission = read_table(evaluated / "submissions" / "event000001000-submission.csv", "submission")
    truth = event.truth.set_index("hit_id").loc[submission["hit_id"]]
    score = trackml_score(
        particle_id=truth["particle_id"], weight=truth["weight"], track_id=submission["track_id"]
    )
    assert score == pytest.approx(summary["test/trackml_score"])

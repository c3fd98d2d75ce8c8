"""Tracking: InfoNCE behaves, filtering keeps what it should, the CLI chain pileup → filter → tracking."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from src.data.filtered import filter_event
from src.tasks.losses import info_nce_loss
from tests.conftest import TINY_SIM, run_cli, run_dirs

TRACKING_KEYS = {
    *(f"test/ap@k_pt{t}" for t in ("0.0", "0.5", "0.9")),
    *(
        f"test/{m}_pt{t}"
        for m in ("eff_dm", "eff_perfect", "eff_lhc", "fake_dm")
        for t in ("0.0", "0.5", "0.9")
    ),
    "test/all/ap@k_pt0.9",
    "test/all/eff_dm_pt0.9",
    "test/graph_saturation",
    "baseline/ap@k_pt0.9",
    "baseline/eff_dm_pt0.9",
    "baseline/all/ap@k_pt0.9",
    "dataset_fingerprint",
}


def _ok(proc) -> None:
    assert proc.returncode == 0, (
        f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-6000:]}"
    )


# --- InfoNCE ------------------------------------------------------------------------------------------
def test_info_nce_hand_computed() -> None:
    emb = torch.tensor([[0.0], [1.0], [2.0]])
    pairs = torch.tensor([[0, 0], [1, 2]])
    positive = torch.tensor([True, False])
    sigma, tau = 0.75, 0.05
    s_pos, s_neg = math.exp(-1 / (2 * sigma**2)), math.exp(-2 / (2 * sigma**2))
    expected = -math.log(math.exp(s_pos / tau) / (math.exp(s_pos / tau) + math.exp(s_neg / tau)))
    assert float(info_nce_loss(emb, pairs, positive, sigma=sigma, tau=tau)) == pytest.approx(
        expected, rel=1e-5
    )


def test_info_nce_pulls_positives_and_pushes_negatives() -> None:
    emb = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.2]], requires_grad=True)
    pairs = torch.tensor([[0, 0, 1, 2], [1, 2, 0, 0]])
    positive = torch.tensor([True, False, True, False])
    info_nce_loss(emb, pairs, positive).backward()
    stepped = emb.detach() - 0.01 * emb.grad
    before, after = torch.cdist(emb.detach(), emb.detach()), torch.cdist(stepped, stepped)
    assert after[0, 1] < before[0, 1]  # same track: closer
    assert after[0, 2] > before[0, 2]  # other track: further


def test_info_nce_perfect_embedding_scores_lower() -> None:
    rng = np.random.default_rng(0)
    pid = torch.from_numpy(np.repeat(np.arange(20), 5))
    pairs = torch.combinations(torch.arange(100), 2).T
    pairs = torch.cat([pairs, pairs.flip(0)], dim=1)
    positive = pid[pairs[0]] == pid[pairs[1]]
    perfect = torch.from_numpy(rng.normal(scale=10.0, size=(20, 24))).float()[pid]
    random = torch.from_numpy(rng.normal(size=(100, 24))).float()
    assert info_nce_loss(perfect, pairs, positive) < 0.1 * info_nce_loss(random, pairs, positive)


def test_info_nce_degenerate_inputs() -> None:
    emb = torch.zeros(3, 4, requires_grad=True)  # coincident points: distance 0
    pairs = torch.tensor([[0, 1], [1, 2]])
    loss = info_nce_loss(emb, pairs, torch.tensor([True, True]))
    loss.backward()
    assert torch.isfinite(emb.grad).all()
    none = info_nce_loss(emb, pairs, torch.tensor([False, False]))
    assert float(none.detach()) == 0.0 and none.requires_grad


# --- filtering ----------------------------------------------------------------------------------------
def test_filter_event_keeps_scores_above_threshold() -> None:
    event = {
        "x": torch.arange(10.0).reshape(5, 2),
        "particle_id": torch.tensor([1, 1, -1, 1, 2]),
        "sim_pt": torch.tensor([1.0, 1.0, float("nan"), 1.0, 2.0]),
        "sim_eta": torch.zeros(5),
        "track_length": torch.tensor([3, 3, 0, 3, 1]),
    }
    out = filter_event(event, np.array([0.9, 0.2, 0.95, 0.5, 0.5]), 0.5)
    assert out["particle_id"].tolist() == [1, -1, 1, 2]
    assert out["track_length"].tolist() == [2, 0, 2, 1]  # recounted on what is left
    assert out["x"][:, 0].tolist() == [0.0, 4.0, 6.0, 8.0]
    np.testing.assert_allclose(out["pileup_score"], [0.9, 0.95, 0.5, 0.5])


# --- command line -------------------------------------------------------------------------------------
def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_tracking_hept_fast_dev_run(tmp_path) -> None:
    proc = run_cli("src.train", ["task=tracking", "model=hept", "debug=fast_dev_run", *TINY_SIM], tmp_path)
    _ok(proc)
    (run,) = run_dirs(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    assert summary.keys() >= TRACKING_KEYS


def test_pileup_filter_then_tracking_on_filtered(tmp_path) -> None:
    _ok(run_cli("src.train", ["task=pileup", "model=mlp", "trainer.max_epochs=1", *TINY_SIM], tmp_path))
    (pileup_run,) = run_dirs(tmp_path)
    cache = tmp_path / "cache"
    (parent,) = cache.iterdir()
    before = _digest(parent)

    ckpt = pileup_run / "checkpoints" / "best.ckpt"
    _ok(run_cli("src.filter", [f"ckpt_path={ckpt}", "recall=[0.9,0.99]"], tmp_path))
    (filter_run,) = [r for r in run_dirs(tmp_path) if "filter" in r.parts]
    assert _digest(parent) == before, "the parent dataset was modified"
    entries = sorted(p for p in cache.iterdir() if p.name.startswith("filtered-"))
    assert len(entries) == 2
    fingerprints = {p.name.removeprefix("filtered-") for p in entries}
    assert parent.name.split("-")[-1] not in fingerprints
    info = {json.loads((p / "filter.json").read_text())["recall"]: p for p in entries}
    loose, tight = (json.loads((info[r] / "filter.json").read_text()) for r in (0.9, 0.99))
    assert tight["true_ls_kept"] >= 0.99 and loose["true_ls_kept"] >= 0.9
    assert tight["ls_kept"] >= loose["ls_kept"]
    assert len(list(info[0.9].glob("event_*.pt"))) == 5
    assert (filter_run / "filtered.csv").is_file()

    _ok(run_cli("src.train", ["task=tracking", "model=mlp", "trainer.max_epochs=1", *TINY_SIM], tmp_path))
    (tracking_run,) = [r for r in run_dirs(tmp_path) if "tracking-mlp" in r.parts]
    summary = json.loads((tracking_run / "summary.json").read_text())
    assert summary.keys() >= TRACKING_KEYS
    for key in ("test/ap@k_pt0.0", "baseline/ap@k_pt0.0", "test/graph_saturation"):
        assert 0.0 <= summary[key] <= 1.0, key
    for name in ("test_per_event.csv", "test_by_length.csv", "test_by_pt.csv", "plots/by_track_length.png"):
        assert (tracking_run / name).is_file(), name
    state = torch.load(tracking_run / "checkpoints/best.ckpt", map_location="cpu", weights_only=True)
    assert bool(state["state_dict"]["lda_fitted"])

    fingerprint = info[0.99].name.removeprefix("filtered-")
    tracking_ckpt = tracking_run / "checkpoints" / "best.ckpt"
    overrides = [f"ckpt_path={tracking_ckpt}", "dataset=filtered", f"dataset.fingerprint={fingerprint}"]
    _ok(run_cli("src.evaluate", overrides, tmp_path))
    (eval_run,) = [r for r in run_dirs(tmp_path) if "evaluate" in r.parts]
    evaluated = json.loads((eval_run / "summary.json").read_text())
    assert evaluated["dataset_fingerprint"] == fingerprint
    assert evaluated.keys() >= TRACKING_KEYS
    by_length = (eval_run / "test_by_length.csv").read_text()
    assert "matched" in by_length and "all" in by_length and "baseline" in by_length
    assert (eval_run / "plots" / "by_pt.png").is_file()


@pytest.mark.requiresdata
def test_tracking_on_real_events(tmp_path, shared_data) -> None:
    proc = run_cli(
        "src.train",
        [
            "task=tracking",
            "model=mlp",
            "dataset=hept_cms_raw",
            f"dataset.path={shared_data / 'hept-cms-lst' / 'pu50'}",
            "trainer.max_epochs=1",
            "task.evaluate_all_ls=false",
            "dataset.progress=false",
        ],
        tmp_path,
    )
    _ok(proc)
    (run,) = run_dirs(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    assert 0.0 <= summary["test/ap@k_pt0.0"] <= 1.0
    assert 0.0 <= summary["test/ap@k_lspt0.9"] <= 1.0  # by reconstructed LS pT
    assert summary["test/ap@k_pt0.9"] is None  # no simulated pT in real events
    assert 0.0 <= summary["test/eff_dm_pt0.0"] <= 1.0

"""The command-line chain pileup → filter → tracking → evaluate on the filtered events: the parent dataset is
never modified, the filtered entries keep what their recall asks, and the tracking checkpoint evaluates."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from tests.conftest import TINY_SIM, assert_ok, run_cli, run_dirs
from tests.e2e.keys import TRACKING_KEYS

# --- InfoNCE ------------------------------------------------------------------------------------------


# --- filtering ----------------------------------------------------------------------------------------


# --- command line -------------------------------------------------------------------------------------
def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_pileup_filter_then_tracking_on_filtered(tmp_path) -> None:
    assert_ok(run_cli("src.train", ["task=pileup", "model=mlp", "trainer.max_epochs=1", *TINY_SIM], tmp_path))
    (pileup_run,) = run_dirs(tmp_path)
    cache = tmp_path / "cache"
    (parent,) = cache.iterdir()
    before = _digest(parent)

    ckpt = pileup_run / "checkpoints" / "best.ckpt"
    assert_ok(run_cli("src.filter", [f"ckpt_path={ckpt}", "recall=[0.9,0.99]"], tmp_path))
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

    assert_ok(
        run_cli("src.train", ["task=tracking", "model=mlp", "trainer.max_epochs=1", *TINY_SIM], tmp_path)
    )
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
    assert_ok(run_cli("src.evaluate", overrides, tmp_path))
    (eval_run,) = [r for r in run_dirs(tmp_path) if "evaluate" in r.parts]
    evaluated = json.loads((eval_run / "summary.json").read_text())
    assert evaluated["dataset_fingerprint"] == fingerprint
    assert evaluated.keys() >= TRACKING_KEYS
    by_length = (eval_run / "test_by_length.csv").read_text()
    assert "matched" in by_length and "all" in by_length and "baseline" in by_length
    assert (eval_run / "plots" / "by_pt.png").is_file()

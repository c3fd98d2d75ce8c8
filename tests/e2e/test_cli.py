"""The command line itself: train writes its run directory and checkpoints that src.evaluate reads back, a
STOP file ends training gracefully, a bad override (a wrong type or a value out of range) fails before any
data is built."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from tests.conftest import TINY_SIM, assert_ok, run_cli, run_dirs

SUMMARY_KEYS = {
    "test/precision@recall0.99",
    "test/precision@recall0.999",
    "test/auprc",
    "test/f1",
    "test/fbeta3",
    "dataset_fingerprint",
    "seed",
    "git_commit",
}


def test_train_then_evaluate(tmp_path) -> None:
    proc = run_cli("src.train", ["task=pileup", "model=mlp", "trainer.max_epochs=2", *TINY_SIM], tmp_path)
    assert_ok(proc)
    (run,) = run_dirs(tmp_path)
    for name in (
        "checkpoints/best.ckpt",
        "checkpoints/last.ckpt",
        "metrics.csv",
        "plots/pr_curve.png",
        "plots/score_histogram.png",
        "test_per_event.csv",
        ".hydra/config.yaml",
    ):
        assert (run / name).is_file(), name
    summary = json.loads((run / "summary.json").read_text())
    assert summary.keys() >= SUMMARY_KEYS
    assert 0.0 <= summary["test/auprc"] <= 1.0
    assert summary["epochs_completed"] == 2
    assert "Test metrics" in proc.stdout

    ckpt = torch.load(run / "checkpoints/best.ckpt", map_location="cpu", weights_only=True)
    meta = ckpt["hepreco"]
    assert meta["dataset_fingerprint"] == summary["dataset_fingerprint"]
    assert meta["seed"] == 12345 and meta["git_commit"]
    assert meta["config"]["model"]["_target_"] == "src.models.mlp.MLP"
    threshold = meta["score_threshold"]["0.99"]
    assert 0.0 <= threshold <= 1.0

    proc = run_cli(
        "src.evaluate",
        [f"ckpt_path={run / 'checkpoints/best.ckpt'}", *TINY_SIM, "dataset.split=all"],
        tmp_path,
    )
    assert_ok(proc)
    (eval_run,) = [r for r in run_dirs(tmp_path) if "evaluate" in r.parts]
    evaluated = json.loads((eval_run / "summary.json").read_text())
    assert evaluated["dataset_fingerprint"] == summary["dataset_fingerprint"]
    assert 0.0 <= evaluated["test/auprc"] <= 1.0
    per_event = pd.read_csv(eval_run / "test_per_event.csv")  # all five events: their mean is reported too
    assert len(per_event) == 5
    assert evaluated["test/event_mean/auprc"] == pytest.approx(per_event["auprc"].mean())
    assert "test/event_mean/auprc" not in summary  # one test event: the pooled figures are its own


def test_stop_file_ends_training_gracefully(tmp_path) -> None:
    (tmp_path / "STOP").touch()
    proc = run_cli("src.train", ["task=pileup", "model=mlp", "trainer.max_epochs=50", *TINY_SIM], tmp_path)
    assert_ok(proc)
    (run,) = run_dirs(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["epochs_completed"] <= 1
    assert (run / "plots/pr_curve.png").is_file()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("task.gamma=abc", "gamma"),  # a type error: Hydra's composition
        ("dataset.pileup=-5", "dataset.pileup=-5.0: must be a number >= 0"),  # a value check (src.config)
    ],
)
def test_bad_override_fails_before_any_data(tmp_path, override: str, message: str) -> None:
    proc = run_cli("src.train", [override], tmp_path)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert not (tmp_path / "cache").exists()

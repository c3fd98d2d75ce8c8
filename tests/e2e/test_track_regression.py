"""Track regression from the command line: a fast dev run per attention; train, then evaluate on the real
TrackML event mini1 and re-score its written submission."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from src.io.trackml import read_event, read_table
from src.metrics.trackml_score import trackml_score
from tests.conftest import run_cli, run_dirs

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

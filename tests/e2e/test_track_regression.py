"""Track regression trained, then its checkpoint evaluated on the real TrackML event mini1: the run writes
its submissions and events, the written event is the input event, and re-scoring the written submission
gives the reported score."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from src.evaluate import evaluate
from src.io.trackml import read_event, read_table
from src.metrics.trackml_score import trackml_score
from src.train import train
from tests.conftest import TINY_HITS, run_config
from tests.e2e.keys import REGRESSION_KEYS


@pytest.mark.requiresdata
def test_train_then_evaluate_on_mini1_and_rescore_the_submission(
    tmp_path, session_cache, shared_data
) -> None:
    run = tmp_path / "train"
    overrides = ["task=track_regression", "model=transformer_regressor", "trainer.max_epochs=1", *TINY_HITS]
    train(run_config(overrides, run, session_cache))
    summary = json.loads((run / "summary.json").read_text())
    assert summary.keys() >= REGRESSION_KEYS
    for name in ("checkpoints/best.ckpt", "plots/parameters_heatmap.png", "test_per_event.csv"):
        assert (run / name).is_file(), name
    per_event = pd.read_csv(run / "test_per_event.csv")
    assert len(per_event) == 2
    assert {"model_time_s", "cluster_time_s", "baseline_trackml_score"} <= set(per_event)
    for event_id in per_event["event_id"]:
        assert (run / "submissions" / f"event{event_id:09d}-submission.csv").is_file()

    mini1 = shared_data / "trackml" / "mini1"
    evaluated = tmp_path / "evaluate"
    overrides = [f"ckpt_path={run / 'checkpoints/best.ckpt'}", "dataset=trackml", f"dataset.path={mini1}"]
    evaluate(run_config([*overrides, "dataset.split=all"], evaluated, session_cache, name="evaluate"))
    summary = json.loads((evaluated / "summary.json").read_text())
    assert summary.keys() >= REGRESSION_KEYS
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

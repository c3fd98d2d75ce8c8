"""Per-event classification metrics: each event at its own working point."""

from __future__ import annotations

import numpy as np
import pytest

from src.evaluation.classification import per_event_metrics
from src.metrics import binary_classification_metrics


def test_each_event_at_its_own_working_point() -> None:
    # Within each event every true object outscores every fake, but event 1's scores sit higher: pooled, its
    # fakes outscore event 0's trues, so only the per-event figures are perfect.
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.uniform(0.0, 0.4, 50), rng.uniform(0.4, 0.5, 50)])
    scores = np.concatenate([scores, scores + 0.5])
    labels = np.tile(np.repeat([0, 1], 50), 2)
    events = np.repeat([0, 1], 100)

    table = per_event_metrics(scores, labels, events, recalls=[0.99], beta=3.0)

    assert table["event"].tolist() == [0, 1]
    assert table["n_ls"].tolist() == [100, 100]
    assert table["fake_fraction"].tolist() == pytest.approx([0.5, 0.5])
    assert table["auprc"].tolist() == pytest.approx([1.0, 1.0])
    assert table["precision@recall0.99"].tolist() == pytest.approx([1.0, 1.0])
    pooled = binary_classification_metrics(scores, labels, recalls=[0.99], beta=3.0)
    assert pooled["precision@recall0.99"] < 0.9
    one = binary_classification_metrics(scores[events == 1], labels[events == 1], recalls=[0.99], beta=3.0)
    assert table.iloc[1].drop(["event", "n_ls", "fake_fraction"]).to_dict() == pytest.approx(one)

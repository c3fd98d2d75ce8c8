"""The test report of an object classifier (true vs fake line segments): PR curve with its high-recall
working points, score histograms, and the metrics event by event."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from src.evaluation.plots import plot_pr_curve, plot_score_histogram
from src.metrics import binary_classification_metrics, precision_recall_curve
from src.metrics.naming import with_threshold


def per_event_metrics(
    scores: np.ndarray,
    labels: np.ndarray,
    events: np.ndarray,
    *,
    recalls: Sequence[float],
    beta: float,
) -> pd.DataFrame:
    """The classification metrics of each event on its own (one row per event, with its number of objects
    and fake fraction): the working point of each event is its own, unlike metrics over pooled events."""
    rows = []
    for event in np.unique(events):
        sel = events == event
        per_event = binary_classification_metrics(scores[sel], labels[sel], recalls=recalls, beta=beta)
        rows.append(
            {"event": int(event), "n_ls": int(sel.sum()), "fake_fraction": float(1 - labels[sel].mean())}
            | per_event
        )
    return pd.DataFrame(rows)


def write_classification_report(
    out: Path,
    scores: np.ndarray,
    labels: np.ndarray,
    *,
    per_event: pd.DataFrame,
    metrics: Mapping[str, float],
    recalls: Sequence[float],
    threshold: float | None,
) -> None:
    """``plots/pr_curve.png``, ``plots/score_histogram.png`` (with the working-point ``threshold``) for
    per-object ``scores`` and 0/1 ``labels``, and ``test_per_event.csv`` (``per_event``) under ``out``."""
    plots = out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    precision, recall, _ = precision_recall_curve(scores, labels)
    marks = {f"{100 * r:g}% recall": (r, metrics[with_threshold("precision@recall", r)]) for r in recalls}
    plot_pr_curve(precision, recall, plots / "pr_curve.png", marks=marks, title="Test: true vs fake LS")
    plot_score_histogram(scores, labels, plots / "score_histogram.png", threshold=threshold)
    per_event.to_csv(out / "test_per_event.csv", index=False)

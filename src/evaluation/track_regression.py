"""The test stage of track regression: predicted parameters → clusters → tracks, scored with the TrackML
score and the track-matching efficiencies, next to a classical track finder on the same events.

Per event: the hits are clustered by their predicted parameters (:func:`src.evaluation.clustering.cluster`)
and scored (``trackml_score`` with the event's truth weights, :mod:`src.metrics.trackml_score`; perfect,
double-majority and LHC efficiencies and fake rates at pT ≥ ``rate_pt`` and per threshold of
``pt_thresholds``, :mod:`src.metrics.tracks`); the classical ``baseline`` (a callable ``f(positions,
b_field) -> labels``, e.g. :class:`src.reco.hough.HoughTrackFinder`) is timed and scored likewise. A
``refit`` (``f(labels, positions) -> labels``, e.g. :class:`src.reco.helix_refit.HelixRefit`) then moves hits
between the model's clusters, and ``baseline_refit`` (the same step with the settings that suit the
baseline) between the baseline's tracks; the scores before them are kept as ``trackml_score_before_refit``.
With ``write_events`` the submission (``submissions/eventNNNNNNNNN-submission.csv``) and the event itself
(``events/eventNNNNNNNNN-{hits,truth,particles}.csv``) are written, so anyone can re-score them.

Metrics: ``test/trackml_score`` (mean over events), ``test/trackml_score_before_refit``, ``test/eff_*``,
``test/fake_*``, ``test/n_tracks``, ``test/model_time_s``, ``test/cluster_time_s`` (clustering and refit),
``test/mse_<target>``, and the baseline's under ``baseline/…``.
Artifacts: ``test_per_event.csv``, ``plots/parameters_heatmap.png``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from src.evaluation.clustering import check_clusterer, cluster
from src.evaluation.plots import plot_true_vs_predicted
from src.event_model import HITS
from src.io.trackml import arrays_to_event, write_event, write_submission
from src.metrics.trackml_score import trackml_score
from src.metrics.tracks import RATE_NAMES, match_tracks, sum_counts, track_counts, tracking_rates


def track_ids(labels: np.ndarray) -> np.ndarray:
    """TrackML track ids (>= 0) from cluster labels: each unclustered hit becomes its own track."""
    labels = np.asarray(labels, dtype=np.int64)
    out = labels.copy()
    alone = labels < 0
    out[alone] = labels.max(initial=-1) + 1 + np.arange(int(alone.sum()))
    return out


def _refit(
    step: Callable[[np.ndarray, np.ndarray], np.ndarray] | None, labels: np.ndarray, pos: np.ndarray
) -> np.ndarray:
    """Labels after a refit step (the labels themselves without one)."""
    return labels if step is None else np.asarray(step(labels, pos), dtype=np.int64)


@dataclass
class EventResult:
    """What the test stage keeps of one event."""

    row: dict[str, Any]
    counts: dict[float, Any]
    baseline_counts: dict[float, Any] | None
    true: np.ndarray
    predicted: np.ndarray


class TrackRegressionEvaluation:
    """Clusters and scores the predictions of test events; writes submissions, tables and plots."""

    def __init__(
        self,
        *,
        clusterer: Any,
        baseline: Callable[[np.ndarray, float], np.ndarray] | None = None,
        refit: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
        baseline_refit: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
        rate_pt: float = 0.0,
        pt_thresholds: Sequence[float] = (0.0, 0.9),
        min_cluster_hits: int = 3,
        min_particle_hits: int = 3,
        write_events: bool = True,
        heatmap_bins: int = 60,
    ) -> None:
        self.clusterer = check_clusterer(clusterer, "task.evaluation.clusterer")
        if baseline is not None and not callable(baseline):
            raise ValueError(
                f"task.evaluation.baseline must be a track finder called as f(positions, b_field), "
                f"got {baseline!r}"
            )
        for key, step in (("refit", refit), ("baseline_refit", baseline_refit)):
            if step is not None and not callable(step):
                raise ValueError(f"task.evaluation.{key} must be f(labels, positions) -> labels: {step!r}")
        self.baseline = baseline
        self.refit = refit
        self.baseline_refit = baseline_refit
        self.rate_pt = float(rate_pt)
        self.pt_thresholds = sorted({float(t) for t in pt_thresholds} | {self.rate_pt})
        self.min_cluster_hits = min_cluster_hits
        self.min_particle_hits = min_particle_hits
        self.write_events = write_events
        self.heatmap_bins = heatmap_bins
        self._results: list[EventResult] = []

    def cluster(self, params: np.ndarray) -> np.ndarray:
        """Cluster label per hit (−1: unclustered) of one event's predicted parameters [N, P]."""
        return cluster(self.clusterer, params)

    def refitted(self, labels: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """The model's track candidates after the ``refit`` (as they are without one); ``pos`` [N, 3] mm."""
        return _refit(self.refit, labels, pos)

    def tracks(self, params: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Track label per hit of one event: its predicted parameters [N, P] clustered, then refitted with
        the hit positions [N, 3] (mm)."""
        return self.refitted(self.cluster(params), pos)

    @staticmethod
    def trackml(labels: np.ndarray, a: Mapping[str, np.ndarray]) -> float:
        """TrackML score of one event's track label per hit (``a``: arrays with particle_id, weight)."""
        return trackml_score(particle_id=a["particle_id"], weight=a["weight"], track_id=labels)

    def score(
        self, labels: np.ndarray, a: Mapping[str, np.ndarray]
    ) -> tuple[dict[str, float], dict[float, Any]]:
        """TrackML score, track count and rates at ``rate_pt``, and the track-matching counts per pT
        threshold, of one event's labels (arrays ``a`` with ``particle_id``, ``weight``, ``pt``)."""
        score = self.trackml(labels, a)
        match = match_tracks(
            labels,
            a["particle_id"],
            a["pt"],
            noise=HITS.no_particle(a["particle_id"]),
            min_cluster_size=self.min_cluster_hits,
            min_particle_size=self.min_particle_hits,
        )
        counts = track_counts(match, self.pt_thresholds)
        rates = counts[self.rate_pt].rates()
        row = {"trackml_score": score, "n_tracks": len(match.clusters)} | {k: rates[k] for k in RATE_NAMES}
        return row, counts

    def add_event(
        self,
        a: Mapping[str, np.ndarray],
        pred: np.ndarray,
        *,
        model_time: float,
        device: str,
        out: Path | None,
        points: np.ndarray | None = None,
    ) -> None:
        """Cluster and score one event (hit-level arrays ``a`` of the hit view, predictions [N, T]; the
        hits are clustered on ``points`` [N, D] where given, else on the predictions); write its
        submission and CSV files under ``out`` when ``write_events`` (``out`` None: never)."""
        event_id = int(a["event_id"][0])
        start = time.perf_counter()
        clustered = self.cluster(pred if points is None else points)
        labels = self.refitted(clustered, a["hit_pos"])
        cluster_time = time.perf_counter() - start
        scores, counts = self.score(labels, a)
        scores["trackml_score_before_refit"] = self.trackml(clustered, a)
        pid = a["particle_id"]
        noise = HITS.no_particle(pid)
        row = {
            "event_id": event_id,
            "n_hits": len(pid),
            "n_particles": len(np.unique(pid[~noise])),
            "noise_fraction": float(noise.mean()) if len(pid) else float("nan"),
            "device": device,
            "model_time_s": model_time,
            "cluster_time_s": cluster_time,
            **scores,
        }
        baseline_counts = None
        if self.baseline is not None:
            start = time.perf_counter()
            found = np.asarray(self.baseline(a["hit_pos"], float(a["b_field"][0])), dtype=np.int64)
            base_labels = _refit(self.baseline_refit, found, a["hit_pos"])
            base_time = time.perf_counter() - start
            base_scores, baseline_counts = self.score(base_labels, a)
            base_scores["trackml_score_before_refit"] = self.trackml(found, a)
            row |= {"baseline_time_s": base_time} | {f"baseline_{k}": v for k, v in base_scores.items()}
        if self.write_events and out is not None:
            write_submission(out / "submissions", event_id, a["hit_id"], track_ids(labels))
            write_event(out / "events", arrays_to_event(a))
        mask = a["target_mask"]
        self._results.append(EventResult(row, counts, baseline_counts, a["y"][mask], pred[mask]))

    def metrics(self, target_names: Sequence[str]) -> dict[str, float]:
        """Test metrics over the events added so far (empty without events)."""
        if not self._results:
            return {}
        table = self.table()
        metrics = self._summarise(table, [r.counts for r in self._results], prefix="test/", column_prefix="")
        if self.baseline is not None:
            metrics |= self._summarise(
                table,
                [r.baseline_counts for r in self._results],
                prefix="baseline/",
                column_prefix="baseline_",
            )
            metrics["baseline/time_s"] = float(table["baseline_time_s"].mean())
        metrics["test/model_time_s"] = float(table["model_time_s"].mean())
        metrics["test/cluster_time_s"] = float(table["cluster_time_s"].mean())
        for i, name in enumerate(target_names):
            true = np.concatenate([r.true[:, i] for r in self._results])
            pred = np.concatenate([r.predicted[:, i] for r in self._results])
            metrics[f"test/mse_{name}"] = float(np.mean((pred - true) ** 2)) if len(true) else float("nan")
        return metrics

    def table(self) -> pd.DataFrame:
        """One row per test event."""
        return pd.DataFrame([r.row for r in self._results])

    def write(self, out: Path, target_names: Sequence[str]) -> None:
        """``test_per_event.csv`` and the heat maps of predicted against true parameters."""
        if not self._results:
            return
        self.table().to_csv(out / "test_per_event.csv", index=False)
        plot_true_vs_predicted(
            np.concatenate([r.true for r in self._results]),
            np.concatenate([r.predicted for r in self._results]),
            list(target_names),
            out / "plots" / "parameters_heatmap.png",
            bins=self.heatmap_bins,
            title=f"Test hits with a particle ({len(self._results)} events)",
        )

    def reset(self) -> None:
        """Forget the events added so far."""
        self._results = []

    def _summarise(
        self, table: pd.DataFrame, counts: list[dict[float, Any]], *, prefix: str, column_prefix: str
    ) -> dict[str, float]:
        """Mean TrackML score over events, rates from counts summed over events (suffixed per threshold,
        and unsuffixed at ``rate_pt``)."""
        total = sum_counts(counts)
        out = {
            f"{prefix}{name}": float(np.nanmean(table[f"{column_prefix}{name}"]))
            for name in ("trackml_score", "trackml_score_before_refit")
        }
        out |= {f"{prefix}{k}": v for k, v in tracking_rates(total).items()}
        alias = total[self.rate_pt].rates()
        out |= {f"{prefix}{name}": alias[name] for name in RATE_NAMES}
        out[f"{prefix}n_tracks"] = float(table[f"{column_prefix}n_tracks"].mean())
        return out

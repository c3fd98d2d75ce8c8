"""Track regression task (Trackformers' Transformer Regressor): per-hit track parameters, then clustering.

The backbone reads all hits of an event; a linear head regresses, per hit, the parameters of the track
that made it (the view's targets: θ, sin φ, cos φ and q by default, optionally q/pT), trained with the MSE
on hits that belong to a particle (noise hits have no target). Hits are then grouped into tracks by
clustering the predicted parameters (``clusterer``: HDBSCAN by default, ``min_cluster_size`` and
``min_samples`` from the config; ``scripts/tune_hdbscan.py`` grid-searches them on validation events).

Metrics, on validation (score only) and test events:

* ``trackml_score``: the TrackML challenge score per event (:mod:`src.metrics.trackml_score`) with the
  event's truth weights, averaged over events;
* ``eff_perfect``, ``eff_dm``, ``eff_lhc``, ``fake_perfect``, ``fake_dm``, ``fake_lhc`` at pT >= ``rate_pt``
  (0 by default: every reconstructable particle), and the same per threshold of ``pt_thresholds`` with the
  suffix of :func:`src.metrics.tracks.tracking_rates` (``eff_dm_pt0.9``);
* ``model_time_s`` and ``cluster_time_s``: mean per-event wall time of the model (each event on its own,
  synchronised on GPUs) and of the clustering (CPU);
* the same scores and times of the classical ``baseline`` track finder under ``baseline/…``.

The test stage writes ``submissions/eventNNNNNNNNN-submission.csv`` and the scored events themselves
(``events/eventNNNNNNNNN-{hits,truth,particles}.csv``) in the run directory, ``test_per_event.csv`` and
the heat maps of predicted against true parameters (``plots/parameters_heatmap.png``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone
from torch import nn
from torch_geometric.data import Batch, Data

from src.data.trackml import arrays_to_event, write_event, write_submission
from src.metrics.trackml_score import trackml_score
from src.metrics.tracks import RATE_NAMES, match_tracks, sum_counts, track_counts, tracking_rates
from src.tasks.base import EventTask
from src.utils.plotting_regression import plot_true_vs_predicted

log = logging.getLogger(__name__)


def cluster_hits(clusterer: Any, params: np.ndarray) -> np.ndarray:
    """Cluster label per hit (−1: unclustered) of the predicted parameters [N, P] of one event."""
    params = np.asarray(params, dtype=np.float64)
    min_size = max(
        2, int(getattr(clusterer, "min_cluster_size", 2)), int(getattr(clusterer, "min_samples", 1) or 1)
    )
    if len(params) < min_size:
        return np.full(len(params), -1, dtype=np.int64)
    return np.asarray(clone(clusterer).fit_predict(params), dtype=np.int64)


def track_ids(labels: np.ndarray) -> np.ndarray:
    """TrackML track ids (>= 0) from cluster labels: each unclustered hit becomes its own track."""
    labels = np.asarray(labels, dtype=np.int64)
    out = labels.copy()
    alone = labels < 0
    out[alone] = labels.max(initial=-1) + 1 + np.arange(int(alone.sum()))
    return out


@dataclass
class EventResult:
    """What the test stage keeps of one event."""

    row: dict[str, Any]
    counts: dict[float, Any]
    baseline_counts: dict[float, Any] | None
    true: np.ndarray
    predicted: np.ndarray


def _event_arrays(data: Data) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy() for k, v in data.to_dict().items() if isinstance(v, torch.Tensor)}


class TrackRegressionTask(EventTask):
    """Per-hit regression of track parameters on any backbone, clustered into tracks for scoring."""

    def __init__(
        self,
        backbone: nn.Module,
        *,
        clusterer: Any = None,
        baseline: Any = None,
        cluster_val: bool = True,
        rate_pt: float = 0.0,
        pt_thresholds: Sequence[float] = (0.0, 0.9),
        min_cluster_hits: int = 3,
        min_particle_hits: int = 3,
        write_events: bool = True,
        heatmap_bins: int = 60,
        **base,
    ) -> None:
        super().__init__(backbone, **base)
        if self.view is None or not hasattr(self.view, "targets"):
            raise ValueError(
                "task=track_regression needs a hit view with targets (task.view: src.data.hits.HitView)"
            )
        if clusterer is None or not hasattr(clusterer, "fit_predict"):
            raise ValueError(
                f"task.clusterer must be a clustering estimator with fit_predict (e.g. _target_: "
                f"sklearn.cluster.HDBSCAN), got {clusterer!r}"
            )
        if baseline is not None and not callable(baseline):
            raise ValueError(
                f"task.baseline must be a track finder called as f(positions, b_field), got {baseline!r}"
            )
        self.target_names = list(self.view.targets)
        self.head = nn.Linear(backbone.out_dim, len(self.target_names))
        self.clusterer = clusterer
        self.baseline = baseline
        self.cluster_val = cluster_val
        self.rate_pt = float(rate_pt)
        self.pt_thresholds = sorted({float(t) for t in pt_thresholds} | {self.rate_pt})
        self.min_cluster_hits = min_cluster_hits
        self.min_particle_hits = min_particle_hits
        self.write_events = write_events
        self.heatmap_bins = heatmap_bins
        self._val_scores: list[float] = []
        self._results: list[EventResult] = []
        self._warm = False

    # --- model ---------------------------------------------------------------------------------------
    def forward(self, batch: Batch) -> torch.Tensor:
        """Predicted track parameters [N, T] (the view's target columns)."""
        return self.head(self.embed(batch))

    def loss(self, pred: torch.Tensor, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """MSE over hits with a particle (mean over hits and targets) and the per-target MSE [T]."""
        mask = batch.target_mask
        err = (pred[mask].float() - batch.y[mask]) ** 2
        if not len(err):
            zero = pred.sum() * 0.0
            return zero, torch.zeros(pred.shape[1], device=pred.device)
        per_target = err.mean(0)
        return per_target.mean(), per_target.detach()

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        loss, _ = self.loss(self(batch), batch)
        self.log("train/loss", loss, batch_size=batch.num_graphs, prog_bar=True)
        return loss

    # --- validation ----------------------------------------------------------------------------------
    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        pred = self(batch)
        loss, per_target = self.loss(pred, batch)
        self.log("val/loss", loss, batch_size=batch.num_graphs, prog_bar=True)
        for name, value in zip(self.target_names, per_target, strict=True):
            self.log(f"val/mse_{name}", value, batch_size=batch.num_graphs)
        if not self.cluster_val:
            return
        pred_np = pred.detach().float().cpu().numpy()
        event = batch.batch.cpu().numpy()
        pid, weight = batch.particle_id.cpu().numpy(), batch.weight.cpu().numpy()
        for e in range(batch.num_graphs):
            sel = event == e
            labels = cluster_hits(self.clusterer, pred_np[sel])
            self._val_scores.append(trackml_score(particle_id=pid[sel], weight=weight[sel], track_id=labels))

    def on_validation_epoch_end(self) -> None:
        if self._val_scores:
            self.log("val/trackml_score", float(np.nanmean(self._val_scores)), prog_bar=True)
            self._val_scores.clear()

    # --- test ----------------------------------------------------------------------------------------
    def _timed_forward(self, data: Data) -> tuple[np.ndarray, float]:
        batch = Batch.from_data_list([data]).to(self.device)
        if not self._warm:  # the first call pays one-off set-up costs: keep them out of the timing
            self(batch)
            self._warm = True
        cuda = self.device.type == "cuda"
        if cuda:
            torch.cuda.synchronize(self.device)
        start = time.perf_counter()
        pred = self(batch)
        if cuda:
            torch.cuda.synchronize(self.device)
        return pred.float().cpu().numpy(), time.perf_counter() - start

    def _score(
        self, labels: np.ndarray, a: dict[str, np.ndarray]
    ) -> tuple[dict[str, float], dict[float, Any]]:
        """TrackML score and track-matching counts of one event's labels."""
        score = trackml_score(particle_id=a["particle_id"], weight=a["weight"], track_id=labels)
        match = match_tracks(
            labels,
            a["particle_id"],
            a["pt"],
            min_cluster_size=self.min_cluster_hits,
            min_particle_size=self.min_particle_hits,
        )
        counts = track_counts(match, self.pt_thresholds)
        rates = counts[self.rate_pt].rates()
        row = {"trackml_score": score, "n_tracks": len(match.clusters)} | {k: rates[k] for k in RATE_NAMES}
        return row, counts

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        for data in batch.to_data_list():
            a = _event_arrays(data)
            event_id = int(a["event_id"][0])
            pred, model_time = self._timed_forward(data)
            start = time.perf_counter()
            labels = cluster_hits(self.clusterer, pred)
            cluster_time = time.perf_counter() - start
            scores, counts = self._score(labels, a)
            pid = a["particle_id"]
            row = {
                "event_id": event_id,
                "n_hits": len(pid),
                "n_particles": len(np.unique(pid[pid > 0])),
                "noise_fraction": float((pid == 0).mean()) if len(pid) else float("nan"),
                "device": self.device.type,
                "model_time_s": model_time,
                "cluster_time_s": cluster_time,
                **scores,
            }
            baseline_counts = None
            if self.baseline is not None:
                start = time.perf_counter()
                base_labels = self.baseline(a["hit_pos"], float(a["b_field"][0]))
                base_time = time.perf_counter() - start
                base_scores, baseline_counts = self._score(base_labels, a)
                row |= {"baseline_time_s": base_time} | {f"baseline_{k}": v for k, v in base_scores.items()}
            if self.write_events and self.trainer.is_global_zero:
                write_submission(self.output_dir / "submissions", event_id, a["hit_id"], track_ids(labels))
                write_event(self.output_dir / "events", arrays_to_event(a))
            mask = a["target_mask"]
            self._results.append(EventResult(row, counts, baseline_counts, a["y"][mask], pred[mask]))

    def on_test_epoch_end(self) -> None:
        if not self._results:
            return
        results, self._results = self._results, []
        table = pd.DataFrame([r.row for r in results])
        metrics = self._summarise(table, [r.counts for r in results], prefix="test/", column_prefix="")
        if self.baseline is not None:
            metrics |= self._summarise(
                table, [r.baseline_counts for r in results], prefix="baseline/", column_prefix="baseline_"
            )
            metrics["baseline/time_s"] = float(table["baseline_time_s"].mean())
        metrics["test/model_time_s"] = float(table["model_time_s"].mean())
        metrics["test/cluster_time_s"] = float(table["cluster_time_s"].mean())
        for i, name in enumerate(self.target_names):
            true = np.concatenate([r.true[:, i] for r in results])
            pred = np.concatenate([r.predicted[:, i] for r in results])
            metrics[f"test/mse_{name}"] = float(np.mean((pred - true) ** 2)) if len(true) else float("nan")
        self.log_dict(metrics)
        if self.trainer.is_global_zero:
            table.to_csv(self.output_dir / "test_per_event.csv", index=False)
            plot_true_vs_predicted(
                np.concatenate([r.true for r in results]),
                np.concatenate([r.predicted for r in results]),
                self.target_names,
                self.output_dir / "plots" / "parameters_heatmap.png",
                bins=self.heatmap_bins,
                title=f"Test hits with a particle ({len(results)} events)",
            )

    def _summarise(
        self, table: pd.DataFrame, counts: list[dict[float, Any]], *, prefix: str, column_prefix: str
    ) -> dict[str, float]:
        """Mean TrackML score over events, rates from counts summed over events (suffixed per threshold,
        and unsuffixed at ``rate_pt``)."""
        total = sum_counts(counts)
        rates = tracking_rates(total)
        out = {f"{prefix}trackml_score": float(np.nanmean(table[f"{column_prefix}trackml_score"]))}
        out |= {f"{prefix}{k}": v for k, v in rates.items()}
        alias = total[self.rate_pt].rates()
        out |= {f"{prefix}{name}": alias[name] for name in RATE_NAMES}
        out[f"{prefix}n_tracks"] = float(table[f"{column_prefix}n_tracks"].mean())
        return out

"""Track regression task (Trackformers' Transformer Regressor): per-hit track parameters, then clustering.

The backbone reads all hits of an event; a linear head regresses, per hit, the parameters of the track
that made it (the view's targets: θ, sin φ, cos φ and q by default, optionally q/pT), trained with the MSE
on hits that belong to a particle (noise hits have no target), each hit weighted by its TrackML score
weight with ``weighted_loss`` (what the score counts: soft particles and short tracks weigh less).
``target_frame`` says how the head's outputs become the targets (:func:`src.data.views.from_frame`):
``plain`` (the study's head), ``hit`` (θ and φ relative to the hit's own direction) or ``helix`` (the
track's z0 and curvature, from which the helix through the hit gives θ and φ); the last two start from
the hit's own direction. With ``frame_loss`` (helix frame) the loss is the MSE of the head's own outputs,
the track's z0 and curvature (``helix_y`` of the view), whose errors do not swing with the hit's radius
or past a looper's apex as θ and φ do, and the charge is the sign of the curvature. The hits are
clustered on the predicted (θ, sin φ, cos φ) and, in the helix frame, on ``cluster_frame_weight`` × the
predicted (z0, κ) (hits of one track share all four). Validation: the loss, the MSE per target and
(``cluster_val``) the TrackML score of the clustered predictions. Test: ``task.evaluation``
(:class:`src.evaluation.track_regression.TrackRegressionEvaluation`) clusters the predictions into tracks,
scores them next to the classical baseline, and writes submissions, tables and plots; this module times
the model on each event.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Batch, Data

from src.data.views import HELIX_DERIVED, frame_outputs, from_frame
from src.evaluation.track_regression import TrackRegressionEvaluation
from src.tasks.base import EventTask

log = logging.getLogger(__name__)


def _event_arrays(data: Data) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy() for k, v in data.to_dict().items() if isinstance(v, torch.Tensor)}


class TrackRegressionTask(EventTask):
    """Per-hit regression of track parameters on any backbone, clustered into tracks for scoring."""

    def __init__(
        self,
        backbone: nn.Module,
        *,
        evaluation: TrackRegressionEvaluation,
        cluster_val: bool = True,
        target_frame: str = "helix",
        weighted_loss: bool = True,
        frame_loss: bool = True,
        cluster_frame_weight: float = 0.3,
        **base,
    ) -> None:
        super().__init__(backbone, **base)
        if (frame_loss or cluster_frame_weight) and target_frame != "helix":
            raise ValueError(
                f"task.frame_loss and task.cluster_frame_weight need task.target_frame=helix "
                f"(got {target_frame!r}); set task.frame_loss=false task.cluster_frame_weight=0"
            )
        if not hasattr(self.view, "targets"):
            raise ValueError(
                "task=track_regression needs a hit view with targets (task.view: src.data.views.HitView)"
            )
        self.target_names = list(self.view.targets)
        self.target_frame = target_frame
        self.weighted_loss = weighted_loss
        self.frame_loss = frame_loss
        self.cluster_frame_weight = cluster_frame_weight
        # the targets the head gives directly (the rest the helix frame derives)
        self._own = [
            i for i, n in enumerate(self.target_names) if target_frame != "helix" or n not in HELIX_DERIVED
        ]
        # the clustering coordinates: the predicted targets but the charge (the curvature carries it)
        self._cluster_cols = [i for i, n in enumerate(self.target_names) if n != "q"] or [0]
        self.head = nn.Linear(backbone.out_dim, frame_outputs(target_frame, self.target_names))
        if target_frame != "plain":  # start from the hit's own direction
            with torch.no_grad():
                self.head.weight.zero_()
                self.head.bias.zero_()
                if target_frame == "hit" and "cos_phi" in self.target_names:
                    self.head.bias[self.target_names.index("cos_phi")] = 1.0
        self.evaluation = evaluation
        self.cluster_val = cluster_val
        self._val_scores: list[float] = []

    # --- model ---------------------------------------------------------------------------------------
    def outputs(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The head's outputs [N, frame_outputs] and the predicted track parameters [N, T]."""
        out = self.head(self.embed(batch))
        return out, from_frame(self.target_frame, out, batch.hit_pos, self.target_names)

    def forward(self, batch: Batch) -> torch.Tensor:
        """Predicted track parameters [N, T] (the view's target columns)."""
        return self.outputs(batch)[1]

    def cluster_points(self, out: torch.Tensor, pred: torch.Tensor) -> np.ndarray:
        """Per-hit coordinates [N, D] the hits are clustered on, from :meth:`outputs`."""
        points = pred[:, self._cluster_cols]
        if self.cluster_frame_weight:
            points = torch.cat([points, self.cluster_frame_weight * out[:, :2]], dim=1)
        return points.detach().float().cpu().numpy()

    def loss(
        self, pred: torch.Tensor, batch: Batch, out: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Loss and the per-target MSE [T] over hits with a particle (hits weighted by their TrackML weight
        with ``weighted_loss``). The loss is the mean over targets of the MSE, or with ``frame_loss`` over
        the head's outputs ``out`` (z0, κ and the targets it gives directly)."""
        mask = batch.target_mask
        weight = (
            batch.weight[mask].float()
            if self.weighted_loss
            else torch.ones(int(mask.sum()), device=mask.device)
        )
        if not bool(mask.any()) or not bool(weight.sum() > 0):
            zero = pred.sum() * 0.0 + (0.0 if out is None else out.sum() * 0.0)
            return zero, torch.zeros(pred.shape[1], device=pred.device)
        weight = (weight / weight.sum())[:, None]
        per_target = (((pred[mask].float() - batch.y[mask]) ** 2) * weight).sum(0)
        if not self.frame_loss:
            return per_target.mean(), per_target.detach()
        if out is None:
            raise ValueError("task.frame_loss: loss() needs the head's outputs (TrackRegressionTask.outputs)")
        truth = torch.cat([batch.helix_y[mask], batch.y[mask][:, self._own]], dim=1)
        per_output = (((out[mask].float() - truth) ** 2) * weight).sum(0)
        return per_output.mean(), per_target.detach()

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        out, pred = self.outputs(batch)
        loss, _ = self.loss(pred, batch, out)
        self.log("train/loss", loss, batch_size=batch.num_graphs, prog_bar=True)
        return loss

    # --- validation ----------------------------------------------------------------------------------
    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        out, pred = self.outputs(batch)
        loss, per_target = self.loss(pred, batch, out)
        self.log("val/loss", loss, batch_size=batch.num_graphs, prog_bar=True)
        for name, value in zip(self.target_names, per_target, strict=True):
            self.log(f"val/mse_{name}", value, batch_size=batch.num_graphs)
        if not self.cluster_val:
            return
        points = self.cluster_points(out, pred)
        event = batch.batch.cpu().numpy()
        pid, weight = batch.particle_id.cpu().numpy(), batch.weight.cpu().numpy()
        pos = batch.hit_pos.cpu().numpy()
        for e in range(batch.num_graphs):
            sel = event == e
            labels = self.evaluation.tracks(points[sel], pos[sel])
            truth = {"particle_id": pid[sel], "weight": weight[sel]}
            self._val_scores.append(self.evaluation.trackml(labels, truth))

    def on_validation_epoch_end(self) -> None:
        if self._val_scores:
            self.log("val/trackml_score", float(np.nanmean(self._val_scores)), prog_bar=True)
            self._val_scores.clear()

    # --- test ----------------------------------------------------------------------------------------
    def _timed_forward(self, data: Data) -> tuple[np.ndarray, np.ndarray, float]:
        """Predicted parameters, clustering coordinates and the model's time on one event."""
        (out, pred), elapsed = self.timed(self.outputs, data)
        return pred.float().cpu().numpy(), self.cluster_points(out, pred), elapsed

    def on_test_epoch_start(self) -> None:
        self.evaluation.reset()

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        out = self.output_dir if self.trainer.is_global_zero else None
        for data in batch.to_data_list():
            pred, points, model_time = self._timed_forward(data)
            self.evaluation.add_event(
                _event_arrays(data),
                pred,
                model_time=model_time,
                device=self.device.type,
                out=out,
                points=points,
            )

    def on_test_epoch_end(self) -> None:
        self.report_evaluation(self.evaluation.metrics(self.target_names), self.target_names)

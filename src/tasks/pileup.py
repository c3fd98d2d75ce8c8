"""Pileup task: classify each line segment as true (sim-matched) or fake, as in the HEPT-CMS study.

Loss: focal loss with a per-event class-imbalance weight (the event's fake/true ratio times a multiplier).
Metrics (validation and test): precision at 99% / 99.9% recall of true LS, AUPRC, F1, F-beta; the score
threshold that keeps 99% of true LS is tracked on validation and saved with the checkpoint. Test metrics are
over the pooled test events; with several, ``test/event_mean/*`` is the mean of each event's own figures
(as a cross-validation fold of one test event reports them).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Batch, Data

from src.evaluation.classification import per_event_metrics, write_classification_report
from src.metrics import binary_classification_metrics
from src.metrics.naming import with_threshold
from src.tasks.base import EventTask
from src.tasks.losses import event_imbalance_alpha, focal_loss

log = logging.getLogger(__name__)


class PileupTask(EventTask):
    """Per-LS true/fake classifier on any backbone."""

    def __init__(
        self,
        backbone: nn.Module,
        *,
        gamma: float = 2.0,
        imbalance_multiplier: float = 2.0,
        recalls: Sequence[float] = (0.99, 0.999),
        beta: float = 3.0,
        threshold_recall: float = 0.99,
        **base,
    ) -> None:
        super().__init__(backbone, **base)
        self.head = nn.Linear(backbone.out_dim, 1)
        if self.backbone_fitted_on_events:  # its output is the logit already: the head passes it on
            with torch.no_grad():
                self.head.weight.fill_(1.0)
                self.head.bias.zero_()
            self.head.requires_grad_(False)
        self.gamma = gamma
        self.imbalance_multiplier = imbalance_multiplier
        self.recalls = tuple(float(r) for r in recalls)
        self.beta = beta
        self.threshold_recall = threshold_recall
        self.register_buffer("score_threshold", torch.tensor(float("nan")))
        self._outputs: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {"val": [], "test": []}

    def forward(self, batch: Batch) -> torch.Tensor:
        """Logits [N] (positive = true LS)."""
        return self.head(self.embed(batch)).squeeze(-1)

    def fit_targets(self, data: Data) -> torch.Tensor:
        """1 for a true LS, 0 for a fake (what a backbone fitted on events learns)."""
        return data.y

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor | None:
        if self.backbone_fitted_on_events:  # fitted in setup: no optimiser step
            return None
        logits = self(batch)
        alpha = event_imbalance_alpha(batch.y, batch.batch, multiplier=self.imbalance_multiplier)
        loss = focal_loss(logits, batch.y, gamma=self.gamma, alpha=alpha)
        self.log("train/loss", loss, batch_size=batch.num_graphs, prog_bar=True)
        return loss

    # --- evaluation ----------------------------------------------------------------------------------
    def _collect(self, stage: str, batch: Batch) -> None:
        logits = self(batch)
        loss = focal_loss(
            logits,
            batch.y,
            gamma=self.gamma,
            alpha=event_imbalance_alpha(batch.y, batch.batch, multiplier=self.imbalance_multiplier),
        )
        self.log(f"{stage}/loss", loss, batch_size=batch.num_graphs)
        scores = torch.sigmoid(logits.float()).cpu().numpy()
        events = batch.event_index[batch.batch].cpu().numpy()
        self._outputs[stage].append((scores, batch.y.cpu().numpy(), events))

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._collect("val", batch)

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._collect("test", batch)

    def _metrics(self, stage: str) -> tuple[dict[str, float], np.ndarray, np.ndarray, np.ndarray]:
        scores, labels, events = (np.concatenate(a) for a in zip(*self._outputs[stage], strict=True))
        self._outputs[stage].clear()
        metrics = binary_classification_metrics(scores, labels, recalls=self.recalls, beta=self.beta)
        return metrics, scores, labels, events

    def on_validation_epoch_end(self) -> None:
        if not self._outputs["val"]:
            return
        metrics, *_ = self._metrics("val")
        self.score_threshold.fill_(metrics[with_threshold("threshold@recall", self.threshold_recall)])
        self.log_dict({f"val/{k}": v for k, v in metrics.items()}, prog_bar=False)
        self.log(
            "val/precision@recall",
            metrics[with_threshold("precision@recall", self.recalls[0])],
            prog_bar=True,
        )

    def on_test_epoch_end(self) -> None:
        if not self._outputs["test"]:
            return
        metrics, scores, labels, events = self._metrics("test")
        self.log_dict({f"test/{k}": v for k, v in metrics.items()})
        per_event = per_event_metrics(scores, labels, events, recalls=self.recalls, beta=self.beta)
        if len(per_event) > 1:  # each event at its own working point (one test event: the same figures)
            means = {k: float(per_event[k].mean()) for k in metrics if not k.startswith("threshold")}
            self.log_dict({f"test/event_mean/{k}": v for k, v in means.items()})
        if self.trainer.is_global_zero:
            threshold = float(self.score_threshold)
            write_classification_report(
                self.output_dir,
                scores,
                labels,
                per_event=per_event,
                metrics=metrics,
                recalls=self.recalls,
                threshold=None if np.isnan(threshold) else threshold,
            )

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["hepreco"]["score_threshold"] = {str(self.threshold_recall): float(self.score_threshold)}

"""Linking task (CMS TICL): decide which candidate links between tracksters join fragments of one particle.

The backbone embeds the tracksters (and, if it uses edges, the candidate links: ``model=gnn_linker``); the
study's edge head scores each link from [h_inner, h_outer, edge embedding, edge features]. Node and edge
features are standardised with statistics fitted on training events (kept in the state dict, so in every
checkpoint and export).

Loss: focal (γ, α = 0.5 + fraction of negative training edges / 2 unless ``alpha`` is given, per-edge weight
min(1, max raw energy of the ends / ``energy_scale``)), times ``focal_weight``, plus optionally
``contrastive_weight`` × a margin contrastive loss on the edge embeddings: positives are the same edges of a
PCA-perturbed copy of the event (:mod:`src.reco.ticl_perturb`), negatives the embeddings of other edges
(the study: 100 × focal + 1e-4 × contrastive, margin 2).

Validation: loss, the energy-weighted F1 at its best threshold, and the working point kept for the test
(``edge_threshold``, in the checkpoint): with ``working_point="f1"`` (default, the study's) the
F1-maximising threshold, with an energy fraction of :mod:`src.metrics.linking` (e.g.
``missed_plus_contaminating_sig``) the threshold that minimises it on the validation events (a direct
physics target, but noisy on few events: one merge of two particles dominates it). Test: ``task.evaluation``
(:class:`src.evaluation.linking.LinkingEvaluation`) scores the model, the geometric baseline and the truth
links (oracle) on the same events.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.data import Batch

from src.evaluation.linking import LinkingEvaluation
from src.event_model import LINK_FEATURE_NAMES
from src.metrics.linking import ENERGY_SUMS, energy_fractions
from src.reco.ticl_graph import F, edge_features
from src.reco.ticl_perturb import perturb
from src.tasks.base import EventTask, FeatureNormalizer
from src.tasks.losses import alpha_focal_loss, contrastive_loss

log = logging.getLogger(__name__)


class LogNormalizer(FeatureNormalizer):
    """Standardisation after a signed log, sign(x)·log(1 + |x|), of the heavy-tailed columns ``log_mask``
    (energies, spreads, counts, distances), fitted on training events and kept in the state dict."""

    def __init__(self, num_features: int, log_mask: Sequence[bool]) -> None:
        super().__init__(num_features)
        self.register_buffer("log_mask", torch.tensor(list(log_mask), dtype=torch.bool))

    def _log(self, x: Tensor) -> Tensor:
        return torch.where(self.log_mask, torch.sign(x) * torch.log1p(x.abs()), x)

    @torch.no_grad()
    def fit(self, xs: Iterable[Tensor]) -> None:
        """Fit mean and standard deviation of the (partly logged) features."""
        super().fit(self._log(x) for x in xs)

    def forward(self, x: Tensor) -> Tensor:
        return (self._log(x) - self.mean) / self.std


def log_mask(names: Sequence[str], logged: Sequence[str], where: str) -> list[bool]:
    """Which of ``names`` are in ``logged``; an unknown name in ``logged`` raises with the allowed ones."""
    unknown = sorted(set(logged) - set(names))
    if unknown:
        raise ValueError(f"{where}: unknown feature(s) {unknown}; allowed: {list(names)}")
    return [n in set(logged) for n in names]


class EdgeHead(nn.Module):
    """The study's edge network and output network: [h_i, h_j, edge embedding, edge features] → (edge
    embedding [E, hidden], logit [E])."""

    def __init__(self, node_dim: int, edge_dim: int, edge_features: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.edge_net = nn.Sequential(
            nn.Linear(2 * node_dim + edge_dim + edge_features, hidden),
            nn.LeakyReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(),
        )
        self.out = nn.Sequential(nn.Linear(hidden, hidden), nn.LeakyReLU(), nn.Linear(hidden, 1))

    def forward(
        self, h: Tensor, edge: Tensor, edge_attr: Tensor, edge_index: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Edge embeddings and logits of edges (inner, outer) [2, E]."""
        z = self.edge_net(torch.cat([h[edge_index[0]], h[edge_index[1]], edge, edge_attr], dim=1))
        return z, self.out(z).squeeze(-1)


class LinkingTask(EventTask):
    """Edge classifier over TICL candidate links on any backbone."""

    def __init__(
        self,
        backbone: nn.Module,
        *,
        evaluation: LinkingEvaluation,
        gamma: float = 2.0,
        alpha: float | None = None,
        energy_scale: float = 300.0,
        focal_weight: float = 1.0,
        contrastive_weight: float = 0.0,
        contrastive_margin: float = 2.0,
        head_hidden: int = 64,
        head_dropout: float = 0.3,
        log_features: Sequence[str],
        log_edge_features: Sequence[str],
        working_point: str = "f1",
        **base,
    ) -> None:
        super().__init__(backbone, **base)
        self.evaluation = evaluation
        allowed = ("f1", *energy_fractions(dict.fromkeys(ENERGY_SUMS, 0.0)))
        if working_point not in allowed:
            raise ValueError(f"task.working_point={working_point!r}; allowed: {list(allowed)}")
        self.working_point = working_point
        self._val = LinkingEvaluation(baseline=evaluation.baseline, single_parent=evaluation.single_parent)
        self.gamma, self.energy_scale = gamma, energy_scale
        self.focal_weight, self.contrastive_weight = focal_weight, contrastive_weight
        self.contrastive_margin = contrastive_margin
        self.uses_edges = bool(getattr(backbone, "uses_edges", False))
        n_edge = self.view.inputs.edge_features
        inputs = self.view.inputs
        self.normalizer = LogNormalizer(
            inputs.num_features, log_mask(inputs.feature_names, log_features, "task.log_features")
        )
        self.edge_normalizer = LogNormalizer(
            n_edge, log_mask(LINK_FEATURE_NAMES, log_edge_features, "task.log_edge_features")
        )
        edge_dim = backbone.edge_out_dim if self.uses_edges else 0
        self.head = EdgeHead(backbone.out_dim, edge_dim, n_edge, head_hidden, head_dropout)
        self.register_buffer("alpha", torch.tensor(float("nan") if alpha is None else alpha))
        self.register_buffer("edge_threshold", torch.tensor(0.5))

    def setup(self, stage: str) -> None:
        super().setup(stage)
        if stage != "fit":
            return
        train = self.trainer.datamodule.datasets["train"]
        n = min(len(train), self.normalizer_events)
        if not bool(self.edge_normalizer.fitted):
            self.edge_normalizer.fit(train[i].edge_attr for i in range(n))
        if torch.isnan(self.alpha):
            labels = torch.cat([train[i].y for i in range(len(train))])
            negative = float((labels < 0.5).float().mean()) if labels.numel() else 0.5
            self.alpha.fill_(0.5 + negative / 2)
            log.info(
                "Focal alpha = 0.5 + %.3f / 2 = %.3f (negative fraction of training edges)",
                negative,
                self.alpha,
            )

    # --- model ---------------------------------------------------------------------------------------
    def score_edges(self, x: Tensor, coords: Tensor, batch: Tensor, edge_index: Tensor, edge_attr: Tensor):
        """(edge embeddings, logits [E]) from raw node features x and raw edge features."""
        xn, en = self.normalizer(x), self.edge_normalizer(edge_attr)
        if self.uses_edges:
            h, edge = self.backbone(xn, coords, batch, edge_index, en)
        else:
            h, edge = self.backbone(xn, coords, batch), en.new_zeros(len(en), 0)
        return self.head(h, edge, en, edge_index)

    def forward(self, batch: Batch) -> Tensor:
        """Link logits [E] of every candidate edge of the batch."""
        return self.score_edges(batch.x, batch.coords, batch.batch, batch.edge_index, batch.edge_attr)[1]

    def _weights(self, batch: Batch) -> Tensor:
        return (batch.edge_weight / self.energy_scale).clamp(0.0, 1.0)

    def _loss(self, batch: Batch, logits: Tensor) -> Tensor:
        return alpha_focal_loss(
            logits, batch.y, gamma=self.gamma, alpha=float(self.alpha), weight=self._weights(batch)
        )

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        embedding, logits = self.score_edges(
            batch.x, batch.coords, batch.batch, batch.edge_index, batch.edge_attr
        )
        loss = self.focal_weight * self._loss(batch, logits)
        if self.contrastive_weight > 0 and len(logits) > 1:
            x_pert = perturb(batch.x, 1)[0]
            coords = x_pert[:, [F["barycenter_eta"], F["barycenter_phi"]]]
            e_pert = edge_features(x_pert, batch.edge_index)
            positive, _ = self.score_edges(x_pert, coords, batch.batch, batch.edge_index, e_pert)
            negative = embedding[torch.randperm(len(embedding), device=embedding.device)]
            pairs = torch.cat([positive, negative])
            anchor = torch.cat([embedding, embedding])
            dissimilar = torch.cat([torch.zeros(len(embedding)), torch.ones(len(embedding))]).to(embedding)
            contrastive = contrastive_loss(anchor, pairs, dissimilar, margin=self.contrastive_margin)
            self.log("train/contrastive", contrastive, batch_size=batch.num_graphs)
            loss = loss + self.contrastive_weight * contrastive
        self.log("train/loss", loss, batch_size=batch.num_graphs, prog_bar=True)
        return loss

    # --- validation: the working point ---------------------------------------------------------------
    def _events(self, evaluation: LinkingEvaluation, batch: Batch, scores: Tensor) -> None:
        """Hand every event of a batch with its edge scores to an evaluation."""
        offsets = torch.cumsum(
            torch.bincount(batch.batch[batch.edge_index[0]], minlength=batch.num_graphs), 0
        )
        for k, data in enumerate(batch.to_data_list()):
            lo = int(offsets[k - 1]) if k else 0
            evaluation.add_event(int(data.event_index), data, scores[lo : int(offsets[k])].cpu().numpy())

    def on_validation_epoch_start(self) -> None:
        self._val.reset()

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        logits = self(batch)
        self.log("val/loss", self._loss(batch, logits), batch_size=batch.num_graphs)
        self._events(self._val, batch, torch.sigmoid(logits.float()))

    def on_validation_epoch_end(self) -> None:
        if not len(self._val):
            return
        threshold, f1 = self._val.best_threshold("f1")
        metrics = {"val/edge_f1_best": f1, "val/edge_threshold_best": threshold}
        if self.working_point != "f1":
            threshold, value = self._val.best_threshold(self.working_point)
            metrics[f"val/{self.working_point}"] = value
        if np.isfinite(threshold):
            self.edge_threshold.fill_(threshold)
        self.log_dict(metrics | {"val/edge_threshold": float(self.edge_threshold)}, prog_bar=True)
        self._val.reset()

    # --- test ----------------------------------------------------------------------------------------
    def on_test_epoch_start(self) -> None:
        self.evaluation.reset()

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._events(self.evaluation, batch, torch.sigmoid(self(batch).float()))

    def on_test_epoch_end(self) -> None:
        metrics = self.evaluation.metrics(float(self.edge_threshold))
        self.log_dict(metrics)
        if self.trainer.is_global_zero:
            self.evaluation.write(self.output_dir)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["hepreco"]["edge_threshold"] = float(self.edge_threshold)

"""Tracking task: embed line segments so that LS of the same simulated track sit together (HEPT-CMS study).

Training pairs come from a radius graph in a 3-D LDA projection of the LS features (fitted once on the
training LS with the sim track as class, kept in the state dict so every later evaluation re-uses it);
at most ``max_neighbours_factor·√N`` nearest neighbours per LS. With ``all_positives`` every same-track pair
is added as a positive too (as the study's dataset code does), so the graph only decides the negatives.
Loss: InfoNCE with an RBF similarity of the embedding distance (σ, τ). By default only sim-matched LS
enter (the study); ``fake_negatives`` feeds every LS and makes fakes negatives of everything.

Validation: AP@k on the sim-matched LS. Test: ``task.evaluation`` (:class:`src.evaluation.tracking.
TrackingEvaluation`) scores the model's embedding and the LDA baseline in their scopes and writes the
artifacts; this module only computes the embeddings and the graph statistics it hands over.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.data import Batch

from src.evaluation.tracking import ScoredObjects, TrackingEvaluation
from src.metrics.retrieval import average_precision_at_k, mean_at_thresholds
from src.reco.graphs import graph_saturation, radius_pairs, same_track_pairs, symmetrize, unique_pairs
from src.reco.lda import fit_lda
from src.tasks.base import EventTask
from src.tasks.losses import info_nce_loss

log = logging.getLogger(__name__)


@dataclass
class _Objects:
    """The LS of a batch of events as flat arrays (a subset keeps the event structure)."""

    x: Tensor
    coords: Tensor
    batch: Tensor
    particle_id: Tensor
    sim_pt: Tensor
    ls_pt: Tensor
    event: Tensor

    @classmethod
    def from_batch(cls, batch: Batch) -> _Objects:
        return cls(
            x=batch.x,
            coords=batch.coords,
            batch=batch.batch,
            particle_id=batch.particle_id,
            sim_pt=batch.sim_pt,
            ls_pt=batch.ls_pt,
            event=batch.event_index[batch.batch],
        )

    def subset(self, mask: Tensor) -> _Objects:
        """The objects where ``mask`` is true, with event indices renumbered 0…B'−1."""
        out = {f.name: getattr(self, f.name)[mask] for f in fields(self)}
        out["batch"] = torch.unique(out["batch"], return_inverse=True)[1]
        return _Objects(**out)

    def __len__(self) -> int:
        return len(self.x)

    def scored(self, embedding: np.ndarray) -> ScoredObjects:
        """These objects with their embedding, as the evaluation takes them."""
        return ScoredObjects(
            embedding=embedding,
            particle_id=self.particle_id.cpu().numpy(),
            batch=self.batch.cpu().numpy(),
            event=self.event.cpu().numpy(),
            sim_pt=self.sim_pt.cpu().numpy(),
            ls_pt=self.ls_pt.cpu().numpy(),
        )


class TrackingTask(EventTask):
    """LS embedding with InfoNCE on LDA radius-graph pairs, on any backbone (its output is the embedding)."""

    def __init__(
        self,
        backbone: nn.Module,
        *,
        evaluation: TrackingEvaluation,
        radius: float = 4.0,
        max_neighbours_factor: float = 0.2,
        all_positives: bool = True,
        sigma: float = 0.75,
        tau: float = 0.05,
        fake_negatives: bool = False,
        lda_components: int = 3,
        lda_events: int = 64,
        lda_max_tracks: int = 20000,
        lda_residual: float = 0.1,
        **base,
    ) -> None:
        super().__init__(backbone, **base)
        self.evaluation = evaluation
        self.radius = radius
        self.max_neighbours_factor = max_neighbours_factor
        self.all_positives = all_positives
        self.sigma = sigma
        self.tau = tau
        self.fake_negatives = fake_negatives
        self.lda_events = lda_events
        self.lda_max_tracks = lda_max_tracks
        out_dim = backbone.out_dim
        if lda_residual < 0 or (lda_residual > 0 and out_dim < lda_components):
            raise ValueError(
                f"task.lda_residual={lda_residual} needs lda_residual >= 0 and model.out_dim ({out_dim}) >= "
                f"task.lda_components ({lda_components})"
            )
        self.lda_residual = lda_residual
        # with a residual, the embedding starts as the scaled LDA coordinates: a zero-initialised head
        self.head = nn.Linear(out_dim, out_dim) if lda_residual > 0 else nn.Identity()
        if lda_residual > 0:
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)
        num_features = self.view.inputs.num_features
        self.register_buffer("lda_mean", torch.zeros(num_features, dtype=torch.float64))
        self.register_buffer("lda_scalings", torch.zeros(num_features, lda_components, dtype=torch.float64))
        self.register_buffer("lda_fitted", torch.tensor(False))
        self._val: list[dict[str, np.ndarray]] = []

    # --- LDA and training pairs ----------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        super().setup(stage)
        if stage == "fit" and not bool(self.lda_fitted):
            train = self.trainer.datamodule.datasets["train"]
            n = min(len(train), self.lda_events)
            events = [train[i] for i in range(n)]
            lda = fit_lda(
                [e.x.numpy() for e in events],
                [e.particle_id.numpy() for e in events],
                n_components=self.lda_scalings.shape[1],
                max_tracks=self.lda_max_tracks,
            )
            self.lda_mean.copy_(torch.from_numpy(lda.mean))
            self.lda_scalings.copy_(torch.from_numpy(lda.scalings))
            self.lda_fitted.fill_(True)
            log.info("LDA fitted on %d training event(s): %d LS of %d tracks", n, lda.n_objects, lda.n_tracks)

    def lda(self, x: Tensor) -> np.ndarray:
        """LDA coordinates [N, C] (numpy float64) of view features [N, F]."""
        if not bool(self.lda_fitted):
            raise RuntimeError(
                "the tracking task's LDA projection is not fitted: train first (python -m src.train "
                "task=tracking) or load a checkpoint written by src.train"
            )
        return ((x.detach().double() - self.lda_mean) @ self.lda_scalings).cpu().numpy()

    def graph(self, objects: _Objects) -> np.ndarray:
        """The radius graph in LDA space (both directions of each edge), [2, E]."""
        return symmetrize(
            radius_pairs(
                self.lda(objects.x),
                objects.batch.cpu().numpy(),
                radius=self.radius,
                factor=self.max_neighbours_factor,
            )
        )

    def training_pairs(self, objects: _Objects) -> tuple[Tensor, Tensor, float]:
        """Pairs [2, E], positive mask [E] and the graph's saturation for a set of objects."""
        pid = objects.particle_id.cpu().numpy()
        batch = objects.batch.cpu().numpy()
        edges = self.graph(objects)
        saturation = graph_saturation(edges, pid, batch)
        if self.all_positives:
            edges = unique_pairs(np.concatenate([edges, same_track_pairs(pid, batch)], axis=1))
        positive = (pid[edges[0]] >= 0) & (pid[edges[0]] == pid[edges[1]])
        device = objects.x.device
        return torch.from_numpy(edges).to(device), torch.from_numpy(positive).to(device), saturation

    # --- model ---------------------------------------------------------------------------------------
    def embed_objects(self, objects: _Objects) -> Tensor:
        """Embedding [N, out_dim] of a set of objects (the backbone sees only these).

        With ``lda_residual`` s > 0 it is ``head(backbone) + s · LDA`` (LDA coordinates in the first
        dimensions, the head zero at initialisation), so training starts from the LDA baseline and learns
        a correction; with s = 0 it is the backbone output alone.
        """
        embedding = self.head(self.backbone(self.normalizer(objects.x), objects.coords, objects.batch))
        if self.lda_residual > 0:
            lda = torch.from_numpy(self.lda(objects.x)).to(embedding)
            embedding = torch.cat(
                [embedding[:, : lda.shape[1]] + self.lda_residual * lda, embedding[:, lda.shape[1] :]], dim=1
            )
        return embedding

    def forward(self, batch: Batch) -> Tensor:
        """Embedding [N, out_dim] of every LS of the batch."""
        return self.embed_objects(_Objects.from_batch(batch))

    def _training_objects(self, batch: Batch) -> _Objects:
        objects = _Objects.from_batch(batch)
        return objects if self.fake_negatives else objects.subset(objects.particle_id >= 0)

    def _loss(self, objects: _Objects, embedding: Tensor) -> tuple[Tensor, float]:
        pairs, positive, saturation = self.training_pairs(objects)
        return info_nce_loss(embedding, pairs, positive, sigma=self.sigma, tau=self.tau), saturation

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        objects = self._training_objects(batch)
        loss, saturation = self._loss(objects, self.embed_objects(objects))
        self.log("train/loss", loss, batch_size=batch.num_graphs, prog_bar=True)
        self.log("train/graph_saturation", saturation, batch_size=batch.num_graphs)
        return loss

    # --- validation: loss and AP@k on sim-matched LS -------------------------------------------------
    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        objects = self._training_objects(batch)
        embedding = self.embed_objects(objects)
        loss, _ = self._loss(objects, embedding)
        self.log("val/loss", loss, batch_size=batch.num_graphs)
        matched = objects.subset(objects.particle_id >= 0)
        emb = embedding[objects.particle_id >= 0]
        result = average_precision_at_k(
            emb.detach().float().cpu().numpy(), matched.particle_id.cpu().numpy(), matched.batch.cpu().numpy()
        )
        self._val.append({"ap": result.ap, "pt": matched.sim_pt.cpu().numpy()[result.index]})

    def on_validation_epoch_end(self) -> None:
        if not self._val:
            return
        ap = np.concatenate([v["ap"] for v in self._val])
        pt = np.concatenate([v["pt"] for v in self._val])
        self._val.clear()
        metrics = mean_at_thresholds(ap, pt, self.evaluation.pt_thresholds, prefix="ap@k_pt")
        self.log_dict({f"val/{k}": v for k, v in metrics.items()}, prog_bar=True)

    # --- test: the evaluation object scores the embeddings ------------------------------------------
    def on_test_epoch_start(self) -> None:
        self.evaluation.reset()

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        objects = _Objects.from_batch(batch)
        sets = {"matched": objects.subset(objects.particle_id >= 0), "all": objects}
        for event in torch.unique(objects.event).tolist():
            pid = objects.particle_id[objects.event == event]
            true = pid[pid >= 0]
            self.evaluation.add_event_info(
                event, {"n_ls": len(pid), "n_true_ls": len(true), "n_tracks": torch.unique(true).numel()}
            )
        embeddings: dict[str, np.ndarray] = {}
        for scope, space, which in self.evaluation.scopes():
            objs = sets[which]
            if space == "model":
                embeddings.setdefault(which, self.embed_objects(objs).float().cpu().numpy())
            embedding = embeddings[which] if space == "model" else self.lda(objs.x)
            self.evaluation.add(scope, objs.scored(embedding), baseline=space != "model")
        for scope, space, which in self.evaluation.scopes():
            if space != "model":
                continue
            for b in torch.unique(sets[which].batch):
                objs = sets[which].subset(sets[which].batch == b)
                edges = self.graph(objs)
                pid = objs.particle_id.cpu().numpy()
                self.evaluation.add_event_info(
                    int(objs.event[0]),
                    {
                        f"{scope}graph_saturation": graph_saturation(edges, pid),
                        f"{scope}graph_edges_per_ls": edges.shape[1] / len(objs),
                    },
                )

    def on_test_epoch_end(self) -> None:
        self.report_evaluation(self.evaluation.metrics())

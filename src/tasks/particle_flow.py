"""Particle-flow task (MLPF): every PF element of an event (track or cluster) predicts whether it carries
a particle, its class, and its kinematics.

Heads (MLPF's): particle/no-particle (2 logits) and class (PF_CLASSES logits) on the identification
embedding; on the regression embedding, pT and E as log-ratios to the element's own (its pT or E_T, its p
or E; one head per element type) and η, sin φ, cos φ as linear corrections of the element's values,
``v + σ·(a·v + b)``. Each regression output is scaled by σ, the spread of its target about the element's
own value for that element type, measured on training events (``target_scale``, saved with the model): a
track's momentum is already within a fraction of a percent of its particle's, a cluster's energy off by
tens of percent, and one optimiser step should move either by a comparable fraction of its spread. The
last layer of every regression head starts at zero, so an untrained model reproduces its elements' own
measurements. The energy is kept at or above the predicted momentum: log(E/E_elem) =
log(|p|/E_elem) + ReLU(head) with |p| from the (detached) pT and η. A backbone with ``out_splits`` (the
MLPF model) gives the two embeddings side by side; any other backbone feeds both kinds of heads.

Loss (MLPF's): 10 × cross-entropy on particle/no-particle over elements, focal loss (γ = 2) on the class
of elements that carry a true particle (summed, divided by the number of elements), MSE on log pT and log
E ratios (weight 1) and on η, sin φ, cos φ (weight 0.01), averaged over true particles. The test stage is
``task.evaluation`` (:class:`src.evaluation.particle_flow.ParticleFlowEvaluation`).
"""

from __future__ import annotations

import logging

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch_geometric.data import Batch

from src.evaluation.particle_flow import ParticleFlowEvaluation
from src.event_model import PF_CLASSES
from src.models.mlpf import ffn, object_type
from src.tasks.base import EventTask
from src.tasks.losses import multiclass_focal_loss

#: Element columns of (pT or E_T, η, sin φ, cos φ, p or E), the same for every element type.
PT, ETA, SIN, COS, ENERGY = 1, 2, 3, 4, 5
#: The regression targets, in the order of ``target_scale``'s columns.
TARGETS = ("log_pt", "eta", "sin_phi", "cos_phi", "log_energy")
_EPS = 1e-3
log = logging.getLogger(__name__)


class ParticleFlowTask(EventTask):
    """MLPF heads and loss on any backbone over PF elements."""

    def __init__(
        self,
        backbone: nn.Module,
        *,
        evaluation: ParticleFlowEvaluation,
        head_hidden: int,
        binary_weight: float = 10.0,
        class_gamma: float = 2.0,
        momentum_weight: float = 1.0,
        angle_weight: float = 0.01,
        **base,
    ) -> None:
        super().__init__(backbone, **base)
        self.object_types = self.view.inputs.object_types
        splits = getattr(backbone, "out_splits", None)
        self.splits = tuple(splits) if splits else None
        d_id, d_reg = self.splits or (backbone.out_dim, backbone.out_dim)
        types = self.object_types
        self.head_binary = ffn(d_id, 2, head_hidden)
        self.head_class = ffn(d_id, len(PF_CLASSES), head_hidden)
        self.head_pt = nn.ModuleList(ffn(d_reg, 1, head_hidden) for _ in range(types))
        self.head_energy = nn.ModuleList(ffn(d_reg, 1, head_hidden) for _ in range(types))
        self.head_angles = nn.ModuleDict(
            {k: ffn(d_reg, 2, head_hidden) for k in ("eta", "sin_phi", "cos_phi")}
        )
        self.register_buffer("target_scale", torch.ones(types, len(TARGETS)))
        self.register_buffer("target_scale_fitted", torch.tensor(False))
        self.evaluation = evaluation
        self.binary_weight, self.class_gamma = binary_weight, class_gamma
        self.momentum_weight, self.angle_weight = momentum_weight, angle_weight

    # --- target scales -------------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        super().setup(stage)
        if stage == "fit" and not bool(self.target_scale_fitted):
            train = self.trainer.datamodule.datasets["train"]
            self.fit_target_scale([train[i] for i in range(min(len(train), self.normalizer_events))])

    @torch.no_grad()
    def fit_target_scale(self, events: list) -> None:
        """σ per element type and target: the standard deviation of (target − element value) over the
        elements with a true particle of ``events`` (1 where a type has fewer than two)."""
        batch = Batch.from_data_list(events)
        x, target = batch.x.float(), self.targets(batch)
        own = torch.stack([torch.zeros(len(x)), x[:, ETA], x[:, SIN], x[:, COS], torch.zeros(len(x))], 1)
        residual = torch.stack([target[k] for k in TARGETS], 1) - own
        types = object_type(x, self.object_types)
        for t in range(self.object_types):
            rows = residual[(types == t) & (batch.y_class > 0)]
            if len(rows) > 1:
                self.target_scale[t] = rows.std(0).clamp_min(1e-4)
        self.target_scale_fitted.fill_(True)
        log.info(
            "Regression target spread per element type %s: %s", list(TARGETS), self.target_scale.tolist()
        )

    # --- model ---------------------------------------------------------------------------------------
    def _by_type(self, heads: nn.ModuleList, h: Tensor, types: Tensor) -> Tensor:
        out = torch.stack([head(h).squeeze(-1) for head in heads], dim=1).float()
        return out.gather(1, types[:, None]).squeeze(1)

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        """Per element: ``binary`` [N, 2] and ``class`` [N, C] logits; ``log_pt``/``log_energy`` (log-ratios
        to the element's), ``eta``, ``sin_phi``, ``cos_phi`` [N]."""
        h = self.embed(batch)
        h_id, h_reg = h.split(self.splits, dim=1) if self.splits else (h, h)
        x = batch.x.float()
        types = object_type(x, self.object_types)
        out = {"binary": self.head_binary(h_id).float(), "class": self.head_class(h_id).float()}
        scale = self.target_scale[types]
        out["log_pt"] = scale[:, 0] * self._by_type(self.head_pt, h_reg, types)
        for i, (name, col) in enumerate((("eta", ETA), ("sin_phi", SIN), ("cos_phi", COS)), start=1):
            a, b = self.head_angles[name](h_reg).float().unbind(-1)
            out[name] = x[:, col] + scale[:, i] * (a * x[:, col] + b)
        pt = torch.exp(out["log_pt"].detach()) * x[:, PT].clamp_min(_EPS)
        p = pt * torch.cosh(out["eta"].detach().clamp(-10, 10))
        floor = torch.log(p / x[:, ENERGY].clamp_min(_EPS))
        out["log_energy"] = floor + F.relu(scale[:, 4] * self._by_type(self.head_energy, h_reg, types))
        return out

    def targets(self, batch: Batch) -> dict[str, Tensor]:
        """Regression targets of every element (meaningful where ``batch.y_class > 0``)."""
        x, y = batch.x.float(), batch.y_p4.float()
        return {
            "log_pt": torch.log(y[:, 0].clamp_min(_EPS) / x[:, PT].clamp_min(_EPS)),
            "eta": y[:, 1],
            "sin_phi": y[:, 2],
            "cos_phi": y[:, 3],
            "log_energy": torch.log(y[:, 4].clamp_min(_EPS) / x[:, ENERGY].clamp_min(_EPS)),
        }

    def loss(self, pred: dict[str, Tensor], batch: Batch) -> tuple[Tensor, dict[str, Tensor]]:
        """Total MLPF loss and its parts (detached)."""
        cls = batch.y_class.long()
        true = cls > 0
        n_elements, n_particles = max(len(cls), 1), true.sum().clamp_min(1)
        parts = {
            "binary": self.binary_weight * F.cross_entropy(pred["binary"], true.long(), reduction="sum"),
            "class": (multiclass_focal_loss(pred["class"], cls, gamma=self.class_gamma) * true).sum(),
        }
        parts = {k: v / n_elements for k, v in parts.items()}
        target = self.targets(batch)
        for name in target:
            weight = self.momentum_weight if name.startswith("log_") else self.angle_weight
            err = (pred[name] - target[name]) ** 2
            parts[name] = weight * torch.where(true, err, 0.0).sum() / n_particles
        total = sum(parts.values())
        return total, {k: v.detach() for k, v in parts.items()}

    def predict(self, pred: dict[str, Tensor], batch: Batch) -> tuple[Tensor, Tensor]:
        """Predicted particles: class id per element (0: none) and (pT, η, sin φ, cos φ, E) [N, 5]."""
        is_particle = pred["binary"].argmax(-1) == 1
        cls = torch.where(is_particle, pred["class"][:, 1:].argmax(-1) + 1, 0)
        x = batch.x.float()
        pt = torch.exp(pred["log_pt"]) * x[:, PT].clamp_min(_EPS)
        energy = torch.exp(pred["log_energy"]) * x[:, ENERGY].clamp_min(_EPS)
        return cls, torch.stack([pt, pred["eta"], pred["sin_phi"], pred["cos_phi"], energy], dim=1)

    # --- steps ---------------------------------------------------------------------------------------
    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        loss, _ = self.loss(self(batch), batch)
        self.log("train/loss", loss, batch_size=batch.num_graphs, prog_bar=True)
        return loss

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        loss, parts = self.loss(self(batch), batch)
        self.log("val/loss", loss, batch_size=batch.num_graphs, prog_bar=True)
        for name, value in parts.items():
            self.log(f"val/loss_{name}", value, batch_size=batch.num_graphs)

    def on_test_epoch_start(self) -> None:
        self.evaluation.reset()

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        pred = self(batch)
        cls, p4 = self.predict(pred, batch)
        event = batch.batch
        for i, data in enumerate(batch.to_data_list()):
            sel = event == i
            arrays = {k: v.detach().cpu().numpy() for k, v in data.to_dict().items() if isinstance(v, Tensor)}
            self.evaluation.add_event(arrays, cls[sel].cpu().numpy(), p4[sel].float().cpu().numpy())

    def on_test_epoch_end(self) -> None:
        self.report_evaluation(self.evaluation.metrics())

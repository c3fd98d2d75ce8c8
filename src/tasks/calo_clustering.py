"""Calorimeter hit clustering (the ILC study) with object condensation: every hit (and track) token gets a
position in a clustering space, a condensation score β, a particle type, a charge, a calibration of its
particle's energy and its particle's direction; clusters come from condensation inference, so no maximum
number of clusters exists anywhere.

Losses (weights ``loss_weights``): the object-condensation ``potential`` and ``beta`` terms
(:mod:`src.tasks.condensation`), and per-token property terms weighted by ξ = artanh²β (noise excluded,
as in the paper, so the condensation points carry them): ``type`` (cross-entropy over
:data:`src.event_model.CALO_PARTICLE_TYPES`), ``charge`` (cross-entropy over −, 0, +), ``energy`` (squared
error of the log of particle energy over deposited energy) and ``direction`` (1 − cos of the angle to the
particle's momentum). Validation: the loss terms and the clustering's ``val/efficiency``, ``val/purity`` and
``val/ari``. Test: ``task.evaluation`` (:class:`src.evaluation.calo_clustering.CaloClusteringEvaluation`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.functional import cross_entropy
from torch_geometric.data import Batch, Data

from src.evaluation.calo_clustering import CaloClusteringEvaluation, match_event
from src.event_model import CALO_TYPE_NAMES
from src.metrics.calo_clusters import ClusterCounts, adjusted_rand_index, cluster_counts
from src.tasks.base import EventTask
from src.tasks.condensation import condensation_loss, property_weights

log = logging.getLogger(__name__)
LOSS_TERMS = ("potential", "beta", "type", "charge", "energy", "direction")


def _event_arrays(data: Data) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy() for k, v in data.to_dict().items() if isinstance(v, Tensor)}


class CaloClusteringTask(EventTask):
    """Object condensation with type, charge, energy and direction on any backbone.

    Args:
        backbone: per-token embeddings [N, backbone.out_dim].
        evaluation: the test stage (condensation inference, baseline, metrics, plots).
        cluster_dim: dimensions of the clustering space.
        q_min: the condensation charge's floor q_min.
        noise_weight: s_B, the weight of the noise tokens' β term.
        loss_weights: weight of each of :data:`LOSS_TERMS`.
        head_hidden: hidden width of the per-token output MLP.
        direction_prior: the clustering space starts as the token's unit direction (a hit's from the origin,
            a track's momentum) times this scale, padded with zeros, and the head learns the rest: tokens
            0.1 rad apart start one repulsion radius apart (with 10). 0: the head's output alone.
        energy_weight_power: each token's potential term is weighted by its energy to this power,
            normalised to a mean of 1 per event (the metrics weigh hits by energy); 0: unweighted (the
            paper). Track tokens weigh as the mean.
    """

    def __init__(
        self,
        backbone: nn.Module,
        *,
        evaluation: CaloClusteringEvaluation,
        cluster_dim: int,
        q_min: float,
        noise_weight: float,
        loss_weights: Mapping[str, float],
        head_hidden: int,
        direction_prior: float,
        energy_weight_power: float,
        **base,
    ) -> None:
        super().__init__(backbone, **base)
        if set(loss_weights) != set(LOSS_TERMS):
            raise ValueError(
                f"task.loss_weights needs exactly the keys {LOSS_TERMS}, got {sorted(loss_weights)}"
            )
        if not hasattr(self.view, "with_tracks"):
            raise ValueError(
                "task=calo_clustering needs the calorimeter hit view (src.data.calo_view.CaloHitView)"
            )
        self.evaluation = evaluation
        self.cluster_dim = cluster_dim
        self.q_min = q_min
        self.noise_weight = noise_weight
        self.loss_weights = dict(loss_weights)
        self.direction_prior = direction_prior
        self.energy_weight_power = energy_weight_power
        self._energy_column = self.view.feature_names.index("log_energy")
        if cluster_dim < 3 and direction_prior:
            raise ValueError(f"task.direction_prior needs task.cluster_dim >= 3 (got {cluster_dim}) or 0")
        self._direction_columns = [self.view.feature_names.index(f"dir_{a}") for a in "xyz"]
        self.n_types = len(CALO_TYPE_NAMES)
        widths = (cluster_dim, 1, self.n_types, 3, 1, 3)
        self.splits = list(widths)
        self.head = nn.Sequential(
            nn.Linear(backbone.out_dim, head_hidden), nn.GELU(), nn.Linear(head_hidden, sum(widths))
        )
        self._val_counts = ClusterCounts()
        self._val_ari: list[float] = []

    # --- model ---------------------------------------------------------------------------------------
    def forward(self, batch: Batch) -> dict[str, Tensor]:
        """Per-token outputs: ``coords`` [N, D], ``beta`` [N], ``type_logits`` [N, T], ``charge_logits``
        [N, 3], ``log_energy_factor`` [N], ``direction`` [N, 3] (unit)."""
        coords, beta, types, charge, energy, direction = self.head(self.embed(batch)).split(self.splits, -1)
        if self.direction_prior:
            prior = self.direction_prior * batch.x[:, self._direction_columns]
            coords = coords + nn.functional.pad(prior, (0, self.cluster_dim - 3))
        return {
            "coords": coords,
            "beta": torch.sigmoid(beta.squeeze(-1)),
            "type_logits": types,
            "charge_logits": charge,
            "log_energy_factor": energy.squeeze(-1),
            "direction": nn.functional.normalize(direction, dim=-1, eps=1e-6),
        }

    def losses(self, out: Mapping[str, Tensor], batch: Batch) -> dict[str, Tensor]:
        """Each loss term and their weighted sum ``loss``."""
        terms = condensation_loss(
            out["coords"],
            out["beta"],
            batch.object_id,
            batch.batch,
            q_min=self.q_min,
            noise_weight=self.noise_weight,
            weight=self.token_weights(batch),
        )
        xi = property_weights(out["beta"], batch.object_id)
        norm = xi.sum().clamp_min(1e-9)
        has = batch.object_id >= 0
        type_ce = cross_entropy(out["type_logits"], batch.type_id.clamp_min(0), reduction="none")
        charge_ce = cross_entropy(out["charge_logits"], batch.charge_id.clamp_min(0), reduction="none")
        energy_se = (out["log_energy_factor"] - batch.log_energy_factor) ** 2
        cos = (out["direction"] * batch.direction).sum(-1)
        for name, per_token in (
            ("type", type_ce),
            ("charge", charge_ce),
            ("energy", energy_se),
            ("direction", 1 - cos),
        ):
            terms[name] = (xi * torch.where(has, per_token, 0.0)).sum() / norm
        terms["loss"] = sum(self.loss_weights[k] * terms[k] for k in LOSS_TERMS)
        return terms

    def token_weights(self, batch: Batch) -> Tensor | None:
        """Per-token weight of the potential: hit energy^power over its event's mean (tracks: 1)."""
        if not self.energy_weight_power:
            return None
        w = torch.exp(self.energy_weight_power * batch.x[:, self._energy_column])
        n = batch.num_graphs
        hit = batch.is_hit
        total = torch.zeros(n, dtype=w.dtype, device=w.device).index_add(0, batch.batch[hit], w[hit])
        count = torch.bincount(batch.batch[hit], minlength=n).clamp_min(1)
        mean = (total / count).clamp_min(1e-12)[batch.batch]
        return torch.where(hit, w / mean, 1.0)

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        terms = self.losses(self(batch), batch)
        n = batch.num_graphs
        self.log("train/loss", terms["loss"], batch_size=n, prog_bar=True)
        self.log_dict({f"train/loss_{k}": terms[k].detach() for k in LOSS_TERMS}, batch_size=n)
        return terms["loss"]

    # --- validation ----------------------------------------------------------------------------------
    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        out = self(batch)
        terms = self.losses(out, batch)
        n = batch.num_graphs
        self.log("val/loss", terms["loss"], batch_size=n, prog_bar=True)
        self.log_dict({f"val/loss_{k}": terms[k] for k in LOSS_TERMS}, batch_size=n)
        event = batch.batch
        for e, data in enumerate(batch.to_data_list()):
            a = _event_arrays(data)
            clusters = self.evaluation.model_clusters(a, self.to_numpy(out, event == e))
            if not bool(a["has_truth"][0]):
                continue
            match = match_event(a, clusters.labels)
            self._val_counts = self._val_counts + cluster_counts(match)
            self._val_ari.append(adjusted_rand_index(a["object_id"][a["is_hit"]], clusters.labels))

    def on_validation_epoch_end(self) -> None:
        if self._val_ari:
            rates = self._val_counts.rates()
            self.log("val/efficiency", rates["efficiency"], prog_bar=True)
            self.log("val/purity", rates["purity"])
            self.log("val/ari", float(np.nanmean(self._val_ari)))
        self._val_counts = ClusterCounts()
        self._val_ari = []

    @staticmethod
    def to_numpy(out: Mapping[str, Tensor], select: Tensor | None = None) -> dict[str, np.ndarray]:
        """Outputs of the tokens ``select`` as numpy arrays, with class probabilities for the evaluation."""
        keep = slice(None) if select is None else select
        arrays = {
            "coords": out["coords"][keep],
            "beta": out["beta"][keep],
            "type_prob": torch.softmax(out["type_logits"][keep].float(), -1),
            "charge_prob": torch.softmax(out["charge_logits"][keep].float(), -1),
            "log_energy_factor": out["log_energy_factor"][keep],
            "direction": out["direction"][keep],
        }
        return {k: v.detach().float().cpu().numpy() for k, v in arrays.items()}

    # --- test ----------------------------------------------------------------------------------------
    def on_test_epoch_start(self) -> None:
        self.evaluation.reset()

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        for data in batch.to_data_list():
            out, model_time = self.timed(self, data)
            self.evaluation.add_event(_event_arrays(data), self.to_numpy(out), model_time=model_time)

    def on_test_epoch_end(self) -> None:
        self.report_evaluation(self.evaluation.metrics())

"""What every task's LightningModule shares: input normalisation, optimiser and schedule, run metadata."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import nn
from torch_geometric.data import Batch, Data

from src.data.views import View
from src.models import Backbone

log = logging.getLogger(__name__)


class FeatureNormalizer(nn.Module):
    """Standardise features with statistics fitted once on training events (saved in the state dict)."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(num_features))
        self.register_buffer("std", torch.ones(num_features))
        self.register_buffer("fitted", torch.tensor(False))

    @torch.no_grad()
    def fit(self, xs: Iterable[torch.Tensor]) -> None:
        """Fit mean and standard deviation on the rows of all tensors in ``xs``."""
        x = torch.cat([t.double() for t in xs])
        self.mean.copy_(x.mean(0).float())
        self.std.copy_(x.std(0).clamp_min(1e-6).float())
        self.fitted.fill_(True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class TypedFeatureNormalizer(nn.Module):
    """For objects of several types in one event (PF elements: tracks and clusters), whose columns mean
    different things per type: column 0 holds the type (1..``object_types``) and passes unchanged; every
    other column is compressed as sign(v)·log(1 + |v|) (momenta, energies and positions span decades) and
    standardised with statistics fitted per type on training events (saved in the state dict)."""

    def __init__(self, num_features: int, object_types: int) -> None:
        super().__init__()
        self.object_types = object_types
        self.register_buffer("mean", torch.zeros(object_types, num_features))
        self.register_buffer("std", torch.ones(object_types, num_features))
        self.register_buffer("fitted", torch.tensor(False))

    @staticmethod
    def compress(x: torch.Tensor) -> torch.Tensor:
        """sign(x)·log(1 + |x|)."""
        return torch.sign(x) * torch.log1p(x.abs())

    def types(self, x: torch.Tensor) -> torch.Tensor:
        """0-based type of each row (column 0)."""
        return x[:, 0].round().long().clamp(1, self.object_types) - 1

    @torch.no_grad()
    def fit(self, xs: Iterable[torch.Tensor]) -> None:
        """Fit per-type mean and standard deviation of the compressed columns of all rows of ``xs``."""
        x = torch.cat([t.double() for t in xs])
        types, z = self.types(x), self.compress(x)
        for t in range(self.object_types):
            rows = z[types == t]
            if len(rows) > 1:
                self.mean[t] = rows.mean(0).float()
                self.std[t] = rows.std(0).clamp_min(1e-6).float()
        self.fitted.fill_(True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        types = self.types(x)
        out = (self.compress(x) - self.mean[types]) / self.std[types]
        return torch.cat([x[:, :1], out[:, 1:]], dim=1)


def warmup_cosine(
    optimizer: torch.optim.Optimizer, *, total_steps: int, warmup_fraction: float, min_lr_ratio: float
):
    """Linear warm-up then cosine decay to ``min_lr_ratio`` of the peak learning rate, stepped per batch."""
    warmup = max(1, int(warmup_fraction * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class EventTask(L.LightningModule):
    """Base of the per-task LightningModules: a backbone, a normaliser and the optimisation recipe.

    ``optimizer`` is a partial (``torch.optim.AdamW`` with its hyperparameters from the config) that takes
    the parameters; ``view`` turns raw events into model inputs and describes them (kept so the task can
    be applied to new events); the remaining keywords are the optimisation recipe of the task's config
    (required: their values live in ``conf/task/*.yaml``); ``monitor``/``monitor_mode`` name the
    validation metric that selects the best checkpoint.
    ``run_metadata`` (config, dataset fingerprint, seed, git commit) is set by the entry point and
    written into every checkpoint under the key ``"hepreco"``.

    A backbone that declares ``fit_on_events`` (a non-gradient model, e.g. ``model=gbdt``) is fitted once
    on the training events when fitting starts (:meth:`fit_targets` gives its targets); the task then has
    nothing to optimise: no optimiser is made, training steps do nothing, and one epoch runs the
    validation (and the checkpoints) exactly as for a trained model.
    """

    def __init__(
        self,
        backbone: Backbone,
        *,
        view: View,
        optimizer: Callable[..., torch.optim.Optimizer],
        monitor: str,
        monitor_mode: str,
        warmup_fraction: float,
        min_lr_ratio: float,
        normalizer_events: int,
    ) -> None:
        super().__init__()
        if not isinstance(backbone, Backbone):
            raise TypeError(f"{type(backbone).__name__} is not a backbone (an nn.Module with out_dim)")
        self.backbone = backbone
        types = view.inputs.object_types
        self.normalizer = (
            TypedFeatureNormalizer(view.inputs.num_features, types)
            if types > 1
            else FeatureNormalizer(view.inputs.num_features)
        )
        self.optimizer_factory = optimizer
        self.view = view
        self.monitor = monitor
        self.monitor_mode = monitor_mode
        self.warmup_fraction = warmup_fraction
        self.min_lr_ratio = min_lr_ratio
        self.normalizer_events = normalizer_events
        self.run_metadata: dict[str, Any] = {}
        self._warm = False

    # --- inputs -------------------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        if stage == "fit" and not bool(self.normalizer.fitted):
            train = self.trainer.datamodule.datasets["train"]
            n = min(len(train), self.normalizer_events)
            self.normalizer.fit(train[i].x for i in range(n))
            log.info("Fitted input normalisation on %d training event(s)", n)
        if stage == "fit" and self.backbone_fitted_on_events and not self.backbone.is_fitted:
            self._fit_backbone()

    @property
    def backbone_fitted_on_events(self) -> bool:
        """Whether the backbone is fitted once on the training events instead of trained by gradient."""
        return bool(getattr(self.backbone, "fit_on_events", False))

    def fit_targets(self, data: Data) -> torch.Tensor:
        """Per-object targets a backbone fitted on events learns (tasks that support such backbones)."""
        raise NotImplementedError(
            f"{type(self).__name__} cannot use a backbone fitted on events (e.g. model=gbdt); "
            "use a trained backbone (model=mlp, model=hept)"
        )

    def _fit_backbone(self) -> None:
        """Fit the backbone on every object of the (whole, untiled) training events."""
        train = self.trainer.datamodule.datasets["train"]
        events = [train[i] for i in range(len(train))]
        with torch.no_grad():
            x = torch.cat([self.normalizer(e.x) for e in events])
        coords = torch.cat([e.coords for e in events])
        self.backbone.fit(x, coords, torch.cat([self.fit_targets(e) for e in events]))
        log.info("Fitted the backbone on %d objects of %d training event(s)", len(x), len(events))

    def embed(self, batch: Batch) -> torch.Tensor:
        """Backbone output [N, D] for a batch of concatenated events."""
        return self.backbone(self.normalizer(batch.x), batch.coords, batch.batch)

    # --- optimisation --------------------------------------------------------------------------------
    def configure_optimizers(self) -> dict[str, Any] | None:
        params = [p for p in self.parameters() if p.requires_grad]
        if not params:  # a backbone fitted on events: nothing to optimise
            return None
        optimizer = self.optimizer_factory(params)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        scheduler = warmup_cosine(
            optimizer, total_steps=total, warmup_fraction=self.warmup_fraction, min_lr_ratio=self.min_lr_ratio
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_train_batch_end(self, outputs: Any, batch: Batch, batch_idx: int) -> None:
        """Stop at the first non-finite training loss instead of training on NaN."""
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is not None and not torch.isfinite(loss).all():
            raise FloatingPointError(
                f"non-finite training loss {loss.item()} at step {self.global_step} (epoch "
                f"{self.current_epoch}); try a lower task.optimizer.lr or trainer.gradient_clip_val"
            )

    def on_train_epoch_end(self) -> None:
        """A backbone fitted on events needs one epoch only (its validation and checkpoints)."""
        if self.backbone_fitted_on_events:
            self.trainer.should_stop = True

    # --- bookkeeping ---------------------------------------------------------------------------------
    def timed(self, forward: Callable[[Batch], Any], data: Data) -> tuple[Any, float]:
        """``forward`` of a batch of the one event ``data`` on the task's device, and the seconds it took
        (the first call of a run pays one-off set-up costs: it runs once untimed; CUDA is synchronised)."""
        batch = Batch.from_data_list([data]).to(self.device)
        if not self._warm:
            forward(batch)
            self._warm = True
        cuda = self.device.type == "cuda"
        if cuda:
            torch.cuda.synchronize(self.device)
        start = time.perf_counter()
        out = forward(batch)
        if cuda:
            torch.cuda.synchronize(self.device)
        return out, time.perf_counter() - start

    @property
    def output_dir(self) -> Path:
        """The run directory (the trainer's root directory)."""
        return Path(self.trainer.default_root_dir)

    def report_evaluation(self, metrics: dict[str, float], *write_args: Any) -> None:
        """End of the test stage: log ``metrics`` of ``self.evaluation``, write its files (rank zero, with
        ``write_args``) and reset it for the next test; nothing when it saw no events (empty metrics)."""
        if not metrics:
            return
        self.log_dict(metrics)
        if self.trainer.is_global_zero:
            self.evaluation.write(self.output_dir, *write_args)
        self.evaluation.reset()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["hepreco"] = dict(self.run_metadata)

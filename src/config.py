"""Typed schemas of the config groups.

Each YAML file of a group starts its defaults list with one of these schemas, so composition rejects a
key that does not exist and a value of the wrong type (``task.gamma=abc``) with Hydra's own message
naming the key, before any data is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


def _adamw(lr: float = 1e-3, weight_decay: float = 0.02) -> dict[str, Any]:
    return {"_target_": "torch.optim.AdamW", "_partial_": True, "lr": lr, "weight_decay": weight_decay}


@dataclass
class LSViewConf:
    """``task.view`` for line-segment tasks."""

    _target_: str = "src.data.views.LSView"
    coords: list[str] = field(default_factory=lambda: ["LS_eta", "LS_phi"])


@dataclass
class TaskConf:
    """Fields shared by every task."""

    _target_: str = "???"
    monitor: str = "???"
    monitor_mode: str = "max"
    warmup_fraction: float = 0.1
    min_lr_ratio: float = 0.0
    normalizer_events: int = 32
    optimizer: Any = field(default_factory=_adamw)


@dataclass
class PileupTaskConf(TaskConf):
    """``task=pileup``: focal loss with per-event imbalance weight; precision at high recall."""

    _target_: str = "src.tasks.pileup.PileupTask"
    monitor: str = "val/precision@recall0.99"
    gamma: float = 2.0
    imbalance_multiplier: float = 2.0
    recalls: list[float] = field(default_factory=lambda: [0.99, 0.999])
    beta: float = 3.0
    threshold_recall: float = 0.99
    view: LSViewConf = field(default_factory=LSViewConf)


@dataclass
class LoaderConf:
    """DataModule options shared by every dataset."""

    _target_: str = "???"
    split: Any = field(default_factory=lambda: [0.8, 0.1, 0.1])
    split_seed: int = 0
    batch_size: int = 1
    num_workers: int = 0
    in_memory: bool = True
    progress: bool = True


@dataclass
class SimLSDatasetConf(LoaderConf):
    """``dataset=sim_ls``: line segments of the built-in tracker simulation."""

    _target_: str = "src.data.datasets.simulated_line_segments"
    pileup: float = 200.0
    n_events: int = 24
    seed: int = 1
    cache_dir: str = "${paths.cache_dir}"
    phi_sector: Any = None
    generator: dict[str, Any] = field(default_factory=dict)


@dataclass
class HeptCmsRawDatasetConf(LoaderConf):
    """``dataset=hept_cms_raw``: real CMS LST events (``graph_N.pt``) of the HEPT-CMS study."""

    _target_: str = "src.data.datasets.hept_cms_raw"
    path: str = "???"
    n_events: Any = None


@dataclass
class HEPTAttentionConf:
    """``attention=hept``: LSH block attention."""

    _target_: str = "src.attention.HEPTAttention"
    _partial_: bool = True
    block_size: int = 100
    n_hashes: int = 3
    num_regions: Any = 10
    region_dims: list[int] = field(default_factory=lambda: [0, 1])
    bucket_width: float = 1.0
    seed: Any = None


@dataclass
class FullAttentionConf:
    """``attention=full``: exact attention per event."""

    _target_: str = "src.attention.FullAttention"
    _partial_: bool = True
    max_scores: int = 1 << 28


@dataclass
class HEPTModelConf:
    """``model=hept``: the HEPT backbone."""

    _target_: str = "src.models.hept.HEPT"
    h_dim: int = 24
    num_heads: int = 8
    head_dim: int | None = None
    n_layers: int = 4
    out_dim: int = 24
    dropout: float = 0.0
    ffn_mult: int = 2
    head_hidden: int = 256
    head_layers: int = 5
    encoder_hidden: int = 256
    encoder_layers: int = 3
    attention: Any = "${attention}"


@dataclass
class MLPModelConf:
    """``model=mlp``: the per-object baseline."""

    _target_: str = "src.models.mlp.MLP"
    hidden_dim: int = 256
    n_layers: int = 5
    out_dim: int = 24
    dropout: float = 0.0


def register() -> None:
    """Store the schemas in Hydra's ConfigStore (idempotent)."""
    cs = ConfigStore.instance()
    cs.store(group="task", name="pileup_schema", node=PileupTaskConf)
    cs.store(group="dataset", name="sim_ls_schema", node=SimLSDatasetConf)
    cs.store(group="dataset", name="hept_cms_raw_schema", node=HeptCmsRawDatasetConf)
    cs.store(group="model", name="hept_schema", node=HEPTModelConf)
    cs.store(group="model", name="mlp_schema", node=MLPModelConf)
    cs.store(group="attention", name="hept_attention_schema", node=HEPTAttentionConf)
    cs.store(group="attention", name="full_attention_schema", node=FullAttentionConf)

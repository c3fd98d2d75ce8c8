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
    links: bool = False


@dataclass
class TaskConf:
    """Fields shared by every task."""

    _target_: str = "???"
    monitor: str = "???"
    monitor_mode: str = "max"
    warmup_fraction: float = 0.1
    min_lr_ratio: float = 0.0
    normalizer_events: int = 32
    train_tiles: int = 1
    tile_column: int = 0
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


def _hdbscan() -> dict[str, Any]:
    return {"_target_": "sklearn.cluster.HDBSCAN", "min_cluster_size": 3, "min_samples": 2, "copy": True}


@dataclass
class TrackingTaskConf(TaskConf):
    """``task=tracking``: LS embedding with InfoNCE on LDA radius-graph pairs; AP@k and track candidates."""

    _target_: str = "src.tasks.tracking.TrackingTask"
    monitor: str = "val/ap@k_pt0.9"
    radius: float = 4.0
    max_neighbours_factor: float = 0.2
    all_positives: bool = True
    sigma: float = 0.75
    tau: float = 0.05
    fake_negatives: bool = False
    lda_components: int = 3
    lda_events: int = 64
    lda_max_tracks: int = 20000
    lda_residual: float = 0.1
    pt_thresholds: list[float] = field(default_factory=lambda: [0.0, 0.5, 0.9])
    clusterer: Any = field(default_factory=_hdbscan)
    baseline_clusterer: Any = None
    min_cluster_size: int = 3
    min_particle_size: int = 3
    evaluate_all_ls: bool = True
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
class FilteredDatasetConf(LoaderConf):
    """``dataset=filtered``: a dataset filtered by a pileup model, written by ``python -m src.filter``."""

    _target_: str = "src.data.datasets.filtered_line_segments"
    fingerprint: str = "???"
    path: str = "${paths.cache_dir}/filtered-${dataset.fingerprint}"
    split: Any = None
    split_seed: Any = None


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
    link_heads: int = 0
    link_tolerance: float = 1.0e-5
    sink: bool = False
    attention: Any = "${attention}"


@dataclass
class MLPModelConf:
    """``model=mlp``: the per-object baseline."""

    _target_: str = "src.models.mlp.MLP"
    hidden_dim: int = 256
    n_layers: int = 5
    out_dim: int = 24
    dropout: float = 0.0


# --- issue 5: hit-level track regression (Trackformers) -----------------------------------------------


@dataclass
class HitViewConf:
    """``task.view`` for hit-level tasks: input features, locality coordinates and regression targets."""

    _target_: str = "src.data.hits.HitView"
    features: list[str] = field(default_factory=lambda: ["x", "y", "z", "r", "phi", "eta"])
    coords: list[str] = field(default_factory=lambda: ["eta", "phi"])
    targets: list[str] = field(default_factory=lambda: ["theta", "sin_phi", "cos_phi", "q"])


def _hdbscan_tracks() -> dict[str, Any]:
    return {"_target_": "sklearn.cluster.HDBSCAN", "min_cluster_size": 5, "min_samples": 2, "copy": True}


def _hough() -> dict[str, Any]:
    return {"_target_": "src.models.hough.HoughTrackFinder"}


@dataclass
class TrackRegressionTaskConf(TaskConf):
    """``task=track_regression``: per-hit track parameters (MSE), HDBSCAN, TrackML score."""

    _target_: str = "src.tasks.track_regression.TrackRegressionTask"
    monitor: str = "val/trackml_score"
    clusterer: Any = field(default_factory=_hdbscan_tracks)
    baseline: Any = field(default_factory=_hough)
    cluster_val: bool = True
    rate_pt: float = 0.0
    pt_thresholds: list[float] = field(default_factory=lambda: [0.0, 0.9])
    min_cluster_hits: int = 3
    min_particle_hits: int = 3
    write_events: bool = True
    heatmap_bins: int = 60
    view: HitViewConf = field(default_factory=HitViewConf)


@dataclass
class SimHitsDatasetConf(LoaderConf):
    """``dataset=sim_hits``: hit-level events of the built-in simulation, whole or particle subsets."""

    _target_: str = "src.data.hits.simulated_hits"
    pileup: float = 20.0
    n_events: int = 440
    seed: int = 1
    cache_dir: str = "${paths.cache_dir}"
    particles: Any = field(default_factory=lambda: [10, 50])
    noise: bool = True
    subsets_per_event: int = 8
    max_vertex_r: Any = 10.0
    min_hits: int = 1
    generator: dict[str, Any] = field(default_factory=lambda: {"b_field": 2.0})


@dataclass
class TrackMLDatasetConf(LoaderConf):
    """``dataset=trackml``: a directory of TrackML CSV events (``dataset.path``), whole or as subsets."""

    _target_: str = "src.data.hits.trackml"
    path: str = "???"
    n_events: Any = None
    b_field: float = 2.0
    particles: Any = None
    noise: bool = True
    subsets_per_event: int = 1
    max_vertex_r: Any = None
    min_hits: int = 1
    seed: int = 0
    recompute_weights: bool = False


@dataclass
class WindowAttentionConf:
    """``attention=window``: sliding window along φ (sorted per event, wrapping at ±π)."""

    _target_: str = "src.attention.window.WindowAttention"
    _partial_: bool = True
    window: int = 32
    sort_dim: Any = None


@dataclass
class TransformerRegressorModelConf:
    """``model=transformer_regressor``: linear embedding + transformer encoder (Trackformers)."""

    _target_: str = "src.models.transformer_regressor.TransformerRegressor"
    d_model: int = 32
    num_heads: int = 4
    n_layers: int = 6
    dim_feedforward: int = 128
    dropout: float = 0.0
    norm_first: bool = False
    coord_kernel: bool = False
    attention: Any = "${attention}"


def _register_track_regression(cs: ConfigStore) -> None:
    cs.store(group="task", name="track_regression_schema", node=TrackRegressionTaskConf)
    cs.store(group="dataset", name="sim_hits_schema", node=SimHitsDatasetConf)
    cs.store(group="dataset", name="trackml_schema", node=TrackMLDatasetConf)
    cs.store(group="model", name="transformer_regressor_schema", node=TransformerRegressorModelConf)
    cs.store(group="attention", name="window_attention_schema", node=WindowAttentionConf)


def register() -> None:
    """Store the schemas in Hydra's ConfigStore (idempotent)."""
    cs = ConfigStore.instance()
    cs.store(group="task", name="pileup_schema", node=PileupTaskConf)
    cs.store(group="task", name="tracking_schema", node=TrackingTaskConf)
    cs.store(group="dataset", name="filtered_schema", node=FilteredDatasetConf)
    cs.store(group="dataset", name="sim_ls_schema", node=SimLSDatasetConf)
    cs.store(group="dataset", name="hept_cms_raw_schema", node=HeptCmsRawDatasetConf)
    cs.store(group="model", name="hept_schema", node=HEPTModelConf)
    cs.store(group="model", name="mlp_schema", node=MLPModelConf)
    cs.store(group="attention", name="hept_attention_schema", node=HEPTAttentionConf)
    cs.store(group="attention", name="full_attention_schema", node=FullAttentionConf)
    _register_track_regression(cs)
